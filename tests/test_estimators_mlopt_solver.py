"""Every estimator with ``solver="mlopt"`` (own IPM: structured path or through CVXPY) agrees with Clarabel."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.preprocessing import StandardScaler

import mlopt


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


def _cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


CASES = {
    "ridge": (lambda: mlopt.Ridge(alpha=2.0), _diabetes, "structured"),
    "lasso": (lambda: mlopt.Lasso(alpha=0.02), _diabetes, "structured"),
    "elastic_net": (lambda: mlopt.ElasticNet(alpha=0.02, l1_ratio=0.5), _diabetes, "structured"),
    "quantile": (lambda: mlopt.QuantileRegressor(quantile=0.3, alpha=0.01), _diabetes, "structured"),
    "huber": (lambda: mlopt.HuberRegressor(alpha=1e-2), _diabetes, "cvxpy"),
    "group_lasso": (lambda: mlopt.ConvexLinearRegressor(penalty="group", groups=[[0, 1, 2], [3, 4], [5, 6, 7, 8, 9]], alpha=0.05), _diabetes, "cvxpy"),
    "svm": (lambda: mlopt.LinearSVC(C=0.5), _cancer, "structured"),
    "logistic": (lambda: mlopt.LogisticRegression(C=0.5), _cancer, "structured"),
    "multinomial": (lambda: mlopt.LogisticRegression(C=0.5), _wine, "structured"),
    "svm_ovr": (lambda: mlopt.LinearSVC(C=0.5), _wine, "cvxpy"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_mlopt_solver_matches_clarabel(case):
    make, data, path = CASES[case]
    X, y = data()
    ref = make().fit(X, y)
    ours = make().set_params(solver="mlopt").fit(X, y)
    info = ours.solution_
    assert info.status == "optimal", info
    assert info.solver == ("MLOPT (structured)" if path == "structured" else "MLOPT_IPM")
    assert abs(info.objective - ref.solution_.objective) <= 1e-6 * abs(ref.solution_.objective)
    assert info.relative_gap <= 1e-7
    scale = np.max(np.abs(ref.coef_))
    assert np.max(np.abs(ours.coef_ - ref.coef_)) <= 1e-4 * scale
