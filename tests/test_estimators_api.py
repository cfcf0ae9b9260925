"""The estimator contract: scikit-learn's checks, composition, bad input, solver failure."""
from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import mlopt
from mlopt.solve import SolveError, solve_problem

ALL_ESTIMATORS = [
    mlopt.Ridge(), mlopt.Lasso(), mlopt.ElasticNet(), mlopt.LogisticRegression(), mlopt.LinearSVC(),
    mlopt.HuberRegressor(), mlopt.QuantileRegressor(), mlopt.ConvexLinearRegressor(), mlopt.ConvexLinearClassifier(),
]

# Documented exceptions to scikit-learn's common checks.  Both compare fits with
# integer sample weights against fits on repeated rows at rtol=1e-7; an interior-
# point solver stops at a 1e-8 relative duality gap, which bounds the objective
# error but leaves coefficients of exponential-cone fits (logistic) accurate to
# ~1e-6, and the LP of quantile regression can have several optimal vertices.
# With solver_options tightened to 1e-12 the quantile and generic classifier
# versions pass; logistic stays at ~1e-6 (checked by hand, see the closing note).
_WEIGHT_EQUIVALENCE = {
    "check_sample_weight_equivalence_on_dense_data": "IPM accuracy (1e-8 gap) is below the check's rtol=1e-7 on coefficients",
    "check_sample_weight_equivalence_on_sparse_data": "IPM accuracy (1e-8 gap) is below the check's rtol=1e-7 on coefficients",
}
EXPECTED_FAILURES = {
    "LogisticRegression": _WEIGHT_EQUIVALENCE,
    "QuantileRegressor": _WEIGHT_EQUIVALENCE,
    "ConvexLinearClassifier": _WEIGHT_EQUIVALENCE,
}


@pytest.mark.parametrize("estimator", ALL_ESTIMATORS, ids=lambda e: type(e).__name__)
def test_check_estimator(estimator):
    name = type(estimator).__name__
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, expected_failed_checks=EXPECTED_FAILURES.get(name, {}), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert not failed, failed
    # only checks that need pandas or the array API are skipped (neither is installed)
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {"check_sample_weights_pandas_series", "check_array_api_input",
                       "check_regressor_data_not_an_array", "check_classifier_data_not_an_array",
                       "check_dataframe_column_names_consistency", "check_n_features_in_after_fitting",
                       "check_pandas_series"}, skipped


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_pipeline_grid_search_and_clone(diabetes):
    X, y = diabetes
    pipe = make_pipeline(StandardScaler(), mlopt.Lasso())
    grid = GridSearchCV(pipe, {"lasso__alpha": [0.01, 0.5, 5.0]}, cv=3).fit(X, y)
    assert grid.best_params_["lasso__alpha"] in (0.01, 0.5, 5.0)
    assert grid.best_score_ > 0.4
    est = mlopt.ElasticNet(alpha=0.2, l1_ratio=0.7, solver="ecos")
    twin = clone(est)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "coef_")


def test_solution_reports_certified_gap(cancer):
    X, y = cancer
    est = mlopt.LogisticRegression(C=1.0).fit(X, y)
    info = est.solution_
    assert info.solver == "CLARABEL" and info.status == "optimal"
    assert info.iterations == est.n_iter_ and info.iterations > 0
    assert info.relative_gap < 1e-7 and info.primal_residual < 1e-6 and info.dual_residual < 1e-6
    assert info.solve_time > 0 and info.wall_time >= info.solve_time
    # the objective CVXPY reports is the model's objective at the returned coefficients
    obj = est.get_objective(X, y)
    assert abs(obj.value(est.coef_.ravel(), est.intercept_[0]) - info.objective) < 1e-8 * info.objective


def test_problem_is_dpp_and_reuses_canonicalization(diabetes):
    X, y = diabetes
    X = StandardScaler().fit_transform(X)
    problem = mlopt.Lasso(alpha=1.0).get_problem(X, y)
    assert problem.problem.is_dpp()
    solve_problem(problem.problem)
    first = problem.coef.value.copy()
    problem.set_hyperparameters(alpha=0.01)
    solve_problem(problem.problem)
    assert np.count_nonzero(np.abs(problem.coef.value) > 1e-6) > np.count_nonzero(np.abs(first) > 1e-6)
    ref = mlopt.Lasso(alpha=0.01).fit(X, y)
    np.testing.assert_allclose(problem.coef.value, ref.coef_, atol=1e-5)
    with pytest.raises(TypeError, match="unknown hyperparameters"):
        problem.set_hyperparameters(gamma=1.0)


def test_conic_form_lists_cones(cancer):
    X, y = cancer
    n, d = X.shape
    form = mlopt.LogisticRegression().conic_form(X, y)
    assert form.cones["exponential"] == [3] * (2 * n)  # log(1 + e^u) uses two exponential cones
    assert "exponential" in str(form)
    svm = mlopt.LinearSVC().conic_form(X, y)
    assert not svm.cones["exponential"] and svm.cones["nonnegative"]
    assert svm.n_variables >= n + d


def test_group_lasso_zeroes_whole_groups():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 6))
    y = X[:, :2] @ np.array([2.0, -1.0]) + 0.01 * rng.standard_normal(120)
    groups = [[0, 1], [2, 3], [4, 5]]
    est = mlopt.ConvexLinearRegressor(penalty="group", groups=groups, alpha=0.05).fit(X, y)
    assert np.all(np.abs(est.coef_[2:]) < 1e-6)
    assert np.all(np.abs(est.coef_[:2]) > 0.5)
    # KKT for a zero group g: ‖X_gᵀ r‖/n ≤ α√|g|; for the active group the equality holds
    r = y - est.predict(X)
    grad = X.T @ r / len(y)
    assert np.linalg.norm(grad[2:4]) <= 0.05 * np.sqrt(2) + 1e-6
    assert abs(np.linalg.norm(grad[:2]) - 0.05 * np.sqrt(2)) < 1e-5


