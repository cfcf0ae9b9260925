"""Regularization paths and cross-validated estimators against scikit-learn and per-value fits."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.linear_model as sk
from cvxpy.reductions.solvers.solving_chain import SolvingChain
from sklearn.datasets import load_breast_cancer, load_diabetes, make_classification
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import mlopt
from mlopt.estimators.cv import ElasticNetCV, LassoCV, LogisticRegressionCV, RidgeCV
from mlopt.paths import alpha_grid, lasso_path, regularization_path


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# ----------------------------------------------------------------------------- paths
@pytest.mark.parametrize("estimator, param, values", [
    (mlopt.Lasso(), "alpha", [0.5, 0.05, 5.0]),
    (mlopt.Ridge(), "alpha", [10.0, 0.1]),            # objective α is 2·alpha: the mapping is the model's
    (mlopt.ElasticNet(l1_ratio=0.3), "alpha", [0.2, 2.0]),
    (mlopt.ElasticNet(alpha=0.3), "l1_ratio", [0.1, 0.9]),
    (mlopt.LogisticRegression(), "C", [0.01, 1.0, 0.1]),   # C → loss_weight
    (mlopt.LinearSVC(), "C", [0.05, 0.5]),
    (mlopt.Lasso(solver="mlopt"), "alpha", [0.5, 0.05]),   # structured assembly per value
    (mlopt.LogisticRegression(solver="mlopt"), "C", [0.1, 1.0]),
], ids=lambda p: type(p).__name__ + (f"[{p.solver}]" if hasattr(p, "solver") else "") if hasattr(p, "fit") else str(p))
def test_path_equals_independent_fits(estimator, param, values):
    X, y = make_classification(n_samples=120, n_features=8, n_informative=4, flip_y=0.15, class_sep=0.7,
                               random_state=0)
    if not hasattr(estimator, "predict_proba") and type(estimator).__name__ != "LinearSVC":
        y = X @ np.linspace(-2, 2, 8) + 0.3 * np.random.default_rng(0).normal(size=120)
    path = regularization_path(estimator, X, y, param, values)
    strong_first = sorted(values, reverse=(param == "alpha"))
    if param != "l1_ratio":
        np.testing.assert_array_equal(path.values, strong_first)
    assert path.coefs.shape[0] == len(values) and set(path.statuses) == {"optimal"}
    assert not hasattr(estimator, "coef_")  # the estimator passed in is untouched
    for k, v in enumerate(path.values):
        ref = mlopt.__dict__[type(estimator).__name__](**{**estimator.get_params(), param: v}).fit(X, y)
        np.testing.assert_allclose(path.coefs[k], ref.coef_, atol=1e-6, rtol=0)
        np.testing.assert_allclose(path.intercepts[k], ref.intercept_, atol=1e-6, rtol=0)
        assert path.objectives[k] == pytest.approx(ref.solution_.objective, rel=1e-6)


def test_lasso_path_matches_sklearn(diabetes):
    X, y = diabetes
    path = lasso_path(X, y, n_alphas=30)
    alphas, coefs, _ = sk.lasso_path(X, y - y.mean(), alphas=path.values, tol=1e-14, max_iter=1_000_000)
    np.testing.assert_allclose(path.values, alpha_grid(X, y, n_alphas=30))
    # the grid starts at α_max, the smallest α with w = 0 (an IPM gets w ≈ 0 at the kink)
    assert np.all(coefs[:, 0] == 0) and np.all(coefs[:, 1:].any(axis=0))
    for k in range(30):
        scale = np.abs(coefs[:, k]).max() if k else np.abs(coefs).max()
        np.testing.assert_allclose(path.coefs[k], coefs[:, k], rtol=0, atol=1e-4 * scale)
    np.testing.assert_allclose(path.intercepts, y.mean(), rtol=1e-8)


def test_path_canonicalizes_once(diabetes, monkeypatch):
    X, y = diabetes
    calls = []
    original = SolvingChain.apply

    def counting(self, problem, verbose=False):
        calls.append(1)
        return original(self, problem, verbose)

    monkeypatch.setattr(SolvingChain, "apply", counting)
    alphas = np.geomspace(2.0, 0.02, 6)
    path = regularization_path(mlopt.Lasso(), X, y, "alpha", alphas)
    assert len(calls) == 1  # one canonicalization; the other 5 solves reuse CVXPY's parameter map
    for a in alphas:
        mlopt.Lasso(alpha=a).fit(X, y)
    assert len(calls) == 1 + len(alphas)  # each independent fit canonicalizes again
    # solver="mlopt" through CVXPY (group lasso is not in the structured assembly): still once
    calls.clear()
    est = mlopt.ConvexLinearRegressor(penalty="group", groups=[0, 0, 1, 1, 2, 2, 3, 3, 4, 4], solver="mlopt")
    regularization_path(est, X, y, "alpha", [1.0, 0.1, 0.01])
    assert len(calls) == 1
    assert path.times[0] > 0 and np.all(path.iterations > 0)


# ----------------------------------------------------------------------------- CV vs scikit-learn
def test_lasso_cv_matches_sklearn(diabetes):
    X, y = diabetes
    cv = KFold(5, shuffle=True, random_state=0)
    ours = LassoCV(alphas=25, cv=cv).fit(X, y)
    ref = sk.LassoCV(alphas=ours.alphas_, cv=cv, tol=1e-12, max_iter=1_000_000).fit(X, y)
    np.testing.assert_allclose(ours.alphas_, ref.alphas_, rtol=1e-12)
    assert ours.alpha_ == ref.alpha_
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-4)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-4 * np.abs(ref.coef_).max())
    assert ours.intercept_ == pytest.approx(ref.intercept_, rel=1e-4)
    assert ours.coefs_paths_.shape == (5, 25, X.shape[1])


def test_elastic_net_and_ridge_cv_match_sklearn(diabetes):
    X, y = diabetes
    cv = KFold(4, shuffle=True, random_state=1)
    ours = ElasticNetCV(l1_ratio=[0.2, 0.7], alphas=8, cv=cv).fit(X, y)
    ref = sk.ElasticNetCV(l1_ratio=[0.2, 0.7], alphas=8, cv=cv, tol=1e-12, max_iter=1_000_000).fit(X, y)
    np.testing.assert_allclose(ours.alphas_, ref.alphas_, rtol=1e-12)
    assert (ours.alpha_, ours.l1_ratio_) == (ref.alpha_, ref.l1_ratio_)
    assert ours.mse_path_.shape == (2, 8, 4)
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-4)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-4 * np.abs(ref.coef_).max())
    alphas = [0.01, 1.0, 30.0, 300.0]
    ridge = RidgeCV(alphas=alphas, cv=cv).fit(X, y)
    ref_r = sk.RidgeCV(alphas=alphas, cv=cv, scoring="neg_mean_squared_error").fit(X, y)
    assert ridge.alpha_ == ref_r.alpha_
    np.testing.assert_allclose(ridge.coef_, ref_r.coef_, rtol=1e-6)


@pytest.mark.parametrize("scoring", ["accuracy", "neg_log_loss"])
def test_logistic_cv_matches_sklearn(cancer, scoring):
    X, y = cancer
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    Cs = np.logspace(-3, 2, 7)
    ours = LogisticRegressionCV(Cs=Cs, cv=cv, scoring=scoring).fit(X, y)
    ref = sk.LogisticRegressionCV(Cs=Cs, cv=cv, scoring=scoring, l1_ratios=(0.0,), tol=1e-10, max_iter=10_000,
                                  use_legacy_attributes=False).fit(X, y)
    assert ours.C_ == ref.C_
    assert ours.scores_.shape == (4, 7)
    np.testing.assert_allclose(ours.scores_, ref.scores_.reshape(4, 7), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-4 * np.abs(ref.coef_).max())
    np.testing.assert_array_equal(ours.classes_, [0, 1])
    assert ours.score(X, y) == pytest.approx(ref.score(X, y))


# ----------------------------------------------------------------------------- bad input
def test_bad_grids_and_cv_raise(diabetes):
    X, y = diabetes[0][:60], diabetes[1][:60]
    with pytest.raises(ValueError, match="values"):
        regularization_path(mlopt.Lasso(), X, y, "alpha", [0.1, -1.0])
    with pytest.raises(ValueError, match="values"):
        regularization_path(mlopt.Lasso(), X, y, "alpha", [])
    with pytest.raises(ValueError, match="param='gamma'"):
        regularization_path(mlopt.Lasso(), X, y, "gamma", [1.0])
    with pytest.raises(ValueError, match="param='C'"):
        regularization_path(mlopt.Lasso(), X, y, "C", [1.0])
    with pytest.raises(ValueError, match="values: C"):
        regularization_path(mlopt.LogisticRegression(), X, y > y.mean(), "C", [0.0, 1.0])
    with pytest.raises(ValueError, match="alphas"):
        LassoCV(alphas=[0.1, -0.5]).fit(X, y)
    with pytest.raises(ValueError, match="alphas"):
        LassoCV(alphas=[]).fit(X, y)
    with pytest.raises(ValueError, match="alphas"):
        LassoCV(alphas=0).fit(X, y)
    with pytest.raises(ValueError, match="'cv' parameter"):
        LassoCV(cv=1).fit(X, y)
    with pytest.raises(ValueError, match="'cv' parameter"):
        LogisticRegressionCV(cv=0).fit(X, y > y.mean())
    with pytest.raises(ValueError, match="Cs"):
        LogisticRegressionCV(Cs=[1.0, 0.0]).fit(X, y > y.mean())
    with pytest.raises(ValueError, match="l1_ratio"):
        ElasticNetCV(l1_ratio=[0.5, 1.5]).fit(X, y)
    with pytest.raises(ValueError, match="l1_ratio=0"):
        ElasticNetCV(l1_ratio=0.0, alphas=3).fit(X, y)
    with pytest.raises(ValueError, match="class"):
        LogisticRegressionCV(Cs=2, cv=2).fit(X, np.zeros(60))


# ----------------------------------------------------------------------------- scikit-learn contract
# Small grids keep scikit-learn's ~50 fits per estimator fast.  LogisticRegressionCV
# shares LogisticRegression's documented exception (tests/test_estimators_api.py):
# repeated rows vs integer weights agree to the IPM's ~1e-6 on exponential-cone fits,
# not the check's rtol=1e-7.
_WEIGHTS = "IPM accuracy on exponential-cone fits (~1e-6) is below the check's rtol=1e-7, as for LogisticRegression"
CV_ESTIMATORS = [LassoCV(alphas=3, cv=3), ElasticNetCV(alphas=3, cv=3), RidgeCV(cv=3), LogisticRegressionCV(Cs=2, cv=2)]
EXPECTED = {"LogisticRegressionCV": {"check_sample_weight_equivalence_on_dense_data": _WEIGHTS,
                                     "check_sample_weight_equivalence_on_sparse_data": _WEIGHTS}}


@pytest.mark.parametrize("estimator", CV_ESTIMATORS, ids=lambda e: type(e).__name__)
def test_check_estimator(estimator):
    name = type(estimator).__name__
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, expected_failed_checks=EXPECTED.get(name, {}), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert not failed, failed
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {"check_sample_weights_pandas_series", "check_array_api_input",
                       "check_regressor_data_not_an_array", "check_classifier_data_not_an_array"}, skipped


@pytest.mark.parametrize("make", [lambda j: LogisticRegressionCV(Cs=3, cv=3, solver="mlopt", n_jobs=j),
                                  lambda j: LassoCV(alphas=4, cv=3, solver="mlopt", n_jobs=j)],
                         ids=["logistic", "lasso"])
def test_n_jobs_runs_the_folds_in_workers_with_the_same_results(make):
    """n_jobs=2: the (grid, fold) paths in two joblib worker processes give the same numbers."""
    from sklearn.datasets import load_breast_cancer, load_diabetes
    from sklearn.preprocessing import StandardScaler

    is_logistic = isinstance(make(None), LogisticRegressionCV)
    X, y = load_breast_cancer(return_X_y=True) if is_logistic else load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    one, two = make(None).fit(X, y), make(2).fit(X, y)
    np.testing.assert_allclose(two.coefs_paths_, one.coefs_paths_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(two.coef_, one.coef_, rtol=0, atol=1e-12)
    if is_logistic:
        np.testing.assert_array_equal(two.scores_, one.scores_)
        assert two.C_ == one.C_
    else:
        np.testing.assert_allclose(two.mse_path_, one.mse_path_, rtol=1e-13)
        assert two.alpha_ == one.alpha_
