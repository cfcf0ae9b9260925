import numpy as np
import pytest
from sklearn.datasets import load_iris

from mlopt.mlp.separability import check_separability, perceptron


def _check_certificate(X, y, lam):
    ypm = np.where(y, 1.0, -1.0) if y.dtype == bool else y.astype(float)
    assert np.all(lam >= 0) and lam.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(lam @ (ypm[:, None] * X), 0.0, atol=1e-7)
    assert abs(lam @ ypm) <= 1e-7


def test_iris_setosa_vs_rest_is_separable():
    X, t = load_iris(return_X_y=True)
    y = t == 0
    r = check_separability(X, y)
    assert r.separable
    margins = np.where(y, 1.0, -1.0) * (X @ r.w + r.b)
    assert margins.min() >= 1 - 1e-7
    assert perceptron(X, y)[2]


def test_xor_is_not_separable_with_exact_certificate():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    y = np.array([1, 1, -1, -1])
    r = check_separability(X, y)
    assert not r.separable
    np.testing.assert_allclose(r.certificate, 0.25, atol=1e-7)
    _check_certificate(X, y, r.certificate)
    assert not perceptron(X, y, max_epochs=100)[2]


def test_versicolor_vs_virginica_is_not_separable():
    X, t = load_iris(return_X_y=True)
    m = t > 0
    X, y = X[m], t[m] == 2
    r = check_separability(X, y)
    assert not r.separable and r.w is None
    _check_certificate(X, y, r.certificate)
    # the positive and negative parts of the certificate are the same point of both convex hulls
    lam, ypm = r.certificate, np.where(y, 1.0, -1.0)
    pos = (lam * (ypm > 0)) @ X / lam[ypm > 0].sum()
    neg = (lam * (ypm < 0)) @ X / lam[ypm < 0].sum()
    np.testing.assert_allclose(pos, neg, atol=1e-6)


def test_bad_labels():
    with pytest.raises(ValueError, match="two classes"):
        check_separability(np.zeros((3, 2)), [0, 1, 2])
