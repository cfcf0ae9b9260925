"""One parameterized suite over every first-order method × the problems it handles."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mlopt.firstorder import METHODS, minimize

#: problem → methods that handle it (each must reach 1e-6 relative suboptimality)
SUITE = {
    "ridge": ["gd", "fista", "sgd", "adam", "lbfgs", "newton"],
    "lasso": ["gd", "fista", "sgd", "adam", "subgradient"],
    "elasticnet": ["gd", "fista", "sgd"],
    "logistic": ["gd", "fista", "sgd", "adam", "lbfgs", "newton"],
    "multinomial": ["fista", "lbfgs", "newton"],
    "group": ["gd", "fista", "sgd"],
    "quantile": ["smoothed"],
}
CASES = [(prob, m) for prob, ms in SUITE.items() for m in ms]


@pytest.mark.parametrize("problem,method", CASES, ids=[f"{p}-{m}" for p, m in CASES])
def test_reaches_clarabel_optimum(bank, problem, method):
    est, X, y, obj, fstar, coef, icpt = bank[problem]
    res = minimize(obj, method, tol=1e-7, time_limit=10)
    assert res.coef.shape == obj.coef_shape
    rel = (res.objective - fstar) / abs(fstar)
    assert rel <= 1e-6, (res.status, rel)
    assert rel >= -1e-7  # nothing beats the certified conic optimum
    assert res.status == "optimal"
    assert abs(res.objective - obj.value(res.coef, res.intercept)) <= 1e-12 * abs(fstar)
    t = [row[0] for row in res.trace]
    assert t == sorted(t) and res.trace[-1][1] == res.iterations


def test_every_method_in_suite():
    assert {m for ms in SUITE.values() for m in ms} == set(METHODS)


@pytest.mark.parametrize("method", ["lbfgs", "newton", "fista", "gd"])
def test_hinge_rejected_by_smooth_methods(bank, method):
    with pytest.raises(ValueError, match="smoothed"):
        minimize(bank["svm"][3], method)


@pytest.mark.parametrize("method", ["lbfgs", "newton"])
def test_l1_rejected_by_unconstrained_methods(bank, method):
    with pytest.raises(ValueError, match="fista"):
        minimize(bank["lasso"][3], method)


def test_subgradient_is_slow_on_svm(bank):
    """The subgradient method's O(1/√k) shows: far from 1e-6 and honestly not 'optimal'."""
    est, X, y, obj, fstar, *_ = bank["svm"]
    res = minimize(obj, "subgradient", max_iter=10)
    assert res.status == "max_iterations"
    assert (res.objective - fstar) / fstar > 1e-6


def test_smoothed_svm_is_honest(bank):
    """Smoothing + FISTA gets close on the SVM within a short budget, and reports
    'optimal' only if the certified gap passed (known gap: it does not reach 1e-6 fast)."""
    from mlopt.certificates import certificate

    est, X, y, obj, fstar, *_ = bank["svm"]
    res = minimize(obj, "smoothed", tol=1e-7, time_limit=3)
    rel = (res.objective - fstar) / fstar
    assert rel <= 1e-2
    cert = certificate(obj, res.coef, res.intercept)
    assert (res.status == "optimal") == (cert.relative_gap <= 1e-7)


def test_positive_constraint_projected(bank):
    from mlopt import Lasso

    est, X, y, *_ = bank["lasso"]
    obj = Lasso(0.01, positive=True).get_objective(X, y)
    ref = Lasso(0.01, positive=True).fit(X, y)
    res = minimize(obj, "fista")
    assert res.coef.min() >= 0
    assert np.allclose(res.coef, ref.coef_, atol=1e-5)


def test_bad_inputs(bank):
    obj = bank["ridge"][3]
    with pytest.raises(ValueError, match="method"):
        minimize(obj, "bfgs")
    with pytest.raises(ValueError, match="tol"):
        minimize(obj, "gd", tol=-1)
    with pytest.raises(TypeError, match="unknown options"):
        minimize(obj, "gd", learning_rate=0.1)


def test_time_limit_status(bank):
    obj = bank["logistic"][3]
    res = minimize(obj, "subgradient", time_limit=0.05)
    assert res.status == "time_limit"


@pytest.mark.parametrize("name,solver", [("ridge", "newton"), ("logistic", "lbfgs"), ("lasso", "fista"),
                                         ("quantile", "smoothed"), ("multinomial", "lbfgs")])
def test_estimator_first_order_matches_conic(bank, name, solver):
    from sklearn.base import clone

    est, X, y, obj, fstar, coef, icpt = bank[name]
    fo = clone(est).set_params(solver=solver).fit(X, y)
    conic = clone(est).fit(X, y)
    assert fo.solution_.status == "optimal"
    scale = max(1.0, np.abs(conic.coef_).max())
    assert np.allclose(fo.coef_, conic.coef_, atol=2e-4 * scale)
    assert np.allclose(fo.intercept_, conic.intercept_, atol=2e-4 * scale)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("method", ["fista", "lbfgs", "newton", "adam"])
def test_cuda_matches_cpu(bank, method):
    obj = bank["logistic"][3]
    cpu = minimize(obj, method)
    gpu = minimize(obj, method, device="cuda")
    assert abs(gpu.objective - cpu.objective) <= 1e-7 * abs(cpu.objective)
