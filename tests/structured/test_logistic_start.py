"""The Newton start of the structured logistic IPM (mlopt.structured.logistic_start) and the IPM's
``initial_point``: Newton's optimum against scikit-learn, the centered point against the central-path
equations and the conic data, the fits against the IPM's own start, and where the start applies."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.preprocessing import StandardScaler

from mlopt.datasets import make_classification
from mlopt.estimators import LinearSVC, LogisticRegression
from mlopt.ipm import NonnegativeCone, StartPoint, solve
from mlopt.ipm.cones.exp_barrier import dual_feasible, dual_grad_factor, primal_feasible
from mlopt.structured import assemble, fit_objective
from mlopt.structured import logistic_start as ls

CUDA = torch.cuda.is_available()
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not CUDA, reason="no CUDA")])]


def _cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _tensors(problem):
    f64 = dict(dtype=torch.float64)
    return (torch.as_tensor(problem.A.X, **f64), torch.as_tensor(problem.sample_y, **f64),
            torch.as_tensor(problem.sample_c, **f64))


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_newton_reaches_sklearns_optimum(C, fit_intercept):
    X, y = _cancer()
    problem = assemble(LogisticRegression(C=C, fit_intercept=fit_intercept).get_objective(X, y))
    found = ls.newton_logistic(*_tensors(problem), 1.0, fit_intercept)
    assert found is not None
    w, b, F, steps = found
    ref = SkLogisticRegression(C=C, fit_intercept=fit_intercept, solver="newton-cholesky", tol=1e-12,
                               max_iter=200).fit(X, y)
    np.testing.assert_allclose(w.numpy(), ref.coef_.ravel(), rtol=1e-6, atol=1e-7 * max(1.0, C))
    assert b == pytest.approx(float(ref.intercept_[0]) if fit_intercept else 0.0, abs=1e-6 * max(1.0, C))
    u = -np.where(y == 1, 1.0, -1.0) * (X @ ref.coef_.ravel() + (ref.intercept_[0] if fit_intercept else 0.0))
    F_ref = C * np.logaddexp(0, u).sum() + 0.5 * ref.coef_.ravel() @ ref.coef_.ravel()
    assert F <= F_ref * (1 + 1e-12) and 1 <= steps <= ls.NEWTON_MAX_STEPS


def test_newton_gives_up_within_its_step_limit():
    X, y = _cancer()
    problem = assemble(LogisticRegression(C=1e4).get_objective(X, y))
    assert ls.newton_logistic(*_tensors(problem), 1.0, True, max_steps=1) is None


@settings(max_examples=40, deadline=None)
@given(u=st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=1, max_size=20),
       k=st.floats(1e-14, 10.0))
def test_central_eta_solves_its_equation(u, k):
    u = torch.tensor(u, dtype=torch.float64)
    kk = torch.full_like(u, k)
    eta = ls.central_eta(u, kk)
    assert torch.isfinite(eta).all()
    assert bool((eta * u >= 0).all()) and bool((eta.abs() <= u.abs()).all())  # same sign, |η| ≤ |u|
    resid = eta + kk * torch.sinh(eta) - u
    assert float(resid.abs().max()) <= 1e-12 * max(1.0, float(u.abs().max()))


@pytest.mark.parametrize("C, fit_intercept, weighted", [(1.0, True, False), (1e-3, True, False),
                                                        (1e3, False, False), (1.0, True, True)])
def test_central_point_is_centered_feasible_and_interior(C, fit_intercept, weighted):
    """s = −μ∇f*(z) on every exp cone, s∘z = μ on the orthant, rz = Ax + s − b = 0, the local columns
    of rx = Px + Aᵀz + q vanish, and the (w, b) part of rx is ∇F at Newton's point (+ O(μ))."""
    X, y = _cancer()
    sw = np.random.default_rng(3).uniform(0.0, 3.0, X.shape[0]) if weighted else None
    problem = assemble(LogisticRegression(C=C, fit_intercept=fit_intercept).get_objective(X, y, sample_weight=sw))
    Xt, yt, ct = _tensors(problem)
    w, b, F, _ = ls.newton_logistic(Xt, yt, ct, 1.0, fit_intercept)
    N, m = problem.q.size, problem.b.size
    n, d = Xt.shape
    rows = problem.structure.sample_rows
    E = torch.as_tensor(rows[:, 1:].reshape(-1, 3).T.copy())  # exp rows, component-first (3, 2n)
    cmax = float(ct.max())
    for rel in (1e-4, 1e-8):
        mu = rel * cmax
        p = ls.central_point(problem, Xt, yt, ct, w, b, mu, N, m)
        x, s, z = p.x.numpy(), p.s.numpy(), p.z.numpy()
        assert p.tau == 1.0 and p.kappa == mu
        np.testing.assert_allclose(s[rows[:, 0]] * z[rows[:, 0]], mu, rtol=1e-12)
        sE, zE = torch.as_tensor(s)[E], torch.as_tensor(z)[E]
        assert bool(primal_feasible(sE).all()) and bool(dual_feasible(zE).all())
        grad, _ = dual_grad_factor(zE)
        # r(z) = μ is formed as v − u − u·log(−w/u) from terms of size c·(1 + ℓ) (ℓ ≤ 40 here): its relative
        # rounding is ~1e-16·40·c/μ, and s = −μ∇f*(z) holds to that accuracy
        np.testing.assert_allclose(sE.numpy(), (-mu * grad).numpy(), rtol=4e-15 * cmax / mu, atol=1e-14)
        scale = 1.0 + np.abs(problem.b).max() + np.abs(s).max()
        np.testing.assert_allclose(problem.A @ x + s - problem.b, 0.0, atol=1e-12 * scale)
        rx = problem.P @ x + problem.A.rmatvec(z) + problem.q
        np.testing.assert_allclose(rx[problem.structure.local_cols.ravel()], 0.0, atol=1e-12 * cmax * 100)
        gap = s @ z + p.tau * p.kappa
        assert gap == pytest.approx((7 * n + 1) * mu, rel=1e-10 + 4e-15 * cmax / mu)
    # at μ = 1e-8·max c: ∇F(w⁰, b⁰) ≈ 0 plus the O(μ) shift of the duals, summed over n samples
    assert np.abs(rx[:d + int(fit_intercept)]).max() < 1e-5 * cmax * np.abs(X).max()


