"""Retry without equilibration after an equilibrated run stalls (setting ``equilibrate_retry``)."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

import mlopt
import mlopt.ipm.solver as solver_module
from mlopt.ipm import NonnegativeCone, Status, ZeroCone, solve
from mlopt.structured import fit_objective


def simplex_qp():
    """min ½‖x‖² + qᵀx s.t. Σx = 1, x ≥ 0: the projection of −q onto the simplex, (0.75, 0, 0.25)."""
    q = np.array([-1.0, 0.2, -0.5])
    A = np.vstack([np.ones((1, 3)), -np.eye(3)])
    b = np.array([1.0, 0, 0, 0])
    return np.eye(3), q, A, b, [ZeroCone(1), NonnegativeCone(3)]


@pytest.fixture
def runs(monkeypatch):
    """Record every IPM run (was it equilibrated?) and let a test declare which runs 'stall'."""
    log = {"equilibrated": [], "stall": set()}
    original, ruiz, unscaled = solver_module.IPMCore.run, solver_module.ruiz, solver_module.no_equilibration

    def scaling(flag, function):
        def wrapped(*args, **kwargs):
            log["equilibrated"].append(flag)
            return function(*args, **kwargs)
        return wrapped

    def run(core):
        k = len(log["equilibrated"]) - 1
        log.setdefault("max_iter", []).append(core.st.max_iter)
        if k in log.get("raise", ()):
            raise FloatingPointError("initial KKT factorisation failed")
        status, v, info, iters = original(core)
        if k in log["stall"]:
            status = log.get("status", {}).get(k, Status.NUMERICAL_ERROR)
        return status, v, info, iters

    monkeypatch.setattr(solver_module, "ruiz", scaling(True, ruiz))
    monkeypatch.setattr(solver_module, "no_equilibration", scaling(False, unscaled))
    monkeypatch.setattr(solver_module.IPMCore, "run", run)
    return log


def test_stalled_equilibrated_run_is_solved_again_unscaled(runs):
    runs["stall"] = {0}
    res = solve(*simplex_qp())
    assert runs["equilibrated"] == [True, False]
    assert res.status == Status.SOLVED
    np.testing.assert_allclose(res.x, [0.75, 0.0, 0.25], atol=1e-7)
    assert [a["equilibrated"] for a in res.attempts] == [True, False]
    assert [a["status"] for a in res.attempts] == ["numerical_error", "solved"]
    assert res.iterations == res.attempts[1]["iterations"] > 0
    assert res.timings["validate"] >= 0 and res.timings["iterations"] > 0


def test_no_retry_when_disabled_or_unscaled_or_solved(runs):
    runs["stall"] = {0}
    res = solve(*simplex_qp(), equilibrate_retry=False)
    assert res.status == Status.NUMERICAL_ERROR and len(res.attempts) == 1
    runs["equilibrated"].clear()
    res = solve(*simplex_qp(), equilibrate_enable=False)  # the only run is unscaled: stalls, no retry
    assert runs["equilibrated"] == [False] and res.status == Status.NUMERICAL_ERROR
    runs["equilibrated"].clear()
    runs["stall"] = set()
    res = solve(*simplex_qp())
    assert runs["equilibrated"] == [True] and res.attempts == [dict(equilibrated=True, status="solved",
                                                                    iterations=res.iterations, start="default")]


def test_failed_retry_keeps_the_first_result(runs):
    runs["stall"] = {0, 1}
    res = solve(*simplex_qp())
    assert res.status == Status.NUMERICAL_ERROR
    assert [a["equilibrated"] for a in res.attempts] == [True, False]
    assert res.iterations == res.attempts[0]["iterations"]


def test_nearly_separable_logistic_with_large_C_is_solved():
    """Breast cancer, first stratified fold, C = 1e4 (in LogisticRegressionCV's default grid): the
    equilibrated run stalls at a relative gap of ~1e-2 here (as CVXPY+Clarabel does: insufficient
    progress); the fit must still reach scikit-learn's optimum."""
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    train, _ = next(iter(StratifiedKFold(5).split(X, y)))
    objective = mlopt.LogisticRegression(C=1e4).get_objective(X[train], y[train])
    coef, intercept, info = fit_objective(objective)
    assert info["status"] == "solved" and info["gap"] <= 1e-8
    ref = SkLogisticRegression(C=1e4, tol=1e-12, max_iter=100_000, solver="newton-cholesky").fit(X[train], y[train])
    ref_value = objective.value(ref.coef_.ravel(), ref.intercept_[0])
    assert abs(info["objective"] - ref_value) <= 1e-7 * ref_value
    np.testing.assert_allclose(coef, ref.coef_.ravel(), rtol=1e-4, atol=1e-4 * np.abs(coef).max())


def test_retry_cut_short_by_the_limits_does_not_replace_the_first_run(runs):
    """The runs share max_iter and time_limit; a retry that ends at a limit is no better."""
    runs["stall"], runs["status"] = {0, 1}, {1: Status.MAX_TIME}
    res = solve(*simplex_qp(), max_iter=50)
    assert res.status == Status.NUMERICAL_ERROR
    assert [a["status"] for a in res.attempts] == ["numerical_error", "max_time"]
    first = res.attempts[0]["iterations"]
    assert runs["max_iter"] == [50, 50 - first]  # the retry gets what the first run left


def test_a_failing_retry_keeps_the_first_result(runs):
    runs["stall"], runs["raise"] = {0}, {1}
    res = solve(*simplex_qp())
    assert res.status == Status.NUMERICAL_ERROR
    assert res.attempts[1]["status"].startswith("error: ") and not res.attempts[1]["equilibrated"]


def _centered_simplex_start():
    """An interior point of simplex_qp: x on the simplex interior, s = x, z = μ/s, τ = 1, κ = μ."""
    mu = 1e-2
    x = np.full(3, 1 / 3)
    s = np.r_[0.0, x]
    z = np.r_[0.0, mu / x]
    return mlopt.ipm.StartPoint(x, s, z, 1.0, mu)


@pytest.mark.parametrize("ends", [Status.ALMOST_SOLVED, Status.MAX_ITERATIONS])
def test_a_given_start_that_ends_short_is_run_again_from_the_solvers_own(runs, ends):
    runs["stall"], runs["status"] = {0}, {0: ends}
    res = solve(*simplex_qp(), initial_point=_centered_simplex_start(), equilibrate_retry=False)
    assert [a["start"] for a in res.attempts] == ["given", "default"] and res.start == "default"
    assert res.status == Status.SOLVED and res.iterations == res.attempts[1]["iterations"]
    assert runs["max_iter"][1] == runs["max_iter"][0] - res.attempts[0]["iterations"]  # shared max_iter
    np.testing.assert_allclose(res.x, [0.75, 0.0, 0.25], atol=1e-7)


def test_a_given_start_that_solves_is_not_run_again(runs):
    res = solve(*simplex_qp(), initial_point=_centered_simplex_start())
    assert [a["start"] for a in res.attempts] == ["given"] and res.status == Status.SOLVED
    runs["equilibrated"].clear()
    runs["stall"], runs["status"] = {0, 1}, {0: Status.ALMOST_SOLVED, 1: Status.MAX_ITERATIONS}
    res = solve(*simplex_qp(), initial_point=_centered_simplex_start(), equilibrate_retry=False)
    assert res.status == Status.ALMOST_SOLVED and res.start == "given"  # the retry was no better
    assert len(res.attempts) == 2
