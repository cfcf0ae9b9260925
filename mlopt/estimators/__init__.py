"""scikit-learn-compatible estimators whose fits are conic programs."""
from mlopt.estimators.base import ConvexLinearModel
from mlopt.estimators.cv import ElasticNetCV, LassoCV, LogisticRegressionCV, RidgeCV
from mlopt.estimators.classification import ConvexLinearClassifier, LinearSVC, LogisticRegression
from mlopt.estimators.regression import (
    ConvexLinearRegressor,
    ElasticNet,
    HuberRegressor,
    Lasso,
    QuantileRegressor,
    Ridge,
)

__all__ = [
    "ConvexLinearModel",
    "ConvexLinearRegressor",
    "ConvexLinearClassifier",
    "Ridge",
    "Lasso",
    "ElasticNet",
    "HuberRegressor",
    "QuantileRegressor",
    "LogisticRegression",
    "LinearSVC",
    "RidgeCV",
    "LassoCV",
    "ElasticNetCV",
    "LogisticRegressionCV",
]
