"""The batched logistic path (mlopt.structured.batched_newton, mlopt.structured.logistic_path): every member
against scikit-learn's newton-cholesky fit and the single Newton solve, certified gaps, the IPM fallback,
sample weights, bad input, and the regularization_path / LogisticRegressionCV integration."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.linear_model import LogisticRegressionCV as SkLogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

import mlopt
from mlopt import regularization_path
from mlopt.certificates import certificate
from mlopt.datasets import make_classification
from mlopt.estimators import LinearSVC, LogisticRegression, LogisticRegressionCV
from mlopt.structured import logistic_path as lp
from mlopt.structured.batched_newton import newton_logistic_batch
from mlopt.structured.logistic_start import newton_logistic

CUDA = torch.cuda.is_available()
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not CUDA, reason="no CUDA")])]
CS = np.logspace(-4, 4, 9)  # LogisticRegressionCV's default range


def _cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _sklearn(C, X, y, fit_intercept=True, sample_weight=None):
    return SkLogisticRegression(C=C, solver="newton-cholesky", tol=1e-12, max_iter=1000,
                                fit_intercept=fit_intercept).fit(X, y, sample_weight=sample_weight)


def _close_to_sklearn(coef, intercept, ref, C):
    """Coefficients within 1e-7 relative of scikit-learn's (its own tol=1e-12 stops at a gradient norm)."""
    scale = max(1.0, float(np.abs(ref.coef_).max()))
    np.testing.assert_allclose(coef, ref.coef_.ravel(), rtol=0, atol=1e-7 * scale)
    np.testing.assert_allclose(intercept, ref.intercept_[0], rtol=0, atol=1e-7 * scale)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_batched_path_matches_sklearn_on_every_member(fit_intercept):
    X, y = _cancer()
    objective = LogisticRegression(fit_intercept=fit_intercept).get_objective(X, y)
    res = lp.fit_logistic_path_batched(objective, CS, np.ones(CS.size))
    assert res.methods == ["newton"] * CS.size and res.statuses == ["solved"] * CS.size
    assert np.all(res.relative_gaps <= 1e-12) and np.all(res.primal_residuals == 0)
    for k, C in enumerate(CS):
        _close_to_sklearn(res.coefs[k], res.intercepts[k], _sklearn(C, X, y, fit_intercept), C)
        objective.loss_weight = C
        assert res.primal_objectives[k] == pytest.approx(objective.value(res.coefs[k], res.intercepts[k]),
                                                         rel=1e-13)
        cert = certificate(objective, res.coefs[k], res.intercepts[k])  # the same gap, computed afresh
        assert cert.gap == pytest.approx(res.gaps[k], abs=1e-12 * max(1.0, cert.primal))


def test_the_objectives_own_weights_are_restored():
    X, y = _cancer()
    objective = LogisticRegression(C=3.0).get_objective(X, y)
    lp.fit_logistic_path_batched(objective, [0.1, 10.0], [1.0, 2.0])
    assert (objective.loss_weight, objective.alpha) == (3.0, 1.0)


def test_ridge_weights_and_sample_weights_are_per_member_and_shared():
    X, y, _ = make_classification(400, 12, flip=0.1, random_state=3)
    sw = np.random.default_rng(0).uniform(0.0, 2.0, 400)
    sw[:20] = 0.0  # zero-weight samples leave the problem
    objective = mlopt.ConvexLinearClassifier(loss="logistic", penalty="l2").get_objective(X, y, sample_weight=sw)
    lam = np.array([0.5, 2.0, 8.0])
    ridge = np.array([1.0, 0.1, 3.0])  # ½α‖w‖²: C = λ/α in scikit-learn's scaling
    res = lp.fit_logistic_path_batched(objective, lam, ridge)
    assert res.methods == ["newton"] * 3
    for k in range(3):
        _close_to_sklearn(res.coefs[k], res.intercepts[k], _sklearn(lam[k] / ridge[k], X, y, sample_weight=sw),
                          lam[k] / ridge[k])


