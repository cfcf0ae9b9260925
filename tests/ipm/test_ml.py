"""ML problems on scikit-learn's bundled data, written in CVXPY: IPM vs Clarabel (+ KKT)."""
from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from checks import check_kkt
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import Ridge

from mlopt.ipm import IPM
from mlopt.ipm.cvxpy_interface import dims_to_cones


def _standardize(X):
    return (X - X.mean(0)) / X.std(0)


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return _standardize(X[:200]), (y[:200] - y[:200].mean()) / y[:200].std()


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    X = _standardize(X)[:150, :10]
    return X, 2.0 * y[:150] - 1.0


def _models(name, X, y):
    n, d = X.shape
    w, b = cp.Variable(d), cp.Variable()
    if name == "ridge":
        return cp.Problem(cp.Minimize(cp.sum_squares(X @ w + b - y) + 1.0 * cp.sum_squares(w))), w
    if name == "lasso":
        return cp.Problem(cp.Minimize(cp.sum_squares(X @ w + b - y) / (2 * n) + 0.05 * cp.norm1(w))), w
    if name == "elastic_net":
        return cp.Problem(cp.Minimize(cp.sum_squares(X @ w + b - y) / (2 * n)
                                      + 0.05 * cp.norm1(w) + 0.05 * cp.sum_squares(w))), w
    if name == "huber":
        return cp.Problem(cp.Minimize(cp.sum(cp.huber(X @ w + b - y, 1.0)) / n
                                      + 0.01 * cp.sum_squares(w))), w
    if name == "quantile":
        r = y - X @ w - b
        return cp.Problem(cp.Minimize(cp.sum(0.7 * cp.pos(r) + 0.3 * cp.neg(r)) / n)), w
    if name == "svm":
        return cp.Problem(cp.Minimize(cp.sum(cp.pos(1 - cp.multiply(y, X @ w + b))) / n
                                      + 0.01 * cp.sum_squares(w))), w
    if name == "logistic":
        return cp.Problem(cp.Minimize(cp.sum(cp.logistic(-cp.multiply(y, X @ w + b))) / n
                                      + 0.01 * cp.sum_squares(w))), w
    raise KeyError(name)


def _multinomial(X, labels, k=3):
    n, d = X.shape
    W = cp.Variable((d, k))
    Y = np.eye(k)[labels]
    Z = X @ W
    loss = cp.sum(cp.log_sum_exp(Z, axis=1)) - cp.sum(cp.multiply(Y, Z))
    return cp.Problem(cp.Minimize(loss / n + 0.01 * cp.sum_squares(W))), W


def _compare(prob, var, tol=1e-6):
    prob.solve(solver=cp.CLARABEL)
    ref_val, ref_w = prob.value, var.value.copy()
    solver = IPM()
    data, _, _ = prob.get_problem_data(solver=solver)
    prob.solve(solver=solver)
    assert prob.status == cp.OPTIMAL
    assert abs(prob.value - ref_val) <= tol * (1 + abs(ref_val))
    res = prob.solver_stats.extra_stats
    check_kkt(data.get("P"), data["c"], data["A"], data["b"], dims_to_cones(data["dims"]),
              res.x, res.s, res.z, tol=tol)
    return ref_w, var.value


@pytest.mark.parametrize("name", ["ridge", "lasso", "elastic_net", "huber", "quantile"])
def test_regression_models_diabetes(diabetes, name):
    X, y = diabetes
    prob, w = _models(name, X, y)
    ref_w, w_ipm = _compare(prob, w)
    assert np.allclose(w_ipm, ref_w, atol=1e-4)


def test_ridge_matches_sklearn(diabetes):
    X, y = diabetes
    prob, w = _models("ridge", X, y)
    prob.solve(solver=IPM())
    sk = Ridge(alpha=1.0).fit(X, y)
    assert np.allclose(w.value, sk.coef_, atol=1e-6)


@pytest.mark.parametrize("name", ["svm", "logistic"])
def test_classifiers_breast_cancer(cancer, name):
    X, y = cancer
    prob, w = _models(name, X, y)
    _compare(prob, w)


def test_multinomial_logistic(diabetes):
    X, y = diabetes
    labels = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    prob, W = _multinomial(X[:90, :5], labels[:90])
    _compare(prob, W)
