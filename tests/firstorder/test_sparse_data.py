"""First-order methods and certificates on scipy-sparse X: the same iterates as on the dense copy of X,
and X is never densified (Objective.tensors, which holds a dense X, must not be called)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

import mlopt
from mlopt.certificates import certificate
from mlopt.estimators import ConvexLinearClassifier, ConvexLinearRegressor, QuantileRegressor
from mlopt.firstorder import minimize
from mlopt.objective import Objective


def _data(kind: str, n: int = 240, d: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.15, random_state=seed, format="csr")
    X.data = rng.standard_normal(X.nnz)
    w = rng.standard_normal(d) * (rng.uniform(size=d) < 0.4)
    t = X @ w + 0.1 * rng.standard_normal(n)
    if kind == "regression":
        return X, t
    if kind == "binary":
        return X, (t > 0).astype(int)
    return X, np.digitize(t, np.quantile(t, [1 / 3, 2 / 3]))  # three classes


CASES = {  # model, data kind, methods (each as in tests/firstorder/test_methods.py)
    "ridge": (lambda: mlopt.Ridge(alpha=0.5), "regression", ["gd", "fista", "lbfgs", "newton", "sgd"]),
    "lasso": (lambda: mlopt.Lasso(alpha=0.01), "regression", ["fista", "subgradient"]),
    "logistic": (lambda: mlopt.LogisticRegression(C=2.0), "binary", ["fista", "lbfgs", "newton", "adam"]),
    "multinomial": (lambda: mlopt.LogisticRegression(C=2.0), "multiclass", ["lbfgs", "newton"]),
    "svm": (lambda: mlopt.LinearSVC(C=1.0), "binary", ["smoothed"]),
    "quantile": (lambda: QuantileRegressor(quantile=0.3, alpha=0.01), "regression", ["smoothed"]),
}
RUNS = [(name, m) for name, (_, _, ms) in CASES.items() for m in ms]


def _objectives(name):
    make, kind, _ = CASES[name]
    X, y = _data(kind)
    sparse_obj = make().get_objective(X, y)
    dense_obj = dataclasses.replace(sparse_obj, X=X.toarray(), _cache={})
    return sparse_obj, dense_obj


@pytest.fixture
def no_dense_X(monkeypatch):
    """Fail on any dense copy of a sparse X through Objective.tensors."""
    original = Objective.tensors

    def tensors(self, device="cpu"):
        if sp.issparse(self.X):
            raise AssertionError("a sparse X was densified (Objective.tensors)")
        return original(self, device)

    monkeypatch.setattr(Objective, "tensors", tensors)


@pytest.mark.parametrize("name,method", RUNS, ids=[f"{n}-{m}" for n, m in RUNS])
def test_sparse_X_gives_the_dense_iterates(name, method, no_dense_X):
    sparse_obj, dense_obj = _objectives(name)
    opts = dict(tol=1e-7, max_iter=3000, time_limit=20)
    a, b = minimize(sparse_obj, method, **opts), minimize(dense_obj, method, **opts)
    assert a.status == b.status
    # rounding of the two products may move a stop; the subgradient steps' signs amplify it
    assert abs(a.iterations - b.iterations) <= (max(1, b.iterations // 10) if method == "subgradient" else 1)
    scale = max(1.0, float(np.abs(b.coef).max()))
    np.testing.assert_allclose(a.coef, b.coef, rtol=0, atol=1e-6 * scale)
    assert abs(a.objective - b.objective) <= 1e-9 * abs(b.objective)


@pytest.mark.parametrize("name", [c for c in CASES if c != "multinomial"] + ["lad_l1", "sqhinge_en"])
def test_certificates_on_sparse_X_equal_dense(name, no_dense_X):
    # (multinomial with an intercept has no certificate yet: mlopt.certificates says so)
    if name == "lad_l1":  # absolute loss: kink candidates on the exact-fit samples
        X, y = _data("regression")
        sparse_obj = ConvexLinearRegressor(loss="absolute", penalty="l1", alpha=0.05).get_objective(X, y)
    elif name == "sqhinge_en":
        X, y = _data("binary")
        sparse_obj = ConvexLinearClassifier(loss="squared_hinge", penalty="elasticnet", alpha=0.05).get_objective(X, y)
    else:
        sparse_obj, _ = _objectives(name)
    dense_obj = dataclasses.replace(sparse_obj, X=sparse_obj.X.toarray(), _cache={})
    from mlopt.structured import fit_objective

    coef, intercept, info = fit_objective(sparse_obj)  # the IPM's solution (structured, sparse coupling)
    assert info["status"] == "solved"
    cs, cd = certificate(sparse_obj, coef, intercept), certificate(dense_obj, coef, intercept)
    assert abs(cs.primal - cd.primal) <= 1e-12 * abs(cd.primal)
    assert abs(cs.dual - cd.dual) <= 1e-9 * max(1.0, abs(cd.dual))
    assert cs.relative_gap <= 1e-6


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_multinomial_hessian_blocks_match_autodiff(fit_intercept):
    """The softmax Hessian from K(K+1)/2 weighted Grams (sparse-ready) equals autograd's."""
    import torch

    from mlopt.firstorder.base import Composite
    from mlopt.firstorder.newton import hessian

    X, y = _data("multiclass", n=60, d=5)
    w = np.random.default_rng(3).uniform(0.5, 2.0, 60)
    obj = mlopt.LogisticRegression(C=2.0, fit_intercept=fit_intercept).get_objective(X.toarray(), y, sample_weight=w)
    p = Composite(obj)
    x = torch.as_tensor(np.random.default_rng(4).standard_normal(p.size))
    ref = torch.func.hessian(lambda v: p.f(v))(x)
    np.testing.assert_allclose(hessian(p, x).numpy(), ref.numpy(), rtol=0, atol=1e-12 * float(ref.abs().max()))