@pytest.mark.parametrize("device", DEVICES)
def test_batched_newton_equals_one_member_at_a_time(device):
    X, y, _ = make_classification(600, 15, flip=0.15, random_state=1)
    f64 = dict(dtype=torch.float64, device=device)
    Xt, yt = torch.as_tensor(X, **f64), torch.as_tensor(np.where(y > 0, 1.0, -1.0), **f64)
    lam = torch.tensor([0.01, 1.0, 100.0, 3.0], **f64)
    alpha = torch.tensor([1.0, 0.5, 1.0, 2.0], **f64)
    c = lam[:, None] * torch.ones(600, **f64)
    res = newton_logistic_batch(Xt, yt, c, alpha, True)
    assert bool(res.converged.all())
    for k in range(4):
        w, b, F, steps = newton_logistic(Xt, yt, c[k], float(alpha[k]), True)
        assert int(res.steps[k]) == steps  # members run independently: the same steps as alone
        torch.testing.assert_close(res.coefs[k], w, rtol=0, atol=1e-10 * max(1.0, float(w.abs().max())))
        assert float(res.values[k]) == pytest.approx(F, rel=1e-14)


def test_a_member_stopped_by_its_step_limit_leaves_the_others_converged():
    X, y = _cancer()
    f64 = dict(dtype=torch.float64)
    Xt, yt = torch.as_tensor(X, **f64), torch.as_tensor(np.where(y > 0, 1.0, -1.0), **f64)
    c = torch.tensor([1e-3, 1e4], **f64)[:, None] * torch.ones(len(y), **f64)
    res = newton_logistic_batch(Xt, yt, c, torch.ones(2, **f64), True, max_steps=5)
    assert res.converged.tolist() == [True, False]  # C = 1e4 needs more than 5 steps from 0
    assert int(res.steps[1]) == 5 and int(res.steps[0]) <= 5


def test_members_newton_does_not_certify_go_to_the_ipm(monkeypatch):
    X, y = _cancer()
    objective = LogisticRegression().get_objective(X, y)
    monkeypatch.setattr(lp, "NEWTON_MAX_STEPS", 5)  # the large-C members do not converge within 5 steps
    res = lp.fit_logistic_path_batched(objective, [1e-4, 1e3, 1e4], [1.0, 1.0, 1.0])
    assert res.methods[0] == "newton" and res.methods[1:] == ["ipm", "ipm"]
    assert res.statuses == ["solved"] * 3 and np.all(res.relative_gaps <= 1e-8)
    for k, C in enumerate([1e-4, 1e3, 1e4]):
        ref = _sklearn(C, X, y)
        scale = max(1.0, float(np.abs(ref.coef_).max()))
        # the IPM's point is accurate to its gap (1e-8 relative in the objective), not to the rounding floor
        np.testing.assert_allclose(res.coefs[k], ref.coef_.ravel(), rtol=0, atol=1e-4 * scale)
        objective.loss_weight = C
        assert objective.value(res.coefs[k], res.intercepts[k]) == pytest.approx(
            objective.value(ref.coef_.ravel(), ref.intercept_[0]), rel=1e-8)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(5, 40), d=st.integers(1, 6), B=st.integers(1, 4), seed=st.integers(0, 10_000),
       fit_intercept=st.booleans())
def test_shapes_and_optimality_on_random_problems(n, d, B, seed, fit_intercept):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    y[0], y[-1] = -1.0, 1.0
    f64 = dict(dtype=torch.float64)
    c = torch.as_tensor(rng.uniform(0.0, 5.0, (B, n)), **f64)
    alpha = torch.as_tensor(rng.uniform(0.1, 3.0, B), **f64)
    res = newton_logistic_batch(torch.as_tensor(X, **f64), torch.as_tensor(y, **f64), c, alpha, fit_intercept)
    assert res.coefs.shape == (B, d) and res.intercepts.shape == (B,) and res.values.shape == (B,)
    assert bool(res.converged.all())
    if not fit_intercept:
        assert bool((res.intercepts == 0).all())
    # the gradient vanishes at every member's point
    u = -torch.as_tensor(y, **f64) * (res.coefs @ torch.as_tensor(X, **f64).T + res.intercepts[:, None])
    r = c * torch.as_tensor(y, **f64) * torch.sigmoid(u)
    grad_w = alpha[:, None] * res.coefs - r @ torch.as_tensor(X, **f64)
    assert float(grad_w.abs().max()) <= 1e-8 * max(1.0, float(c.sum(dim=1).max()))
    if fit_intercept:
        assert float(r.sum(dim=1).abs().max()) <= 1e-8 * max(1.0, float(c.sum(dim=1).max()))


