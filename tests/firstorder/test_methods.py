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
    "svm": ["smoothed"],
    "svm_bc": ["smoothed"],
    "svm_gen": ["smoothed"],
    "svm_ovr": ["smoothed"],
    "lad_ridge": ["smoothed"],
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
    """Smoothing + Newton continuation reaches 1e-6 on the SVM within a short budget, and
    reports 'optimal' exactly when the certified gap passed."""
    from mlopt.certificates import certificate

    est, X, y, obj, fstar, *_ = bank["svm"]
    res = minimize(obj, "smoothed", tol=1e-7, time_limit=3)
    rel = (res.objective - fstar) / fstar
    assert rel <= 1e-6
    assert res.status == "optimal"
    cert = certificate(obj, res.coef, res.intercept)
    assert (res.status == "optimal") == (cert.relative_gap <= 1e-7)


@pytest.mark.parametrize("problem", ["svm_bc", "svm_gen", "svm_ovr", "lad_ridge"])
def test_smoothed_certifies_1e8(bank, problem):
    """Issue 6: a certified 1e-8 relative gap on hinge / absolute losses in a few seconds."""
    from mlopt.certificates import certificate

    est, X, y, obj, fstar, *_ = bank[problem]
    res = minimize(obj, "smoothed", tol=1e-8, time_limit=10)
    assert res.status == "optimal"
    cert = certificate(obj, res.coef, res.intercept)
    assert cert.relative_gap <= 1e-8 and res.gap <= 1e-8
    rel = (res.objective - fstar) / abs(fstar)
    assert -1e-9 <= rel <= 1e-8 + 1e-10  # Clarabel's own optimum is accurate to ~1e-11
    assert rel <= cert.relative_gap + 1e-10  # the gap bounds the true suboptimality


def test_smoothed_inner_options(bank):
    """inner='fista' is the old path (slower, still honest); Newton stages refuse an L1 part."""
    from mlopt.certificates import certificate

    obj, fstar = bank["svm"][3], bank["svm"][4]
    res = minimize(obj, "smoothed", tol=1e-7, time_limit=2, inner="fista")
    assert (res.objective - fstar) / fstar <= 1e-2
    assert (res.status == "optimal") == (certificate(obj, res.coef, res.intercept).relative_gap <= 1e-7)
    with pytest.raises(ValueError, match="inner"):
        minimize(bank["quantile"][3], "smoothed", inner="newton")
    for bad in (dict(rho=1.5), dict(stage_iters=0), dict(mu0=-1.0), dict(inner="bfgs")):
        with pytest.raises(ValueError):
            minimize(obj, "smoothed", **bad)


@pytest.mark.parametrize("problem", ["svm_ovr", "lad_ridge"])
def test_newton_pieces_match_autograd(bank, problem):
    """The generalized-Hessian Newton direction solves ∇²f_μ Δ = −∇f_μ (torch.func.hessian of
    the smoothed objective), and the line minimum zeroes the directional derivative."""
    from mlopt.firstorder.base import Composite
    from mlopt.firstorder.subgradient import _line_minimum, _newton_direction

    obj, coef, icpt = bank[problem][3], bank[problem][5], bank[problem][6]
    q = Composite(obj, smoothing=0.3)
    gen = torch.Generator().manual_seed(0)
    x = torch.cat([torch.as_tensor(coef, dtype=torch.float64).reshape(-1),
                   torch.as_tensor(icpt, dtype=torch.float64).reshape(-1)])
    x = x + 0.05 * torch.randn(x.shape, generator=gen, dtype=torch.float64)
    _, g = q.f_grad(x)
    H = torch.func.hessian(lambda v: q.f(v))(x)
    dx = _newton_direction(q, x, g)
    assert torch.allclose(H @ dx, -g, rtol=0, atol=1e-8 * float(g.abs().max()))
    t = _line_minimum(q, x, dx)
    _, g_t = q.f_grad(x + t * dx)
    assert abs(float(g_t @ dx)) <= 1e-9 * abs(float(g @ dx))
    ts = torch.linspace(0.0, 2.0 * max(t, 1.0), 401, dtype=torch.float64)
    grid = min(float(q.f(x + s * dx)) for s in ts)
    assert float(q.f(x + t * dx)) <= grid + 1e-12 * abs(grid)


def test_subgradient_polyak_beats_sqrt_schedule(bank):
    """The Polyak level step (dual bound as the floor) gets far closer than t₀/√k in the
    same number of iterations, and never claims 'optimal' without the certificate."""
    from mlopt.certificates import certificate

    obj, fstar = bank["svm"][3], bank["svm"][4]
    polyak = minimize(obj, "subgradient", tol=1e-9, max_iter=5000)
    sqrt = minimize(obj, "subgradient", tol=1e-9, max_iter=5000, step="sqrt")
    rel_p, rel_s = ((r.objective - fstar) / fstar for r in (polyak, sqrt))
    assert -1e-9 <= rel_p <= 1e-7
    assert rel_p < 0.1 * rel_s
    best = [row[2] for row in polyak.trace]
    assert all(b <= a for a, b in zip(best, best[1:]))
    cert = certificate(obj, polyak.coef, polyak.intercept)
    assert (polyak.status == "optimal") == (cert.relative_gap <= 1e-9)
    for bad in ("fixed", -1.0, True):
        with pytest.raises(ValueError, match="step"):
            minimize(obj, "subgradient", step=bad, max_iter=2)


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
                                         ("quantile", "smoothed"), ("multinomial", "lbfgs"), ("svm_bc", "smoothed"),
                                         ("svm_ovr", "smoothed")])
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


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_smoothed_matches_cpu(bank):
    obj = bank["svm_bc"][3]
    cpu = minimize(obj, "smoothed", tol=1e-8)
    gpu = minimize(obj, "smoothed", tol=1e-8, device="cuda")
    assert gpu.status == "optimal"
    assert abs(gpu.objective - cpu.objective) <= 2e-8 * abs(cpu.objective)