def test_bounded_least_squares_matches_scipy():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 5))
    y = X @ np.array([3.0, -2.0, 0.5, 0.1, -0.7]) + 0.1 * rng.standard_normal(80)
    est = mlopt.ConvexLinearRegressor(penalty="none", bounds=(-1.0, 1.0), fit_intercept=False).fit(X, y)
    ref = scipy.optimize.lsq_linear(X, y, bounds=(-1.0, 1.0), lsmr_tol="auto", tol=1e-14)
    np.testing.assert_allclose(est.coef_, ref.x, atol=1e-6)


def test_sparse_input_matches_dense(cancer):
    X, y = cancer
    dense = mlopt.LinearSVC(C=0.3).fit(X, y)
    sparse = mlopt.LinearSVC(C=0.3).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, atol=1e-6)


# --------------------------------------------------------------------------- bad input
X_OK = np.random.default_rng(0).standard_normal((30, 3))
Y_OK = X_OK @ np.array([1.0, -1.0, 0.5])


@pytest.mark.parametrize("make, match", [
    (lambda: mlopt.Ridge(alpha=-1.0), "alpha"),
    (lambda: mlopt.Lasso(alpha="big"), "alpha"),
    (lambda: mlopt.LogisticRegression(C=0.0), "'C'"),
    (lambda: mlopt.LinearSVC(C=-2), "'C'"),
    (lambda: mlopt.ElasticNet(l1_ratio=1.5), "l1_ratio"),
    (lambda: mlopt.ConvexLinearRegressor(loss="cubic"), "loss"),
    (lambda: mlopt.ConvexLinearRegressor(penalty="l3"), "penalty"),
    (lambda: mlopt.ConvexLinearRegressor(penalty="group"), "groups"),
    (lambda: mlopt.ConvexLinearRegressor(bounds=(2.0, 1.0)), "bounds"),
    (lambda: mlopt.Ridge(solver="no_such_solver"), "solver"),
    (lambda: mlopt.QuantileRegressor(quantile=1.0), "quantile"),
    (lambda: mlopt.HuberRegressor(solver="lbfgs"), "solver"),
])
def test_bad_hyperparameters_raise_naming_the_argument(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make().fit(X_OK, Y_OK)


@pytest.mark.parametrize("X, y, match", [
    (np.array([[1.0, np.nan], [2.0, 3.0]]), np.array([1.0, 2.0]), "NaN"),
    (np.array([[1.0, np.inf], [2.0, 3.0]]), np.array([1.0, 2.0]), "infinity"),
    (X_OK, np.where(np.arange(30) == 3, np.nan, Y_OK), "NaN"),
    (X_OK, Y_OK[:10], "inconsistent numbers of samples"),
    (X_OK[:, 0], Y_OK, "2D array"),
    (np.zeros((0, 3)), np.zeros(0), "0 sample"),
    (np.array([["a", "b"], ["c", "d"]]), np.array([1.0, 2.0]), "could not convert|dtype"),
])
def test_bad_data_raises(X, y, match):
    with pytest.raises(ValueError, match=match):
        mlopt.Ridge().fit(X, y)


def test_single_class_raises():
    with pytest.raises(ValueError, match="class"):
        mlopt.LogisticRegression().fit(X_OK, np.ones(30))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(3, 12), d=st.integers(1, 4), bad=st.sampled_from([np.nan, np.inf, -np.inf]),
       where=st.sampled_from(["X", "y"]), seed=st.integers(0, 1000))
def test_nonfinite_anywhere_is_rejected(n, d, bad, where, seed):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    if where == "X":
        X[rng.integers(n), rng.integers(d)] = bad
    else:
        y[rng.integers(n)] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        mlopt.Lasso(alpha=0.1).fit(X, y)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(4, 25), d=st.integers(1, 5), seed=st.integers(0, 1000))
def test_shapes_of_fitted_attributes(n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (X[:, 0] + 0.3 * rng.standard_normal(n) > 0).astype(int)
    y[:2] = [0, 1]
    clf = mlopt.LinearSVC(C=1.0).fit(X, y)
    assert clf.coef_.shape == (1, d) and clf.intercept_.shape == (1,)
    assert clf.decision_function(X).shape == (n,) and clf.predict(X).shape == (n,)
    reg = mlopt.Ridge(alpha=1.0).fit(X, X @ np.arange(1.0, d + 1))
    assert reg.coef_.shape == (d,) and np.isscalar(reg.intercept_) and reg.n_features_in_ == d


# --------------------------------------------------------------------------- solver failure
def test_iteration_limit_warns_with_status():
    X, y = load_diabetes(return_X_y=True)
    with pytest.warns(ConvergenceWarning, match="user_limit"):
        est = mlopt.Lasso(alpha=0.1, solver_options={"max_iter": 2}).fit(X, y)
    assert est.solution_.status == "user_limit"


def test_infeasible_problem_raises_with_status():
    x = cp.Variable(2)
    problem = cp.Problem(cp.Minimize(cp.sum(x)), [x >= 1, x <= 0])
    with pytest.raises(SolveError) as info:
        solve_problem(problem)
    assert info.value.status == cp.INFEASIBLE
    unbounded = cp.Problem(cp.Minimize(cp.sum(x)), [x <= 0])
    with pytest.raises(SolveError) as info:
        solve_problem(unbounded, solver="ecos")
    assert info.value.status == cp.UNBOUNDED