def test_bad_input_raises_clear_errors():
    X, y = _cancer()
    objective = LogisticRegression().get_objective(X, y)
    with pytest.raises(ValueError, match="loss_weights"):
        lp.fit_logistic_path_batched(objective, [1.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="ridge_weights"):
        lp.fit_logistic_path_batched(objective, [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="ridge_weights"):
        lp.fit_logistic_path_batched(objective, [1.0], [np.inf])
    with pytest.raises(TypeError, match="loss_weights"):
        lp.fit_logistic_path_batched(objective, ["a"], [1.0])
    with pytest.raises(ValueError, match="tol"):
        lp.fit_logistic_path_batched(objective, [1.0], [1.0], tol=0.0)
    with pytest.raises(ValueError, match="max_iter"):
        lp.fit_logistic_path_batched(objective, [1.0], [1.0], max_iter=0)
    with pytest.raises(ValueError, match="chunk_size"):
        lp.fit_logistic_path_batched(objective, [1.0], [1.0], chunk_size=0)
    with pytest.raises(ValueError, match="device"):
        lp.fit_logistic_path_batched(objective, [1.0], [1.0], device="tpu")
    for other in (LinearSVC().get_objective(X, y), LogisticRegression(l1_ratio=0.5).get_objective(X, y),
                  LogisticRegression().get_objective(sp.csr_matrix(X), y)):
        assert not lp.logistic_batched_applicable(other)
        with pytest.raises(ValueError, match="batched logistic path"):
            lp.fit_logistic_path_batched(other, [1.0], [1.0])


def test_chunks_give_the_same_members_and_warm_starts_save_steps():
    X, y = _cancer()
    objective = LogisticRegression().get_objective(X, y)
    whole = lp.fit_logistic_path_batched(objective, CS, np.ones(CS.size), chunk_size=CS.size)  # all from 0
    chunked = lp.fit_logistic_path_batched(objective, CS, np.ones(CS.size), chunk_size=2)
    np.testing.assert_allclose(chunked.coefs, whole.coefs, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(chunked.iterations, whole.iterations)
    # the CPU default: one member at a time, each from the previous one's solution
    warm = lp.fit_logistic_path_batched(objective, CS, np.ones(CS.size))
    assert warm.methods == ["newton"] * CS.size and warm.iterations[0] == whole.iterations[0]
    assert warm.iterations.sum() < whole.iterations.sum()
    scale = np.abs(whole.coefs).max(axis=1, keepdims=True)
    assert np.all(np.abs(warm.coefs - whole.coefs) <= 1e-9 * np.maximum(1.0, scale))


# ----------------------------------------------------------------------------- through the paths and CV
def test_regularization_path_runs_the_logistic_batch():
    X, y = _cancer()
    path = regularization_path(LogisticRegression(solver="mlopt"), X, y, "C", CS)
    assert path.solver == "MLOPT (batched)" and path.statuses == ["optimal"] * CS.size
    for k, C in enumerate(path.values):
        ref = _sklearn(C, X, y)
        _close_to_sklearn(path.coefs[k].ravel(), path.intercepts[k], ref, C)
        assert path.infos[k].relative_gap <= 1e-8 and path.objectives[k] > 0
    # an ℓ₁ part, or options the batch does not know, keep the per-value structured fits
    assert regularization_path(LogisticRegression(solver="mlopt", l1_ratio=0.5), X, y, "C",
                               [0.1, 1.0]).solver == "MLOPT (structured)"
    assert regularization_path(LogisticRegression(solver="mlopt", solver_options={"verbose": False}), X, y, "C",
                               [0.1, 1.0]).solver == "MLOPT (structured)"
    # an unpenalized member (C = inf: no ridge part) keeps the whole path per value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert regularization_path(LogisticRegression(solver="mlopt"), X, y, "C",
                                   [1.0, np.inf]).solver == "MLOPT (structured)"


@pytest.mark.parametrize("scoring", ["accuracy", "neg_log_loss"])
def test_logistic_cv_with_the_batch_matches_sklearn(scoring):
    X, y = _cancer()
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    Cs = np.logspace(-3, 3, 7)
    ours = LogisticRegressionCV(Cs=Cs, cv=cv, scoring=scoring, solver="mlopt").fit(X, y)
    ref = SkLogisticRegressionCV(Cs=Cs, cv=cv, scoring=scoring, l1_ratios=(0.0,), solver="newton-cholesky",
                                 tol=1e-12, max_iter=1000, use_legacy_attributes=False).fit(X, y)
    assert ours.C_ == ref.C_
    np.testing.assert_allclose(ours.scores_, ref.scores_.reshape(4, 7), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-6 * max(1.0, np.abs(ref.coef_).max()))
