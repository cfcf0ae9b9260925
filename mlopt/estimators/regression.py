"""Linear regressors as conic programs, with scikit-learn's objectives.

Each class states the exact objective it minimizes; for the same hyperparameters
it has the same minimizer as its scikit-learn namesake.
"""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from mlopt.estimators.base import FIRST_ORDER_SOLVERS, ConvexLinearModel, positive_float, sample_weight_sum
from mlopt.losses import HuberLoss, QuantileLoss, SquaredLoss, get_loss
from mlopt.objective import Objective, ScaledHuberObjective
from mlopt.penalties import PENALTIES, ElasticNetPenalty, L1Penalty, L2Penalty, get_penalty

__all__ = ["Ridge", "Lasso", "ElasticNet", "HuberRegressor", "QuantileRegressor", "ConvexLinearRegressor"]

class _Regressor(RegressorMixin, ConvexLinearModel):
    """Shared ``predict`` for single-output regressors."""

    def predict(self, X) -> np.ndarray:
        """ŷ = Xw + b."""
        return self._decision(X)


def _common_params(**extra):
    return {
        "fit_intercept": ["boolean"],
        "positive": ["boolean"],
        **ConvexLinearModel._parameter_constraints,
        **extra,
    }


class Ridge(_Regressor):
    """Ridge regression as a second-order-cone program.

    minimize over (w, b):  Σᵢ sᵢ (yᵢ − xᵢᵀw − b)² + α‖w‖²

    (scikit-learn's ``Ridge`` objective: same ``coef_`` for the same ``alpha``).
    Conic form: one second-order cone for the residual norm, one for ‖w‖.

    Parameters
    ----------
    alpha : float ≥ 0, regularization strength α.
    fit_intercept : bool, fit an unpenalized intercept b.
    positive : bool, constrain w ≥ 0.
    solver : "clarabel" (default), "ecos", "scs", "mlopt", any installed CVXPY solver
        name, a CVXPY solver object, or a first-order method name ("lbfgs", "fista", …).
    solver_options : dict passed to the solver.
    device : "cpu" or "cuda", for mlopt's own solvers.

    Attributes
    ----------
    coef_ : (n_features,) ; intercept_ : float ; n_iter_ : int ;
    solution_ : :class:`mlopt.solve.SolveInfo` (status, objective, duality gap, residuals).
    """

    _parameter_constraints = _common_params(alpha=[positive_float()])

    def __init__(self, alpha: float = 1.0, *, fit_intercept: bool = True, positive: bool = False,
                 solver="clarabel", solver_options: dict | None = None, device: str = "cpu"):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.positive = positive
        self.solver = solver
        self.solver_options = solver_options
        self.device = device

    def _objective(self, X, target, sample_weight):
        # Σ s r² + α‖w‖² = 2·Σ s ½r² + 2α·½‖w‖²
        return Objective(X, target, SquaredLoss(), L2Penalty(), alpha=2.0 * self.alpha, loss_weight=2.0,
                         sample_weight=sample_weight, fit_intercept=self.fit_intercept, positive=self.positive)


class ElasticNet(_Regressor):
    """Elastic net as a second-order-cone program.

    minimize over (w, b):  1/(2 Σsᵢ) Σᵢ sᵢ (yᵢ − xᵢᵀw − b)² + α ρ ‖w‖₁ + ½ α (1 − ρ) ‖w‖²

    with ρ = ``l1_ratio`` (scikit-learn's ``ElasticNet`` objective; without weights
    Σsᵢ = n).  Conic form: a second-order cone for the residual, nonnegative
    cones for |wⱼ| ≤ tⱼ, a second-order cone for ‖w‖.

    Parameters: ``alpha`` ≥ 0, ``l1_ratio`` ∈ [0, 1], ``fit_intercept``, ``positive``,
    ``solver``, ``solver_options``, ``device`` (as :class:`Ridge`).
    Attributes: ``coef_``, ``intercept_``, ``n_iter_``, ``solution_``.
    """

    _parameter_constraints = _common_params(alpha=[positive_float()],
                                            l1_ratio=[Interval(numbers.Real, 0, 1, closed="both")])

    def __init__(self, alpha: float = 1.0, *, l1_ratio: float = 0.5, fit_intercept: bool = True,
                 positive: bool = False, solver="clarabel", solver_options: dict | None = None, device: str = "cpu"):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.positive = positive
        self.solver = solver
        self.solver_options = solver_options
        self.device = device

    def _penalty(self):
        return ElasticNetPenalty()

    def _l1_ratio(self) -> float:
        return self.l1_ratio

    def _objective(self, X, target, sample_weight):
        return Objective(X, target, SquaredLoss(), self._penalty(), alpha=self.alpha,
                         loss_weight=1.0 / sample_weight_sum(sample_weight, X.shape[0]), l1_ratio=self._l1_ratio(),
                         sample_weight=sample_weight, fit_intercept=self.fit_intercept, positive=self.positive)


