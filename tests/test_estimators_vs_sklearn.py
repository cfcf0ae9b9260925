"""mlopt's estimators against their scikit-learn namesakes.

Objective values to 1e-6 relative and coefficients to 1e-4 relative (references
run at tight tolerance), on two bundled real data sets and one generated one,
with Clarabel; ECOS and SCS on a subset, SCS to its own (first-order) accuracy.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.linear_model as sklm
import sklearn.svm as sksvm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import mlopt
from mlopt.datasets import make_classification, make_regression


def _std(X):
    return StandardScaler().fit_transform(X)


def regression_data(name):
    if name == "diabetes":
        X, y = load_diabetes(return_X_y=True)
        return _std(X), y
    if name == "wine_alcohol":  # real data: predict alcohol content from the other 12 measurements
        X = load_wine().data
        return _std(X[:, 1:]), X[:, 0]
    X, y, _ = make_regression(200, 8, noise=0.5, random_state=1)
    return X, y


def classification_data(name):
    if name == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
        return _std(X), y
    if name == "iris_versicolor":  # binary, not separable: versicolor vs the rest
        X, y = load_iris(return_X_y=True)
        return _std(X), (y == 1).astype(int)
    if name == "wine":
        X, y = load_wine(return_X_y=True)
        return _std(X), y
    X, y, _ = make_classification(300, 6, flip=0.1, random_state=2)
    return X, y


# (mlopt estimator, scikit-learn reference at tight tolerance)
REGRESSORS = {
    "ridge": (lambda: mlopt.Ridge(alpha=3.0), lambda: sklm.Ridge(alpha=3.0, solver="cholesky")),
    "lasso": (lambda: mlopt.Lasso(alpha=0.05), lambda: sklm.Lasso(alpha=0.05, tol=1e-14, max_iter=10**6)),
    "elastic_net": (lambda: mlopt.ElasticNet(alpha=0.05, l1_ratio=0.3),
                    lambda: sklm.ElasticNet(alpha=0.05, l1_ratio=0.3, tol=1e-14, max_iter=10**6)),
    "huber": (lambda: mlopt.HuberRegressor(epsilon=1.35, alpha=1e-2),
              lambda: sklm.HuberRegressor(epsilon=1.35, alpha=1e-2, tol=1e-14, max_iter=10**5)),
    "quantile": (lambda: mlopt.QuantileRegressor(quantile=0.7, alpha=0.01),
                 lambda: sklm.QuantileRegressor(quantile=0.7, alpha=0.01)),
}
CLASSIFIERS = {
    "logistic": (lambda: mlopt.LogisticRegression(C=0.5),
                 lambda: sklm.LogisticRegression(C=0.5, solver="newton-cholesky", tol=1e-12, max_iter=1000)),
    "svm": (lambda: mlopt.LinearSVC(C=0.1), lambda: sksvm.SVC(kernel="linear", C=0.1, tol=1e-10)),
}


def _objective_value(est, X, y, coef, intercept, scale=None):
    obj = est.get_objective(X, y)
    if scale is not None:
        return obj.scaled_value(coef, intercept, scale)
    coef = np.asarray(coef)
    if coef.ndim == 2:
        coef = coef.ravel() if coef.shape[0] == 1 else coef.T
    intercept = np.asarray(intercept, dtype=float)
    return obj.value(coef, intercept.item() if intercept.size == 1 else intercept)


def _assert_agrees(ours, ref, X, y, coef_rtol=1e-4, obj_rtol=1e-6):
    scale_ours = getattr(ours, "scale_", None)
    scale_ref = getattr(ref, "scale_", None)
    f_ours = _objective_value(ours, X, y, ours.coef_, ours.intercept_, scale_ours)
    f_ref = _objective_value(ours, X, y, ref.coef_, ref.intercept_, scale_ref)
    assert abs(f_ours - f_ref) <= obj_rtol * abs(f_ref), (f_ours, f_ref)
    assert f_ours <= f_ref * (1 + obj_rtol) + 1e-12
    scale = np.max(np.abs(ref.coef_))
    assert np.max(np.abs(np.asarray(ours.coef_) - ref.coef_)) <= coef_rtol * scale
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-3, atol=1e-3 * np.std(y))


@pytest.mark.parametrize("dataset", ["diabetes", "wine_alcohol", "synthetic"])
@pytest.mark.parametrize("model", sorted(REGRESSORS))
def test_regressor_matches_sklearn_clarabel(model, dataset):
    X, y = regression_data(dataset)
    make_ours, make_ref = REGRESSORS[model]
    ours, ref = make_ours().fit(X, y), make_ref().fit(X, y)
    assert ours.solution_.status == "optimal"
    assert ours.solution_.relative_gap < 1e-7
    _assert_agrees(ours, ref, X, y)


@pytest.mark.parametrize("dataset", ["breast_cancer", "iris_versicolor", "synthetic"])
@pytest.mark.parametrize("model", sorted(CLASSIFIERS))
def test_binary_classifier_matches_sklearn_clarabel(model, dataset):
    X, y = classification_data(dataset)
    make_ours, make_ref = CLASSIFIERS[model]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = make_ref().fit(X, y)
    ours = make_ours().fit(X, y)
    assert ours.solution_.status == "optimal"
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    _assert_agrees(ours, ref, X, y)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("dataset", ["wine", "iris"])
def test_multinomial_logistic_matches_sklearn(dataset):
    if dataset == "iris":
        X, y = load_iris(return_X_y=True)
        X = _std(X)
    else:
        X, y = classification_data("wine")
    ours = mlopt.LogisticRegression(C=0.5).fit(X, y)
    ref = sklm.LogisticRegression(C=0.5, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X, y)
    assert ours.coef_.shape == ref.coef_.shape == (3, X.shape[1])
    f_ours = _objective_value(ours, X, y, ours.coef_, ours.intercept_)
    f_ref = _objective_value(ours, X, y, ref.coef_, ref.intercept_)
    assert abs(f_ours - f_ref) <= 1e-6 * f_ref
    assert np.max(np.abs(ours.coef_ - ref.coef_)) <= 1e-4 * np.max(np.abs(ref.coef_))
    np.testing.assert_allclose(ours.intercept_, ref.intercept_ - ref.intercept_.mean(), atol=1e-4)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)
    np.testing.assert_allclose(ours.predict_proba(X).sum(axis=1), 1.0, atol=1e-12)


# (model, factories, data, SCS coefficient tolerance): SCS is a first-order (ADMM)
# method, so it is held to its own accuracy; ECOS to the same bounds as Clarabel.
_OTHER_SOLVER_CASES = ([(m, REGRESSORS[m], lambda: regression_data("wine_alcohol"), 2e-3) for m in sorted(REGRESSORS)]
                       + [(m, CLASSIFIERS[m], lambda: classification_data("breast_cancer"), 5e-3) for m in sorted(CLASSIFIERS)])


@pytest.mark.parametrize("model, factories, data, scs_coef_rtol", _OTHER_SOLVER_CASES, ids=[c[0] for c in _OTHER_SOLVER_CASES])
def test_ecos_and_scs(model, factories, data, scs_coef_rtol):
    X, y = data()
    make_ours, make_ref = factories
    ref = make_ref().fit(X, y)
    ecos = make_ours().set_params(solver="ecos").fit(X, y)
    assert ecos.solution_.solver == "ECOS"
    _assert_agrees(ecos, ref, X, y, coef_rtol=1e-4, obj_rtol=1e-6)
    scs = make_ours().set_params(solver="scs", solver_options={"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 200000}).fit(X, y)
    assert scs.solution_.solver == "SCS"
    _assert_agrees(scs, ref, X, y, coef_rtol=scs_coef_rtol, obj_rtol=1e-5)


def test_sample_weights_match_sklearn():
    X, y = regression_data("diabetes")
    w = np.random.default_rng(0).uniform(0.2, 3.0, size=len(y))
    ours = mlopt.ElasticNet(alpha=0.05, l1_ratio=0.5).fit(X, y, sample_weight=w)
    ref = sklm.ElasticNet(alpha=0.05, l1_ratio=0.5, tol=1e-14, max_iter=10**6).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-4, atol=1e-4 * np.max(np.abs(ref.coef_)))
    Xc, yc = classification_data("breast_cancer")
    wc = np.random.default_rng(1).uniform(0.2, 3.0, size=len(yc))
    ours = mlopt.LogisticRegression(C=0.5).fit(Xc, yc, sample_weight=wc)
    ref = sklm.LogisticRegression(C=0.5, solver="newton-cholesky", tol=1e-12).fit(Xc, yc, sample_weight=wc)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-4 * np.max(np.abs(ref.coef_)))


def test_positive_lasso_matches_sklearn():
    X, y = regression_data("diabetes")
    ours = mlopt.Lasso(alpha=0.1, positive=True).fit(X, y)
    ref = sklm.Lasso(alpha=0.1, positive=True, tol=1e-14, max_iter=10**6).fit(X, y)
    assert np.all(ours.coef_ >= -1e-8)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-4 * np.max(np.abs(ref.coef_)))
