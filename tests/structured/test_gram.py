"""Gram form of squared-loss models (ridge, lasso, elastic net): against scikit-learn, CVXPY+Clarabel
and the per-sample structured form on the same objective."""
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import Ridge as SkRidge

from mlopt.estimators import ConvexLinearRegressor, ElasticNet, Lasso, Ridge
from mlopt.losses import SquaredLoss
from mlopt.objective import Objective
from mlopt.penalties import NoPenalty
from mlopt.structured import fit_objective
from mlopt.structured.gram import assemble_gram, gram_applicable


def _data(n=300, d=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n) + 2.0


def test_ridge_closed_form_matches_sklearn_with_weights_and_sparse_input():
    X, y = _data()
    w = np.random.default_rng(1).uniform(0, 2, X.shape[0])
    w[:7] = 0.0
    est = Ridge(alpha=3.0)
    obj = est.get_objective(sp.csr_matrix(X), y, sample_weight=w)
    coef, b, info = fit_objective(obj)
    assert info["form"] == "gram" and info["kkt_solver"] == "cholesky" and info["status"] == "solved"
    ref = SkRidge(alpha=3.0, solver="cholesky").fit(X, y, sample_weight=w * obj.loss_weight / obj.loss_weight)
    # mlopt's Ridge objective: loss_weight·½Σsᵢrᵢ² + α·½‖w‖² — compare against sklearn only via f
    f = obj.value(coef, b)
    assert abs(info["primal_objective"] - f) <= 1e-10 * abs(f)
    g_ref = obj.value(ref.coef_, ref.intercept_)
    assert f <= g_ref + 1e-10 * abs(g_ref)
    # exact first-order conditions of ½Σcᵢ(yᵢ − xᵢᵀw − b)² + α₂/2‖w‖²
    c = obj.loss_weight * w
    r = y - X @ coef - b
    a1, a2 = obj.penalty_weights
    np.testing.assert_allclose(X.T @ (c * r), a2 * coef, atol=1e-9 * np.abs(X.T @ (c * y)).max())
    assert abs(c @ r) <= 1e-9 * abs(c @ y)


def test_ridge_equals_sklearn_default_weights():
    X, y = _data(400, 9, seed=2)
    obj = Ridge(alpha=2.0).get_objective(X, y)
    coef, b, _ = fit_objective(obj)
    a1, a2 = obj.penalty_weights
    ref = SkRidge(alpha=a2 / obj.loss_weight).fit(X, y)
    np.testing.assert_allclose(coef, ref.coef_, atol=1e-9)
    assert abs(float(b) - ref.intercept_) < 1e-9


@pytest.mark.parametrize("make", [lambda: Lasso(alpha=0.05), lambda: ElasticNet(alpha=0.05, l1_ratio=0.4),
                                  lambda: Lasso(alpha=0.02, positive=True),
                                  lambda: ConvexLinearRegressor(penalty="l2", alpha=0.1, bounds=(-0.2, 0.3))],
                         ids=["lasso", "elasticnet", "lasso_positive", "bounded_ridge"])
def test_gram_matches_samples_form_and_clarabel(make):
    X, y = _data(250, 10, seed=3)
    X[:, :3] *= np.array([0.1, 5.0, 30.0])  # unequal column scales
    est = make()
    obj = est.get_objective(X, y)
    coef_g, b_g, info_g = fit_objective(obj, form="gram")
    coef_s, b_s, info_s = fit_objective(obj, form="samples")
    assert info_g["form"] == "gram" and info_s["form"] == "samples"
    assert info_g["status"] == "solved" and info_g["iterations"] > 0
    ref = est.get_problem(X, y)
    ref.problem.solve(solver="CLARABEL")
    f_ref = obj.value(np.asarray(ref.coef.value), np.asarray(ref.intercept.value))
    for info in (info_g, info_s):
        assert abs(info["objective"] - f_ref) <= 1e-6 * max(1.0, abs(f_ref))
    # the constant ½Σcᵢyᵢ² is added back: the IPM's objective is f itself
    assert abs(info_g["primal_objective"] - f_ref) <= 1e-6 * max(1.0, abs(f_ref))
    np.testing.assert_allclose(coef_g, ref.coef.value, atol=1e-6)
    np.testing.assert_allclose(coef_g, coef_s, atol=1e-6)
    assert abs(float(b_g) - float(ref.intercept.value)) < 1e-6