class Lasso(ElasticNet):
    """The lasso as a second-order-cone program.

    minimize over (w, b):  1/(2 Σsᵢ) Σᵢ sᵢ (yᵢ − xᵢᵀw − b)² + α‖w‖₁

    (scikit-learn's ``Lasso`` objective).  Conic form: one second-order cone for
    the residual, 2d nonnegative rows for |wⱼ| ≤ tⱼ.

    Parameters: ``alpha`` ≥ 0, ``fit_intercept``, ``positive``, ``solver``,
    ``solver_options``, ``device`` (as :class:`Ridge`).
    Attributes: ``coef_``, ``intercept_``, ``n_iter_``, ``solution_``.
    """

    _parameter_constraints = _common_params(alpha=[positive_float()])

    def __init__(self, alpha: float = 1.0, *, fit_intercept: bool = True, positive: bool = False,
                 solver="clarabel", solver_options: dict | None = None, device: str = "cpu"):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.positive = positive
        self.solver = solver
        self.solver_options = solver_options
        self.device = device

    def _penalty(self):
        return L1Penalty()

    def _l1_ratio(self) -> float:
        return 1.0


class HuberRegressor(_Regressor):
    """Huber regression with a jointly estimated scale σ (scikit-learn's objective).

    minimize over (w, b, σ > 0):  Σᵢ sᵢ (σ + σ·H_ε((yᵢ − xᵢᵀw − b)/σ)) + α‖w‖²

    with H_ε(t) = t² for |t| ≤ ε, 2ε|t| − ε² otherwise.  σ·H_ε(r/σ) is the
    perspective of H_ε, hence jointly convex and conic: it equals
    min over r = u + v of u²/σ + 2ε|v|, i.e. one rotated second-order cone
    (‖u‖² ≤ σ·t) and nonnegative rows for |v|.

    Parameters: ``epsilon`` ≥ 1, ``alpha`` ≥ 0, ``fit_intercept``, ``solver``,
    ``solver_options``, ``device``.
    Attributes: ``coef_``, ``intercept_``, ``scale_`` (σ), ``outliers_`` (|r| > εσ),
    ``n_iter_``, ``solution_``.
    """

    _parameter_constraints = {
        "epsilon": [Interval(numbers.Real, 1.0, None, closed="left")],
        "alpha": [positive_float()],
        "fit_intercept": ["boolean"],
        **ConvexLinearModel._parameter_constraints,
    }

    def __init__(self, *, epsilon: float = 1.35, alpha: float = 1e-4, fit_intercept: bool = True,
                 solver="clarabel", solver_options: dict | None = None, device: str = "cpu"):
        self.epsilon = epsilon
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.solver_options = solver_options
        self.device = device

    def _objective(self, X, target, sample_weight):
        return ScaledHuberObjective(X, target, HuberLoss(self.epsilon), L2Penalty(), alpha=self.alpha,
                                    loss_weight=1.0, sample_weight=sample_weight,
                                    fit_intercept=self.fit_intercept, epsilon=self.epsilon)

    def fit(self, X, y, sample_weight=None):
        """Minimize the objective jointly in (w, b, σ); returns ``self``."""
        if isinstance(self.solver, str) and self.solver.lower() in FIRST_ORDER_SOLVERS:
            raise ValueError(f"solver={self.solver!r}: HuberRegressor needs a conic solver (its scale σ enters "
                             "through a perspective); use 'clarabel', 'ecos', 'scs' or 'mlopt'")
        return super().fit(X, y, sample_weight)

    def _after_fit(self, X, y) -> None:
        self.outliers_ = np.abs(y - self.predict(X)) > self.epsilon * self.scale_

    def _store(self, coef, intercept, extra):
        super()._store(coef, intercept, extra)
        self.scale_ = extra["scale"]