@pytest.mark.parametrize("C, fit_intercept, weighted", [(1.0, True, False), (100.0, True, False),
                                                        (1.0, False, False), (1.0, True, True)])
def test_newton_start_same_optimum_fewer_iterations(C, fit_intercept, weighted):
    X, y = _cancer()
    sw = np.random.default_rng(0).uniform(0.0, 2.0, X.shape[0]) if weighted else None
    objective = LogisticRegression(C=C, fit_intercept=fit_intercept).get_objective(X, y, sample_weight=sw)
    coef0, b0, info0 = fit_objective(objective, start="default")
    coef1, b1, info1 = fit_objective(objective)
    assert info0["start"] == "default" and info0["newton_steps"] is None
    assert info1["start"] == "newton" and info1["newton_steps"] >= 1
    assert info0["status"] == info1["status"] == "solved"
    assert info1["iterations"] < info0["iterations"]
    assert abs(info1["objective"] - info0["objective"]) <= 1e-8 * abs(info0["objective"])
    assert info1["gap"] <= 1e-8
    np.testing.assert_allclose(coef1, coef0, rtol=1e-4, atol=1e-5 * max(1.0, C))


def test_newton_start_on_generated_data_takes_a_few_iterations():
    X, y, _ = make_classification(2000, 20, flip=0.1, random_state=2)
    objective = LogisticRegression(C=1.0).get_objective(X, y)
    _, _, info0 = fit_objective(objective, start="default")
    coef, b, info1 = fit_objective(objective)
    assert info1["iterations"] <= 4 < info0["iterations"]
    ref = SkLogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12).fit(X, y)
    np.testing.assert_allclose(coef, ref.coef_.ravel(), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", ["elasticnet", "no_penalty", "positive", "sparse", "wide", "svm", "multinomial"])
def test_newton_start_only_where_it_applies(case):
    X, y = _cancer()
    X = X[:200]
    y = y[:200]
    est = LogisticRegression(C=1.0)
    if case == "elasticnet":
        est = LogisticRegression(C=1.0, l1_ratio=0.5)
    elif case == "no_penalty":
        est = LogisticRegression(C=np.inf)
        X = X + np.random.default_rng(1).normal(0.0, 3.0, X.shape)  # not separable: a finite optimum
    elif case == "sparse":
        X = sp.csr_matrix(np.where(np.abs(X) > 1.0, X, 0.0))
    elif case == "wide":
        X, y = X[:20], y[:20]
    elif case == "svm":
        est = LinearSVC(C=1.0)
    elif case == "multinomial":
        y = np.arange(200) % 3
    objective = est.get_objective(X, y)
    if case == "positive":
        objective.positive = True
    coef, b, info = fit_objective(objective)
    assert info["start"] == "default" and info["newton_steps"] is None
    assert info["status"] == "solved"


def test_start_argument_is_checked():
    X, y = _cancer()
    with pytest.raises(ValueError, match="start must be one of"):
        fit_objective(LogisticRegression().get_objective(X, y), start="newton")


def test_estimator_passes_the_start_option():
    X, y = _cancer()
    a = LogisticRegression(C=1.0, solver="mlopt").fit(X, y)
    b = LogisticRegression(C=1.0, solver="mlopt", solver_options={"start": "default"}).fit(X, y)
    assert a.n_iter_ < b.n_iter_
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-4, atol=1e-6)


