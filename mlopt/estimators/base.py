"""Shared machinery of mlopt's scikit-learn-compatible linear models.

A model is an :class:`~mlopt.objective.Objective` factory: ``fit`` validates the
data once, encodes the target, asks the subclass for its objective
(``_objective(X, target, sample_weight)``), solves it — as a CVXPY conic program
with any conic solver, with mlopt's interior-point solver, or with a first-order
method — and stores ``coef_``, ``intercept_``, ``n_iter_`` and ``solution_``.
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from mlopt.firstorder import METHODS as FIRST_ORDER_METHODS
from mlopt.firstorder import minimize
from mlopt.objective import Objective, ScaledHuberObjective
from mlopt.problem import ConicForm, ConvexProblem, build_problem
from mlopt.solve import SolveError, SolveInfo, solve_problem

__all__ = ["ConvexLinearModel", "FIRST_ORDER_SOLVERS"]

#: ``solver=`` values handled by :mod:`mlopt.firstorder` instead of a conic solver
FIRST_ORDER_SOLVERS = tuple(FIRST_ORDER_METHODS)

_SOLVER_PARAMS = {
    "solver": [str, object],
    "solver_options": [dict, None],
    "device": [StrOptions({"cpu", "cuda"}), str],
}


#: mlopt IPM statuses → CVXPY's names, used in ``solution_.status``
_IPM_TO_CVXPY_STATUS = {
    "solved": "optimal",
    "almost_solved": "optimal_inaccurate",
    "primal_infeasible": "infeasible",
    "almost_primal_infeasible": "infeasible_inaccurate",
    "dual_infeasible": "unbounded",
    "almost_dual_infeasible": "unbounded_inaccurate",
    "max_iterations": "user_limit",
    "max_time": "user_limit",
    "numerical_error": "solver_error",
}

#: what the structured assembly (mlopt.structured) covers
_STRUCTURED_LOSSES = {"squared", "absolute", "quantile", "huber", "hinge", "squared_hinge", "logistic", "multinomial"}
_STRUCTURED_PENALTIES = {"none", "l2", "l1", "elasticnet"}


def structured_supported(objective: Objective) -> bool:
    """Whether ``solver="mlopt"`` can skip CVXPY and assemble the conic program directly.

    Otherwise (group lasso, the scaled Huber objective, one-vs-rest outputs) the
    model goes through CVXPY with :class:`mlopt.IPM` as the conic solver.
    """
    return (not isinstance(objective, ScaledHuberObjective)
            and objective.loss.name in _STRUCTURED_LOSSES
            and objective.penalty.name in _STRUCTURED_PENALTIES
            and (np.ndim(objective.y) == 1 or objective.loss.name == "multinomial"))


def positive_float(closed: str = "left"):
    """Parameter constraint: a real number in [0, ∞) (``closed='left'``) or (0, ∞) (``'neither'``)."""
    return Interval(numbers.Real, 0, None, closed=closed)


class ConvexLinearModel(BaseEstimator):
    """Base class: fit a linear model by minimizing its :class:`Objective`.

    Subclasses implement ``_objective(X, target, sample_weight) -> Objective`` and
    ``_encode_target(y) -> target`` (regressors pass y through).
    """

    _parameter_constraints: dict = dict(_SOLVER_PARAMS)

    # ------------------------------------------------------------------ hooks
    def _objective(self, X, target, sample_weight) -> Objective:  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode_target(self, y, fit: bool = True):
        """Targets as the loss expects them (classifiers set ``classes_`` when ``fit``)."""
        return y

    def _validate_data_xy(self, X, y, reset: bool = True):
        return validate_data(self, X, y, accept_sparse=("csr", "csc"), dtype=np.float64,
                             y_numeric=self._estimator_type_name() == "regressor", reset=reset)

    def _estimator_type_name(self) -> str:
        return self.__sklearn_tags__().estimator_type or ""

    # ------------------------------------------------------------------ public helpers
    def get_objective(self, X, y, sample_weight=None) -> Objective:
        """The objective this model minimizes on (X, y), bound to the data.

        Its ``value(coef, intercept)`` evaluates any coefficients (e.g. another
        library's) on exactly the function ``fit`` minimizes.
        """
        return self._bind(X, y, sample_weight, fit=not hasattr(self, "n_features_in_"))[2]

    def _bind(self, X, y, sample_weight, fit: bool):
        """Validate parameters and data once; return (X, y, objective) with the target encoded."""
        self._validate_params()
        X, y = self._validate_data_xy(X, y, reset=fit)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
            if not np.any(sample_weight > 0):
                raise ValueError("sample_weight: at least one sample needs a positive weight")
        return X, y, self._objective(X, self._encode_target(y, fit=fit), sample_weight)

    def get_problem(self, X, y, sample_weight=None) -> ConvexProblem:
        """The DPP ``cvxpy`` problem (wrapped in :class:`ConvexProblem`) that ``fit`` solves."""
        return build_problem(self.get_objective(X, y, sample_weight))

    def conic_form(self, X, y, solver: str = "CLARABEL") -> ConicForm:
        """Variables, constraint rows and cones (by type and size) of the cone program."""
        return self.get_problem(X, y).conic_form(solver)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None):
        """Minimize the model's objective on (X, y); returns ``self``."""
        X, y, objective = self._bind(X, y, sample_weight, fit=True)
        solver = self.solver
        if isinstance(solver, str) and solver.lower() in FIRST_ORDER_SOLVERS:
            coef, intercept, extra, info = self._fit_first_order(objective, solver.lower())
        else:
            coef, intercept, extra, info = self._fit_conic(objective)
        self._store(coef, intercept, extra)
        self.solution_ = info
        self.n_iter_ = info.iterations
        self._after_fit(X, y)
        return self

    def _after_fit(self, X, y) -> None:
        """Hook for attributes derived from the fitted model (e.g. outliers)."""

    def _fit_conic(self, objective: Objective):
        if isinstance(self.solver, str) and self.solver.lower() == "mlopt" and structured_supported(objective):
            return self._fit_structured(objective)
        problem = build_problem(objective)
        info = solve_problem(problem.problem, self.solver, self.solver_options, device=self.device)
        coef = np.asarray(problem.coef.value, dtype=float)
        intercept = problem.intercept.value if objective.fit_intercept else np.zeros(problem.intercept.shape)
        extra = {"scale": None if problem.scale is None else float(problem.scale.value)}
        return coef, np.asarray(intercept, dtype=float), extra, info

    def _fit_structured(self, objective: Objective, newton_init=None):
        """mlopt's IPM on the directly assembled conic program (no CVXPY), structured KKT solves
        (``newton_init``: where a logistic fit's Newton start begins, e.g. a path's previous solution)."""
        from mlopt.structured import fit_objective

        options = dict(self.solver_options or {})
        if newton_init is not None:  # (a path's previous solution over one given in solver_options)
            options["newton_init"] = newton_init
        coef, intercept, res = fit_objective(objective, device=self.device, **options)
        status = _IPM_TO_CVXPY_STATUS.get(res["status"], res["status"])
        info = SolveInfo(solver="MLOPT (structured)", status=status, objective=res["objective"],
                         iterations=res["iterations"], solve_time=res["solve_time"], wall_time=res["wall_time"],
                         primal_objective=res["primal_objective"], dual_objective=res["dual_objective"],
                         duality_gap=res["gap_abs"], relative_gap=res["gap"],
                         primal_residual=res["primal_residual"], dual_residual=res["dual_residual"],
                         attempts=res.get("attempts"), screening=res.get("screening"))
        if status not in ("optimal", "optimal_inaccurate"):
            raise SolveError(f"mlopt's IPM ended with status {res['status']!r}; no coefficients are returned",
                             status=status)
        if status == "optimal_inaccurate":
            warnings.warn(f"mlopt's IPM ended with status {res['status']!r} (relative gap {res['gap']:.1e}); "
                          "coefficients are from an inexact solve", ConvergenceWarning, stacklevel=3)
        return coef, np.asarray(intercept, dtype=float), {}, info

    def _fit_first_order(self, objective: Objective, method: str):
        result = minimize(objective, method=method, device=self.device, **(self.solver_options or {}))
        info = SolveInfo(solver=method, status=result.status, objective=result.objective,
                         iterations=result.iterations, solve_time=result.solve_time, wall_time=result.solve_time)
        if result.status != "optimal":
            warnings.warn(f"first-order solver {method!r} ended with status {result.status!r}; "
                          "coefficients are from an unconverged run", ConvergenceWarning, stacklevel=3)
        return np.asarray(result.coef, float), np.asarray(result.intercept, float), {}, info

    def _store(self, coef: np.ndarray, intercept: np.ndarray, extra: dict) -> None:
        """Set ``coef_`` / ``intercept_`` (scikit-learn's shapes)."""
        self.coef_ = coef
        self.intercept_ = float(intercept) if np.ndim(intercept) == 0 else intercept

    # ------------------------------------------------------------------ predict
    def _decision(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=np.float64, reset=False)
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def sample_weight_sum(sample_weight, n_samples: int) -> float:
    """Σᵢ sᵢ (n without weights): the normalizer of mean-loss objectives."""
    return float(n_samples if sample_weight is None else np.sum(sample_weight))