def test_singular_gram_least_squares():
    X, y = _data(60, 4, seed=4)
    X = np.column_stack([X, X[:, 0]])  # duplicated column: Gram matrix singular, no penalty
    obj = Objective(X, y, SquaredLoss(), NoPenalty(), alpha=0.0, fit_intercept=False)
    coef, b, info = fit_objective(obj)
    assert info["form"] == "gram"
    w_ls = np.linalg.lstsq(X, y, rcond=None)[0]
    f_ls = obj.value(w_ls, 0.0)
    assert abs(info["objective"] - f_ls) <= 1e-9 * abs(f_ls)
    np.testing.assert_allclose(coef, w_ls, atol=1e-7)  # minimum-norm solution


def test_auto_form_choice_and_bad_form():
    X, y = _data(30, 5)
    assert gram_applicable(Lasso(alpha=0.1).get_objective(X, y))
    assert not gram_applicable(Lasso(alpha=0.1).get_objective(X[:4], y[:4]))  # d > n: per-sample form
    assert not gram_applicable(ConvexLinearRegressor(loss="absolute").get_objective(X, y))
    with pytest.raises(ValueError, match="form"):
        fit_objective(Ridge().get_objective(X, y), form="normal")
    with pytest.raises(ValueError, match="squared loss"):
        assemble_gram(ConvexLinearRegressor(loss="absolute").get_objective(X, y))
    # an explicit structured backend keeps the per-sample form
    _, _, info = fit_objective(Lasso(alpha=0.1).get_objective(X, y), kkt_solver="structured")
    assert info["form"] == "samples"


def test_gram_gap_is_relative_to_the_model_objective():
    """The Gram form drops ½Σcᵢyᵢ² (here ~50× the lasso optimum): the IPM's relative gap must
    still be relative to the model's objective, so the optimum is 1e-8-accurate, not 1e-8·50."""
    from sklearn.linear_model import Lasso as SkLasso

    rng = np.random.default_rng(3)
    n, d = 2000, 60
    X = rng.standard_normal((n, d))
    w = np.zeros(d)
    w[:8] = 3 * rng.standard_normal(8)
    y = X @ w + 0.3 * rng.standard_normal(n)
    obj = Lasso(alpha=0.01).get_objective(X, y)
    coef, b, info = fit_objective(obj)
    assert info["form"] == "gram" and info["status"] == "solved"
    ref = SkLasso(alpha=0.01, tol=1e-14, max_iter=100000).fit(X, y)
    f_ref = obj.value(ref.coef_, ref.intercept_)
    const = 0.5 * np.mean(y ** 2)
    assert const > 20 * f_ref  # the dropped constant dominates the objective
    assert abs(info["objective"] - f_ref) <= 1e-8 * f_ref
    assert abs(info["primal_objective"] - info["objective"]) <= 1e-8 * f_ref
    assert info["gap"] <= 1e-8 and info["gap_abs"] <= 1e-8 * max(1.0, f_ref)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_wide_ridge_kernel_form_matches_sklearn(fit_intercept):
    """d > n ridge: the n×n kernel form (push-through identity, weighted centring for the intercept)."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((60, 700))
    y = X[:, :5] @ rng.standard_normal(5) + 0.1 * rng.standard_normal(60) + 2.0
    sw = rng.uniform(0.5, 2.0, 60)
    est = Ridge(alpha=3.0, fit_intercept=fit_intercept)
    obj = est.get_objective(X, y, sample_weight=sw)
    coef, b, info = fit_objective(obj)
    assert info["form"] == "kernel" and info["status"] == "solved" and info["dual_residual"] < 1e-10
    ref = SkRidge(alpha=3.0, fit_intercept=fit_intercept, solver="cholesky", tol=1e-12).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(coef, ref.coef_, rtol=1e-8, atol=1e-10)
    assert abs(float(b) - float(ref.intercept_)) <= 1e-8 * max(1.0, abs(ref.intercept_))
    # the same problem through the d×d system (samples form, IPM backend) agrees
    coef_s, b_s, info_s = fit_objective(obj, form="samples")
    assert abs(info["objective"] - info_s["objective"]) <= 1e-9 * info_s["objective"]