class QuantileRegressor(_Regressor):
    """Quantile regression as a linear program (scikit-learn's objective).

    minimize over (w, b):  1/Σsᵢ · Σᵢ sᵢ ρ_τ(yᵢ − xᵢᵀw − b) + α‖w‖₁

    with the pinball loss ρ_τ(r) = τ·max(r, 0) + (1 − τ)·max(−r, 0), τ = ``quantile``.
    Conic form: nonnegative cones only.

    Parameters: ``quantile`` ∈ (0, 1), ``alpha`` ≥ 0, ``fit_intercept``, ``solver``,
    ``solver_options``, ``device``.
    Attributes: ``coef_``, ``intercept_``, ``n_iter_``, ``solution_``.
    """

    _parameter_constraints = {
        "quantile": [Interval(numbers.Real, 0, 1, closed="neither")],
        "alpha": [positive_float()],
        "fit_intercept": ["boolean"],
        **ConvexLinearModel._parameter_constraints,
    }

    def __init__(self, *, quantile: float = 0.5, alpha: float = 1.0, fit_intercept: bool = True,
                 solver="clarabel", solver_options: dict | None = None, device: str = "cpu"):
        self.quantile = quantile
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.solver_options = solver_options
        self.device = device

    def _objective(self, X, target, sample_weight):
        return Objective(X, target, QuantileLoss(self.quantile), L1Penalty(), alpha=self.alpha,
                         loss_weight=1.0 / sample_weight_sum(sample_weight, X.shape[0]),
                         sample_weight=sample_weight, fit_intercept=self.fit_intercept)


class ConvexLinearRegressor(_Regressor):
    """Any regression loss × penalty × constraints, as a conic program.

    minimize over (w, b):  1/Σsᵢ · Σᵢ sᵢ ℓ(yᵢ, xᵢᵀw + b) + α·R(w)
    subject to w ≥ 0 (``positive``), lo ≤ w ≤ hi (``bounds``)

    ``loss`` ∈ {"squared" (½r²), "absolute", "huber" (parameter ``epsilon``),
    "quantile" (parameter ``quantile``)}; ``penalty`` ∈ {"none", "l2" (½‖w‖²), "l1",
    "elasticnet" (ρ‖w‖₁ + ½(1−ρ)‖w‖², ρ = ``l1_ratio``), "group" (Σ_g √|g|‖w_g‖,
    ``groups``)}.  See :mod:`mlopt.losses` and :mod:`mlopt.penalties`.
    """

    _parameter_constraints = _common_params(
        loss=[StrOptions({"squared", "absolute", "huber", "quantile"})],
        penalty=[StrOptions(set(PENALTIES)), None],
        alpha=[positive_float()],
        l1_ratio=[Interval(numbers.Real, 0, 1, closed="both")],
        groups=["array-like", list, None],
        bounds=[tuple, None],
        epsilon=[Interval(numbers.Real, 0, None, closed="neither")],
        quantile=[Interval(numbers.Real, 0, 1, closed="neither")],
    )

    def __init__(self, loss: str = "squared", penalty: str | None = "l2", *, alpha: float = 1.0,
                 l1_ratio: float = 0.5, groups=None, fit_intercept: bool = True, positive: bool = False,
                 bounds: tuple[float, float] | None = None, epsilon: float = 1.35, quantile: float = 0.5,
                 solver="clarabel", solver_options: dict | None = None, device: str = "cpu"):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.groups = groups
        self.fit_intercept = fit_intercept
        self.positive = positive
        self.bounds = bounds
        self.epsilon = epsilon
        self.quantile = quantile
        self.solver = solver
        self.solver_options = solver_options
        self.device = device

    def _objective(self, X, target, sample_weight):
        kwargs = {"huber": {"epsilon": self.epsilon}, "quantile": {"quantile": self.quantile}}.get(self.loss, {})
        bounds = _check_bounds(self.bounds)
        return Objective(X, target, get_loss(self.loss, **kwargs), get_penalty(self.penalty, self.groups),
                         alpha=self.alpha, loss_weight=1.0 / sample_weight_sum(sample_weight, X.shape[0]),
                         l1_ratio=self.l1_ratio, sample_weight=sample_weight,
                         fit_intercept=self.fit_intercept, positive=self.positive, bounds=bounds)


def _check_bounds(bounds):
    if bounds is None:
        return None
    if len(bounds) != 2:
        raise ValueError(f"bounds must be a pair (lower, upper), got {bounds!r}")
    lo, hi = (float(b) for b in bounds)
    if np.isnan(lo) or np.isnan(hi) or lo > hi:
        raise ValueError(f"bounds must satisfy lower <= upper (infinite allowed), got {bounds!r}")
    return lo, hi
