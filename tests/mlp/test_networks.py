import numpy as np
import pytest
import torch

from mlopt.mlp import TwoLayerReLU, TwoLayerReLUClassifier, relu_network_objective
from mlopt.mlp.objective import add_bias_column


def test_objective_and_history(synthetic_small):
    X, y = synthetic_small
    m = TwoLayerReLU(width=10, beta=1e-2, bias=True, optimizer="adam", epochs=300, random_state=0).fit(X, y)
    assert m.first_layer_.shape == (10, 3) and m.second_layer_.shape == (10,)
    assert m.first_layer_.dtype == np.float64
    times, epochs, values = map(np.array, zip(*m.history_))
    assert list(epochs) == list(range(301)) and np.all(np.diff(times) >= 0)
    assert values[-1] < 0.2 * values[0]
    # the objective is exactly 1/2||f - y||^2 + beta/2 (||W||^2 + ||alpha||^2)
    Xa = add_bias_column(X, True)
    f = np.maximum(Xa @ m.first_layer_.T, 0) @ m.second_layer_
    manual = 0.5 * np.sum((f - y) ** 2) + 0.5e-2 * (np.sum(m.first_layer_**2) + np.sum(m.second_layer_**2))
    assert m.objective(X, y) == pytest.approx(manual, rel=1e-12)
    assert values[-1] == pytest.approx(manual, rel=1e-12)
    np.testing.assert_allclose(m.predict(X), f)


def test_seeded_runs_are_reproducible_and_seeds_differ(synthetic_small):
    X, y = synthetic_small
    kw = dict(width=8, beta=1e-3, optimizer="sgd", lr=1e-3, epochs=50, batch_size=10)
    a = TwoLayerReLU(random_state=3, **kw).fit(X, y)
    b = TwoLayerReLU(random_state=3, **kw).fit(X, y)
    c = TwoLayerReLU(random_state=4, **kw).fit(X, y)
    np.testing.assert_array_equal(a.first_layer_, b.first_layer_)
    assert not np.allclose(a.first_layer_, c.first_layer_)


def test_lbfgs_descends_monotonically(synthetic_small):
    X, y = synthetic_small
    m = TwoLayerReLU(width=6, beta=1e-2, bias=True, optimizer="lbfgs", epochs=20, random_state=0).fit(X, y)
    values = np.array([h[2] for h in m.history_])
    # strong-Wolfe line search: every outer step is a descent step (ReLU kinks may stall it, never raise it)
    assert np.all(np.diff(values) <= 1e-12 * values[0])
    assert values[-1] < 0.1 * values[0]
    W = torch.tensor(m.first_layer_)
    a = torch.tensor(m.second_layer_)
    Xa = torch.tensor(add_bias_column(X, True))
    obj = 0.5 * torch.sum((torch.relu(Xa @ W.T) @ a - torch.tensor(y)) ** 2) + 0.5e-2 * (W.pow(2).sum() + a.pow(2).sum())
    assert float(obj) == pytest.approx(m.objective_, rel=1e-12)


def test_classifier_logistic_loss_on_separable_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 2))
    labels = np.where(X[:, 0] ** 2 + X[:, 1] ** 2 > 1.0, "out", "in")  # not linearly separable
    m = TwoLayerReLUClassifier(width=16, beta=1e-3, bias=True, epochs=500, random_state=0).fit(X, labels)
    assert list(m.classes_) == ["in", "out"]
    assert m.score(X, labels) >= 0.95
    ypm = np.where(labels == "out", 1.0, -1.0)
    expected = relu_network_objective(add_bias_column(X, True), ypm, m.first_layer_, m.second_layer_, 1e-3, "logistic")
    assert m.objective(X, labels) == pytest.approx(expected, rel=1e-12)
    proba = m.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [({"width": 0}, ValueError, "width"), ({"width": 2.5}, TypeError, "width"),
     ({"beta": -1.0}, ValueError, "beta"), ({"optimizer": "rmsprop"}, ValueError, "optimizer"),
     ({"lr": 0.0}, ValueError, "lr"), ({"epochs": 0}, ValueError, "epochs"),
     ({"batch_size": 0}, ValueError, "batch_size"), ({"device": "tpu"}, ValueError, "device")],
)
def test_bad_parameters_name_the_argument(synthetic_small, kwargs, exc, word):
    X, y = synthetic_small
    with pytest.raises(exc, match=word):
        TwoLayerReLU(**kwargs).fit(X, y)


def test_classifier_needs_two_classes(synthetic_small):
    X, _ = synthetic_small
    with pytest.raises(ValueError, match="two classes"):
        TwoLayerReLUClassifier().fit(X, np.arange(len(X)) % 3)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(synthetic_small):
    X, y = synthetic_small
    kw = dict(width=8, beta=1e-2, optimizer="adam", epochs=50, random_state=0)
    cpu = TwoLayerReLU(device="cpu", **kw).fit(X, y)
    gpu = TwoLayerReLU(device="cuda", **kw).fit(X, y)
    assert gpu.objective_ == pytest.approx(cpu.objective_, rel=1e-8)