@pytest.mark.parametrize("fmt", ["coo", "csc"])
def test_other_sparse_formats(fmt, no_dense_X):
    """COO / CSC input: certificates (kink blocks) and mini-batch rows go through one cached CSR copy."""
    X, y = _data("regression")
    obj = ConvexLinearRegressor(loss="absolute", penalty="l1", alpha=0.05).get_objective(X, y)
    other = dataclasses.replace(obj, X=X.asformat(fmt), _cache={})
    coef = np.random.default_rng(5).standard_normal(X.shape[1]) * 0.1
    a, b = certificate(other, coef, 0.3), certificate(obj, coef, 0.3)
    assert abs(a.dual - b.dual) <= 1e-12 * max(1.0, abs(b.dual)) and a.primal == pytest.approx(b.primal, rel=1e-14)
    ridge = mlopt.Ridge(alpha=0.5).get_objective(X, y)
    r1 = minimize(dataclasses.replace(ridge, X=X.asformat(fmt), _cache={}), "sgd", tol=1e-7, max_iter=200, seed=0)
    r2 = minimize(ridge, "sgd", tol=1e-7, max_iter=200, seed=0)
    np.testing.assert_allclose(r1.coef, r2.coef, rtol=0, atol=1e-9)


@pytest.mark.cuda
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name,method", [("logistic", "lbfgs"), ("multinomial", "newton"), ("lasso", "fista")])
def test_sparse_X_on_cuda_matches_cpu(name, method, no_dense_X):
    """Torch CSR products (and autograd through them) on the GPU; certificates there too."""
    sparse_obj, _ = _objectives(name)
    a = minimize(sparse_obj, method, device="cuda", tol=1e-7, max_iter=3000, time_limit=30)
    b = minimize(dataclasses.replace(sparse_obj, _cache={}), method, tol=1e-7, max_iter=3000, time_limit=30)
    assert a.status == b.status
    np.testing.assert_allclose(a.coef, b.coef, rtol=0, atol=1e-6 * max(1.0, float(np.abs(b.coef).max())))
    if name != "multinomial":
        cg = certificate(sparse_obj, a.coef, a.intercept, device="cuda")
        cc = certificate(sparse_obj, a.coef, a.intercept)
        assert abs(cg.dual - cc.dual) <= 1e-9 * max(1.0, abs(cc.dual))


@pytest.mark.parametrize("sparse", [True, False])
def test_data_cached_inside_inference_mode_still_serves_autograd(sparse):
    """Objective.value first called inside torch.inference_mode (as in the IPM) must not leave inference
    tensors in the cache that a later first-order solve (autograd) cannot use."""
    import torch

    X, y = _data("regression")
    obj = mlopt.Ridge(alpha=0.5).get_objective(X if sparse else X.toarray(), y)
    with torch.inference_mode():
        obj.value(np.zeros(X.shape[1]), 0.0)
    assert minimize(obj, "lbfgs", tol=1e-8).status == "optimal"
