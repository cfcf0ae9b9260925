"""Shared problem bank for the first-order suite: real data, references from Clarabel."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from mlopt import (ConvexLinearClassifier, ConvexLinearRegressor, ElasticNet, Lasso, LinearSVC, LogisticRegression,
                   QuantileRegressor, Ridge)
from mlopt.datasets import load_dataset, make_classification

TIGHT = dict(tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)


def _data():
    db, bc, wine = load_dataset("diabetes"), load_dataset("breast_cancer"), load_dataset("wine")
    yd = (db.y - db.y.mean()) / db.y.std()
    Xs, ys, _ = make_classification(200, 5, flip=0.1, random_state=1)
    Xg, yg, _ = make_classification(1000, 50, random_state=0)
    return {"diabetes": (db.X, yd), "breast_cancer": (bc.X[:300], bc.y[:300]), "wine": (wine.X, wine.y),
            "synthetic": (Xs, ys), "breast_cancer_full": (bc.X, bc.y), "generated_1000x50": (Xg, yg)}


#: name → (estimator factory, data set) — all well conditioned
PROBLEMS = {
    "ridge": (lambda: Ridge(1.0), "diabetes"),
    "lasso": (lambda: Lasso(0.05), "diabetes"),
    "elasticnet": (lambda: ElasticNet(0.05, l1_ratio=0.5), "diabetes"),
    "logistic": (lambda: LogisticRegression(0.1), "breast_cancer"),
    "multinomial": (lambda: LogisticRegression(0.1), "wine"),
    "group": (lambda: ConvexLinearClassifier("logistic", "group", alpha=0.02, groups=[0, 0, 1, 1, 2]), "synthetic"),
    "svm": (lambda: LinearSVC(0.05), "synthetic"),
    "quantile": (lambda: QuantileRegressor(quantile=0.3, alpha=0.01), "diabetes"),
    # kinked losses without an L1 part: the Newton-stage smoothing path
    "svm_bc": (lambda: LinearSVC(0.1), "breast_cancer_full"),
    "svm_gen": (lambda: LinearSVC(0.1), "generated_1000x50"),
    "svm_ovr": (lambda: LinearSVC(0.1), "wine"),
    "lad_ridge": (lambda: ConvexLinearRegressor("absolute", "l2", alpha=1.0), "diabetes"),
}


@pytest.fixture(scope="session")
def bank():
    """name → (estimator, X, y, objective, Clarabel optimum f*, Clarabel coef, intercept)."""
    data = _data()
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (factory, ds) in PROBLEMS.items():
            X, y = data[ds]
            est = factory()
            prob = est.get_problem(X, y)
            prob.problem.solve(solver="CLARABEL", **TIGHT)
            obj = prob.objective
            coef = np.asarray(prob.coef.value, float)
            icpt = np.asarray(prob.intercept.value, float) if obj.fit_intercept else 0.0
            out[name] = (est, X, y, obj, obj.value(coef, icpt), coef, icpt)
    return out
