"""Sample screening of the linear SVM (mlopt.structured.hinge_screen): the screened solve against the full
program and CVXPY+Clarabel, its gap check on all samples, the rounds after a bad partition, the fallback,
the Huberized-hinge predictor's optimality conditions, and where "auto" screens."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

import mlopt.structured.fit as fit_module
from mlopt.datasets import make_classification
from mlopt.estimators import ConvexLinearClassifier, LinearSVC, LogisticRegression
from mlopt.structured import fit_objective
from mlopt.structured import hinge_screen as hs

CUDA = torch.cuda.is_available()
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not CUDA, reason="no CUDA")])]


def _cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _noisy(n=3000, d=20, flip=0.1, seed=1):
    X, y, _ = make_classification(n, d, flip=flip, random_state=seed)
    return X, y


def _weights(n, seed=0):
    w = np.random.default_rng(seed).uniform(0.0, 2.0, n)
    w[:50] = 0.0  # zero-weight samples: dropped from W, no linear term from B
    return w


CASES = [  # (name, data, estimator keywords, sample weights)
    ("cancer", _cancer, dict(C=1.0), None),
    ("cancer_C100", _cancer, dict(C=100.0), None),
    ("noisy", _noisy, dict(C=1.0), None),
    ("separable", lambda: _noisy(2000, 10, flip=0.0), dict(C=10.0), None),
    ("weights", _noisy, dict(C=1.0), _weights(3000)),
    ("small_C", _noisy, dict(C=1e-3), None),
    ("no_intercept", _noisy, dict(C=1.0, fit_intercept=False), None),
    ("shifted_X", lambda: (_noisy()[0] + 5.0, _noisy()[1]), dict(C=1.0), None),
]


@pytest.mark.parametrize("name,data,kw,sw", CASES, ids=[c[0] for c in CASES])
def test_screened_solve_matches_the_full_program(name, data, kw, sw):
    X, y = data()
    obj = LinearSVC(**kw).get_objective(X, y, sample_weight=sw)
    c0, b0, full = fit_objective(obj, screen="off", tol=1e-9)
    c1, b1, info = fit_objective(obj, screen="on", tol=1e-9)
    assert full["status"] == info["status"] == "solved"
    scr = info["screening"]
    assert scr["rounds"] >= 1 and scr["samples"] + scr["bound"] <= X.shape[0] and scr["newton_steps"] >= 1
    f = obj.value(c1, b1)
    assert info["objective"] == pytest.approx(f, rel=1e-12)
    # the reported gap is that of the full problem, and within the IPM's tolerance
    assert info["gap"] <= 1e-9 and info["gap_abs"] == pytest.approx(abs(f - info["dual_objective"]), abs=1e-9)
    assert abs(f - full["objective"]) <= 2e-9 * max(1.0, abs(f))
    # the dual objective is a lower bound of the full program's optimum: no screened point beats it
    assert info["dual_objective"] <= full["objective"] + 2e-9 * max(1.0, abs(f))
    np.testing.assert_allclose(c1, c0, atol=1e-5 * max(1.0, kw["C"]))
    assert float(b1) == pytest.approx(float(b0), abs=1e-5 * max(1.0, kw["C"]))


def test_screened_solve_matches_cvxpy_clarabel():
    X, y = _noisy(1500, 12, seed=4)
    est = LinearSVC(C=0.5)
    obj = est.get_objective(X, y)
    coef, b, info = fit_objective(obj, screen="on", tol=1e-9)
    ref = est.get_problem(X, y)
    ref.problem.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    f_ref = obj.value(np.asarray(ref.coef.value), np.asarray(ref.intercept.value))
    assert info["objective"] == pytest.approx(f_ref, rel=1e-8)
    np.testing.assert_allclose(coef, ref.coef.value, atol=1e-5)


def test_kkt_conditions_of_the_screened_solution():
    """Margins against the dual: αᵢ = 0 where mᵢ > 1, αᵢ = c where mᵢ < 1, w = Σ αᵢyᵢxᵢ, Σ αᵢyᵢ = 0 — the
    multipliers recovered by least squares on the margin samples from the screened (w, b)."""
    X, y = _noisy(2500, 8, seed=7)
    C = 2.0
    obj = LinearSVC(C=C).get_objective(X, y)
    w, b, info = fit_objective(obj, screen="on", tol=1e-10)
    ys = np.where(y == 1, 1.0, -1.0)
    m = ys * (X @ w + b)
    at = np.abs(m - 1) <= 1e-6
    bound = m < 1 - 1e-6
    # stationarity: w = Σ αᵢyᵢxᵢ and Σ αᵢyᵢ = 0 with α = C on the bound set, unknown on the margin set
    A = np.vstack([(ys[at, None] * X[at]).T, ys[at]])
    rhs = np.concatenate([w - C * (ys[bound] @ X[bound]), [-C * ys[bound].sum()]])
    alpha, *_ = np.linalg.lstsq(A, rhs, rcond=None)
    assert np.linalg.norm(A @ alpha - rhs) <= 1e-5 * max(1.0, np.linalg.norm(w))
    assert alpha.min() >= -1e-5 and alpha.max() <= C + 1e-5


@pytest.mark.parametrize("band", [0.0, 0.03])
def test_rounds_repair_a_bad_partition(band):
    X, y = _noisy(3000, 20, seed=2)
    obj = LinearSVC(C=1.0).get_objective(X, y)
    _, _, full = fit_objective(obj, screen="off", tol=1e-9)
    out = hs.fit_hinge_screened(obj, "cpu", dict(tol=1e-9), band=band, max_rounds=20)
    assert out is not None
    coef, b, info = out
    assert info["screening"]["rounds"] >= 2  # the narrow band misplaces samples: they join W
    assert info["objective"] == pytest.approx(full["objective"], rel=2e-9)
    assert info["gap"] <= 1e-9


def test_uncertified_screening_returns_none_and_fit_objective_falls_back(monkeypatch):
    X, y = _noisy(3000, 20, seed=2)
    obj = LinearSVC(C=1.0).get_objective(X, y)
    assert hs.fit_hinge_screened(obj, "cpu", {}, band=0.0, max_rounds=1) is None
    monkeypatch.setattr(fit_module, "fit_hinge_screened", lambda *a, **k: None)
    _, _, full = fit_objective(obj, screen="off")
    for screen in ("on", "auto"):  # "auto" too: its decision is not undone by the backend defaults set later
        coef, b, info = fit_objective(obj, screen=screen)
        assert info["screening"] == {"fallback": True} and info["status"] == "solved"
        assert info["objective"] == pytest.approx(full["objective"], rel=1e-12)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_huber_predictor_meets_its_optimality_conditions(fit_intercept):
    X, y = _noisy(2000, 15, seed=5)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(np.where(y == 1, 1.0, -1.0))
    c = torch.full_like(yt, 0.7)
    delta = 0.1
    out = hs.huber_hinge_newton(Xt, yt, c, 1.3, fit_intercept, deltas=(2.0, 0.3, delta), tols=(1e-2, 1e-3, 1e-14))
    assert out is not None
    w, b, m, steps = out
    np.testing.assert_allclose(m.numpy(), (yt * (Xt @ w + b)).numpy(), atol=1e-10)  # margins kept in sync
    weight = ((1 - m) / delta).clamp(0, 1) * c * yt  # −h'_δ(1 − m)·c·y
    grad_w = 1.3 * w - Xt.T @ weight
    assert float(grad_w.abs().max()) <= 1e-7
    if fit_intercept:
        assert abs(float(weight.sum())) <= 1e-7
    else:
        assert b == 0.0


def test_huber_predictor_reports_failure():
    X, y = _noisy(1000, 10)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(np.where(y == 1, 1.0, -1.0))
    assert hs.huber_hinge_newton(Xt, yt, torch.ones_like(yt), 1.0, True, max_steps=0) is None


def test_where_auto_screens():
    X, y = _noisy(1000, 10)
    obj = LinearSVC(C=1.0).get_objective(X, y)
    assert fit_objective(obj)[2]["screening"]["rounds"] >= 1  # n ≥ 500 and n ≥ 5(d + 1)
    assert "screening" not in fit_objective(obj, screen="off")[2]
    assert "screening" not in fit_objective(obj, kkt_solver="qdldl")[2]  # an explicit backend: the full program
    small = LinearSVC(C=1.0).get_objective(X[:300], y[:300])
    assert "screening" not in fit_objective(small)[2]
    assert fit_objective(small, screen="on")[2]["screening"]["rounds"] >= 1
    sparse = LinearSVC(C=1.0).get_objective(sp.csr_matrix(X), y)
    assert not hs.hinge_screen_applicable(sparse) and "screening" not in fit_objective(sparse)[2]
    assert not hs.hinge_screen_applicable(ConvexLinearClassifier(loss="hinge", penalty="l1").get_objective(X, y))
    assert not hs.hinge_screen_applicable(LogisticRegression().get_objective(X, y))


def test_estimator_reports_screening():
    X, y = _noisy(1200, 8)
    est = LinearSVC(C=1.0, solver="mlopt").fit(X, y)
    assert est.solution_.screening["rounds"] >= 1 and est.solution_.status == "optimal"
    off = LinearSVC(C=1.0, solver="mlopt", solver_options={"screen": "off"}).fit(X, y)
    assert off.solution_.screening is None
    np.testing.assert_allclose(est.coef_, off.coef_, atol=1e-5)


def test_bad_screen_arguments():
    X, y = _noisy(600, 5)
    with pytest.raises(ValueError, match="screen must be one of"):
        fit_objective(LinearSVC().get_objective(X, y), screen="yes")
    with pytest.raises(ValueError, match="screen='on' needs the binary hinge loss"):
        fit_objective(LogisticRegression().get_objective(X, y), screen="on")


@settings(max_examples=12, deadline=None)
@given(n=st.integers(40, 160), d=st.integers(1, 6), C=st.floats(0.01, 100.0), seed=st.integers(0, 10_000),
       intercept=st.booleans())
def test_screening_agrees_with_the_full_program_on_random_problems(n, d, C, seed, intercept):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.1, 10.0, d)
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    obj = LinearSVC(C=C, fit_intercept=intercept).get_objective(X, y)
    c1, b1, info = fit_objective(obj, screen="on", tol=1e-9)
    _, _, full = fit_objective(obj, screen="off", tol=1e-9)
    assert c1.shape == (d,) and np.ndim(b1) == 0
    assert info["status"] == "solved" and info["gap"] <= 1e-9
    assert abs(info["objective"] - full["objective"]) <= 5e-9 * max(1.0, abs(full["objective"]))


@pytest.mark.parametrize("device", DEVICES)
def test_devices_agree(device):
    X, y = _noisy(2000, 12, seed=3)
    obj = LinearSVC(C=1.0).get_objective(X, y)
    c_cpu, b_cpu, _ = fit_objective(obj, screen="on", tol=1e-9)
    c_dev, b_dev, info = fit_objective(obj, device=device, screen="on", tol=1e-9)
    assert info["screening"]["rounds"] >= 1
    np.testing.assert_allclose(c_dev, c_cpu, atol=1e-7)


def test_screen_on_keeps_a_given_kkt_backend():
    X, y = _noisy(1500, 8, seed=6)
    obj = LinearSVC(C=1.0).get_objective(X, y)
    c0, _, full = fit_objective(obj, screen="off", tol=1e-9)
    c1, _, info = fit_objective(obj, screen="on", kkt_solver="qdldl", tol=1e-9)
    assert info["kkt_solver"] == "qdldl" and info["screening"]["rounds"] >= 1
    assert info["objective"] == pytest.approx(full["objective"], rel=2e-9)
