"""mlopt: machine learning as mathematical optimization.

Models are convex conic programs (built with CVXPY, solved by Clarabel, ECOS, SCS
or mlopt's own torch interior-point solver) behind scikit-learn estimators.
"""
from mlopt.estimators import (
    ConvexLinearClassifier,
    ConvexLinearModel,
    ConvexLinearRegressor,
    ElasticNet,
    ElasticNetCV,
    HuberRegressor,
    Lasso,
    LassoCV,
    LinearSVC,
    LogisticRegression,
    LogisticRegressionCV,
    QuantileRegressor,
    Ridge,
    RidgeCV,
)
from mlopt.paths import PathResult, alpha_grid, lasso_path, regularization_path
from mlopt.losses import get_loss
from mlopt.objective import Objective
from mlopt.penalties import get_penalty
from mlopt.problem import ConvexProblem, build_problem
from mlopt.solve import SolveError, SolveInfo, solve_problem

__version__ = "0.1.0"


def __getattr__(name):
    # mlopt.IPM and friends load lazily so importing mlopt stays light
    if name == "IPM":
        from mlopt.ipm import IPM

        return IPM
    raise AttributeError(f"module 'mlopt' has no attribute {name!r}")


__all__ = [
    "Ridge",
    "Lasso",
    "ElasticNet",
    "LogisticRegression",
    "LinearSVC",
    "HuberRegressor",
    "QuantileRegressor",
    "ConvexLinearRegressor",
    "ConvexLinearClassifier",
    "ConvexLinearModel",
    "RidgeCV",
    "LassoCV",
    "ElasticNetCV",
    "LogisticRegressionCV",
    "regularization_path",
    "lasso_path",
    "alpha_grid",
    "PathResult",
    "Objective",
    "ConvexProblem",
    "build_problem",
    "solve_problem",
    "SolveInfo",
    "SolveError",
    "get_loss",
    "get_penalty",
    "IPM",
]
