"""Objective values: sparse data are evaluated with sparse products (no dense copy of X), dense
data are shared with torch without a copy, and both agree with a NumPy evaluation."""
import numpy as np
import scipy.sparse as sp
import torch

from mlopt.estimators import LinearSVC, LogisticRegression, Ridge


def _numpy_logistic(X, y, w, b, C):
    z = X @ w + b
    m = np.where(y > 0, 1.0, -1.0) * z
    return C * np.logaddexp(0.0, -m).sum() + 0.5 * w @ w


def test_sparse_values_use_sparse_products():
    rng = np.random.default_rng(0)
    X = sp.random(300, 80, density=0.05, random_state=1, format="csr")
    y = (rng.standard_normal(300) > 0).astype(float)
    w, b = rng.standard_normal(80), 0.3
    obj = LogisticRegression(C=0.7).get_objective(X, y)
    ref = _numpy_logistic(X.toarray(), y, w, b, 0.7)
    assert abs(obj.value(w, b) - ref) <= 1e-12 * abs(ref)
    assert "cpu" not in obj._cache  # no dense (n × d) tensor of X was made
    dense = LogisticRegression(C=0.7).get_objective(X.toarray(), y)
    assert abs(dense.value(w, b) - ref) <= 1e-12 * abs(ref)
    # autograd still works on sparse data (the first-order methods' path)
    c = torch.as_tensor(w).requires_grad_(True)
    f = obj.torch_value(c, torch.tensor(b, dtype=torch.float64))
    f.backward()
    assert abs(float(f.detach()) - ref) <= 1e-12 * abs(ref) and c.grad is not None and c.grad.shape == (80,)


def test_dense_data_are_shared_not_copied():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((50, 4))
    y = rng.standard_normal(50)
    obj = Ridge(alpha=1.0).get_objective(X, y)
    Xt, yt, _ = obj.tensors("cpu")
    assert Xt.data_ptr() == X.__array_interface__["data"][0]  # a view of the caller's array
    w = rng.standard_normal(4)
    assert abs(obj.value(w, 0.1) - (np.sum((y - X @ w - 0.1) ** 2) + 2.0 * 0.5 * w @ w)) <= 1e-10
    svc = LinearSVC(C=1.0).get_objective(sp.csr_matrix(X), np.sign(y))
    ref = np.maximum(0.0, 1.0 - np.sign(y) * (X @ w)).sum() + 0.5 * w @ w
    assert abs(svc.value(w, 0.0) - ref) <= 1e-12 * ref