def _lp():
    """min x₁ + x₂  s.t.  x ≥ 1 (as −x + s = −1, s ≥ 0): optimum (1, 1)."""
    return None, np.array([1.0, 1.0]), -np.eye(2), -np.ones(2), [NonnegativeCone(2)]


def test_solve_uses_a_given_interior_point():
    # a centered point of the LP: x = 1 + μ·1, s = μ, z = 1, τ = 1, κ = μ
    mu = 1e-3
    start = StartPoint(np.full(2, 1 + mu), np.full(2, mu), np.ones(2), 1.0, mu)
    res = solve(*_lp(), initial_point=start)
    ref = solve(*_lp())
    assert res.status.value == ref.status.value == "solved"
    assert res.attempts[0]["start"] == res.start == "given" and ref.attempts[0]["start"] == ref.start == "default"
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-8)
    assert res.iterations < ref.iterations


def test_solve_rejects_a_start_outside_the_cone_and_still_solves():
    start = StartPoint(np.zeros(2), np.array([-1.0, 1.0]), np.ones(2), 1.0, 1.0)
    res = solve(*_lp(), initial_point=start)
    assert res.attempts[0]["start"] == res.start == "rejected" and res.status.value == "solved"
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-8)
    res = solve(*_lp(), initial_point=lambda data: None)  # a function may decline
    assert res.attempts[0]["start"] == "default" and res.status.value == "solved"


def test_solve_checks_the_initial_point():
    with pytest.raises(ValueError, match=r"initial_point.s has shape \(3,\)"):
        solve(*_lp(), initial_point=StartPoint(np.ones(2), np.ones(3), np.ones(2)))
    with pytest.raises(ValueError, match="tau"):
        solve(*_lp(), initial_point=StartPoint(np.ones(2), np.ones(2), np.ones(2), tau=0.0))
    with pytest.raises(TypeError, match="StartPoint"):
        solve(*_lp(), initial_point=lambda data: (np.ones(2), np.ones(2), np.ones(2)))


@pytest.mark.parametrize("device", DEVICES)
def test_newton_start_on_each_device(device):
    X, y, _ = make_classification(3000, 40, flip=0.1, random_state=5)
    objective = LogisticRegression(C=1.0).get_objective(X, y)
    coef, b, info = fit_objective(objective, device=device)
    ref_coef, ref_b, ref = fit_objective(objective, start="default")
    assert info["start"] == "newton" and info["status"] == "solved"
    np.testing.assert_allclose(coef, ref_coef, rtol=1e-5, atol=1e-7)
    assert abs(info["objective"] - ref["objective"]) <= 1e-9 * abs(ref["objective"])


def test_newton_init_from_a_neighbouring_solution_takes_fewer_steps():
    X, y = _cancer()
    near, _, _ = fit_objective(LogisticRegression(C=100.0).get_objective(X, y))
    objective = LogisticRegression(C=1000.0).get_objective(X, y)
    coef0, b0, cold = fit_objective(objective)
    coef1, b1, warm = fit_objective(objective, newton_init=(near, 0.0))
    assert warm["start"] == cold["start"] == "newton"
    assert warm["newton_steps"] < cold["newton_steps"]
    assert abs(warm["objective"] - cold["objective"]) <= 1e-9 * abs(cold["objective"])
    with pytest.raises(ValueError, match="newton_init"):
        fit_objective(objective, newton_init=(near[:-1], 0.0))
    with pytest.raises(ValueError, match="newton_init"):
        fit_objective(objective, newton_init=(np.full_like(near, np.nan), 0.0))
    _, _, info = fit_objective(LinearSVC().get_objective(X, y), newton_init=(near, 0.0))  # ignored there
    assert info["start"] == "default" and info["status"] == "solved"


def test_logistic_path_warm_starts_match_independent_fits():
    from mlopt import regularization_path

    X, y = _cancer()
    Cs = [0.01, 0.1, 1.0, 10.0]
    path = regularization_path(LogisticRegression(solver="mlopt", solver_options={"verbose": False}), X, y,
                               param="C", values=Cs)  # (an option the batched path does not know: per value)
    assert path.solver == "MLOPT (structured)"
    assert path.statuses == ["optimal"] * len(Cs)
    for k, C in enumerate(Cs):
        ref = LogisticRegression(C=C, solver="mlopt").fit(X, y)
        np.testing.assert_allclose(path.coefs[k], ref.coef_, rtol=1e-5, atol=1e-7 * max(1.0, C))
        np.testing.assert_allclose(path.intercepts[k], ref.intercept_, rtol=1e-5, atol=1e-7 * max(1.0, C))


def test_paths_start_each_newton_solve_at_the_previous_solution(monkeypatch):
    from mlopt import regularization_path
    from mlopt.estimators.base import ConvexLinearModel

    seen = []
    original = ConvexLinearModel._fit_structured

    def recording(self, objective, newton_init=None):
        seen.append(newton_init)
        return original(self, objective, newton_init=newton_init)

    monkeypatch.setattr(ConvexLinearModel, "_fit_structured", recording)
    X, y = _cancer()
    # an option the batched logistic path does not know keeps the per-value fits (mlopt.structured.logistic_path)
    path = regularization_path(LogisticRegression(solver="mlopt", solver_options={"verbose": False}), X, y,
                               param="C", values=[0.1, 1.0, 10.0])
    assert path.solver == "MLOPT (structured)" and seen[0] is None and len(seen) == 3
    for k in (1, 2):
        coef, b = seen[k]
        np.testing.assert_array_equal(coef, path.coefs[k - 1].ravel())
        assert b == float(path.intercepts[k - 1][0])


def test_a_rejected_start_is_reported():
    """A Newton start built but not taken (here: made non-interior) reads "rejected"; the fit still solves."""
    X, y = _cancer()
    objective = LogisticRegression(C=1.0).get_objective(X, y)
    problem = assemble(objective)
    start = ls.logistic_start(objective, problem, "cpu")

    def broken(data):
        p = start(data)
        p.s[problem.structure.sample_rows[:, 0]] = -1.0  # the orthant slacks leave the cone
        return p

    from mlopt.structured.fit import _run_ipm
    broken.info = start.info
    coef, b, info = _run_ipm(objective, problem, "cpu", dict(kkt_solver="structured", kkt_structure=problem.structure),
                             0.0, 0.0, "samples", broken)
    assert info["start"] == "rejected" and info["newton_steps"] >= 1 and info["status"] == "solved"
