"""Regularization paths: one model fitted for a whole grid of hyperparameter values.

For a linear model minimizing

    f_v(w, b) = λ(v)·Σᵢ sᵢ ℓ(yᵢ, xᵢᵀw + b) + α(v)·R_ρ(v)(w)

over a grid of values v of one hyperparameter (``alpha``, ``C`` or ``l1_ratio``),
only the scalars λ, α and ρ change.  The estimator's own ``_objective`` says how v
maps to them (e.g. ``Ridge``: α_obj = 2α; ``LogisticRegression``/``LinearSVC``:
λ = C), so the path works for every model without a hand-written table.

* CVXPY solvers: the DPP problem is built and canonicalized once
  (:meth:`ConvexProblem.set_hyperparameters` only updates ``cvxpy.Parameter`` values;
  CVXPY then reuses its cached parameter-affine map).
* ``solver="mlopt"``: squared-loss models (ridge, lasso, elastic net, ``positive`` allowed,
  no ``bounds``) over ``alpha`` or ``l1_ratio`` are solved by ONE batched interior-point
  method on the shared Gram matrix (:func:`mlopt.structured.batched_path.fit_path_batched`);
  binary ℓ₂-logistic regression over ``C`` or ``alpha`` by ONE batched Newton solve, every
  member certified by its duality gap (:func:`mlopt.structured.logistic_path.fit_logistic_path_batched`).
  Solver label "MLOPT (batched)"; ``times[k]`` is then the batch's wall time divided by
  the number of values.  Other models: the structured conic program
  (:func:`mlopt.structured.fit_objective`) is assembled per value from one shared
  :class:`Objective` (data tensors cached), a logistic fit's Newton start at the previous value's solution.
* first-order names: :func:`mlopt.firstorder.minimize` per value.

Values are solved from strong to weak regularization (alpha descending, C ascending).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import _check_sample_weight

from mlopt.estimators.base import _IPM_TO_CVXPY_STATUS, FIRST_ORDER_SOLVERS, structured_supported
from mlopt.objective import Objective
from mlopt.problem import build_problem
from mlopt.solve import SolveError, SolveInfo, resolve_solver, solve_problem
from mlopt.structured.batched_path import BATCHED_SETTINGS, batched_applicable, fit_path_batched, model_objectives
from mlopt.structured.logistic_path import fit_logistic_path_batched, logistic_batched_applicable

__all__ = ["PathResult", "regularization_path", "lasso_path", "alpha_grid"]

#: hyperparameters a path can run over, with the direction of weaker regularization
_WEAKER_IS_LARGER = {"alpha": False, "C": True, "l1_ratio": None}
_HYPER = ("alpha", "loss_weight", "l1_ratio")


@dataclass
class PathResult:
    """Fits along a grid, ordered from strong to weak regularization.

    ``coefs[k]`` / ``intercepts[k]`` have the estimator's ``coef_`` / ``intercept_``
    shapes for ``values[k]``; ``objectives[k]`` is f_v at the returned point,
    ``statuses[k]`` the CVXPY-style status (NaN coefficients when a solve failed),
    ``iterations[k]`` the solver iterations (−1 when unknown), ``times[k]`` the
    wall time of that solve (the first CVXPY solve includes canonicalization).
    """

    param: str
    values: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    objectives: np.ndarray
    statuses: list[str]
    iterations: np.ndarray
    times: np.ndarray
    solver: str
    infos: list[SolveInfo | None] = field(default_factory=list, repr=False)

    @property
    def n_values(self) -> int:
        return len(self.values)


# --------------------------------------------------------------------------- grids
def alpha_grid(X, y, *, l1_ratio: float = 1.0, n_alphas: int = 100, eps: float = 1e-3,
               fit_intercept: bool = True, positive: bool = False, sample_weight=None) -> np.ndarray:
    """scikit-learn's lasso / elastic-net grid: geometric from α_max down to eps·α_max.

    α_max = ‖X_cᵀ S (y − ȳ)‖∞ / (Σsᵢ · ρ) is the smallest α with w = 0 optimal
    (X_c, ȳ weighted-centered when ``fit_intercept``; ρ = ``l1_ratio`` > 0).
    """
    if not 0 < l1_ratio <= 1:
        raise ValueError(f"l1_ratio={l1_ratio!r}: an automatic alpha grid needs 0 < l1_ratio <= 1; "
                         "pass explicit alphas for l1_ratio=0 (ridge)")
    if int(n_alphas) < 1:
        raise ValueError(f"n_alphas={n_alphas!r} must be a positive integer")
    if not eps > 0:
        raise ValueError(f"eps={eps!r} must be > 0")
    y = np.asarray(y, dtype=float)
    s = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    total = float(s.sum())
    if fit_intercept:
        y = y - np.average(y, weights=s)
    yw = s * y
    # centering X changes nothing: Σᵢ sᵢ(yᵢ − ȳ) = 0
    xy = np.asarray(X.T @ yw).ravel()
    top = max(0.0, float(xy.max())) if positive else float(np.abs(xy).max())
    alpha_max = top / (total * l1_ratio)
    tiny = np.finfo(np.float64).resolution
    if alpha_max <= tiny:
        return np.full(int(n_alphas), tiny)
    return np.geomspace(alpha_max, alpha_max * eps, num=int(n_alphas))


def _check_values(values, param: str) -> np.ndarray:
    """Validate a grid and order it from strong to weak regularization."""
    if values is None:
        raise ValueError(f"values: give the grid of {param!r} values to fit (a non-empty 1-d array)")
    try:
        vals = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"values: expected numbers for {param!r}, got {values!r}") from exc
    vals = np.atleast_1d(vals)
    if vals.ndim != 1 or vals.size == 0:
        raise ValueError(f"values: the {param!r} grid must be a non-empty 1-d array, got shape {vals.shape}")
    if np.any(np.isnan(vals)) or np.any(vals < 0):
        raise ValueError(f"values: {param!r} values must be >= 0 (and not NaN), got {vals.tolist()}")
    if param != "C" and not np.all(np.isfinite(vals)):
        raise ValueError(f"values: {param!r} values must be finite, got {vals.tolist()}")
    if param == "C" and np.any(vals == 0):
        raise ValueError(f"values: C values must be > 0, got {vals.tolist()}")
    weaker_larger = _WEAKER_IS_LARGER[param]
    if weaker_larger is None:
        return vals
    order = np.argsort(vals, kind="stable")
    return vals[order] if weaker_larger else vals[order[::-1]]


# --------------------------------------------------------------------------- the path
def _hyperparameters(estimator, X, target, sample_weight, param: str, value: float, base: Objective) -> dict:
    """The objective's (alpha, loss_weight, l1_ratio) for ``param=value``, read from the model itself."""
    est = clone(estimator).set_params(**{param: value})
    est._validate_params()
    obj = est._objective(X, target, sample_weight)
    same = (type(obj) is type(base) and type(obj.loss) is type(base.loss)
            and type(obj.penalty) is type(base.penalty) and obj.fit_intercept == base.fit_intercept
            and obj.positive == base.positive and obj.bounds == base.bounds)
    if not same:
        raise ValueError(f"param={param!r}: changing it changes the model's structure, not only its "
                         "regularization weights; a path needs alpha, C or l1_ratio")
    return {key: float(getattr(obj, key)) for key in _HYPER}


def _solver_name(solver) -> str:
    return solver.lower() if isinstance(solver, str) else ""


def _path(estimator, X, target, sample_weight, param: str, values) -> PathResult:
    """Path on validated data and encoded targets (``estimator`` is not modified)."""
    if param not in _WEAKER_IS_LARGER:
        raise ValueError(f"param={param!r}: choose 'alpha', 'C' or 'l1_ratio'")
    if param not in estimator.get_params():
        raise ValueError(f"param={param!r}: {type(estimator).__name__} has no such hyperparameter; "
                         f"its parameters are {sorted(estimator.get_params())}")
    vals = _check_values(values, param)
    objective = estimator._objective(X, target, sample_weight)
    hypers = [_hyperparameters(estimator, X, target, sample_weight, param, v, objective) for v in vals]
    name = _solver_name(estimator.solver)
    kind = _batched_kind(estimator, objective, param, hypers) if name == "mlopt" else None
    if kind is not None:
        return _batched_path(estimator, objective, param, vals, hypers, kind)
    if name in FIRST_ORDER_SOLVERS:
        fit_one, label = (lambda obj: estimator._fit_first_order(obj, name)), name
    elif name == "mlopt" and structured_supported(objective):
        fit_one, label = _warm_structured_fitter(estimator), "MLOPT (structured)"
    else:
        fit_one, label = _cvxpy_fitter(estimator, objective), None

    results = []
    for value, hp in zip(vals, hypers):
        for key, v in hp.items():
            setattr(objective, key, v)
        start = time.perf_counter()
        try:
            coef, intercept, extra, info = fit_one(objective)
        except SolveError as exc:
            warnings.warn(f"{param}={float(value)!r}: solve failed ({exc}); its path entry is NaN",
                          ConvergenceWarning, stacklevel=3)
            shape = objective.coef_shape
            coef = np.full(shape, np.nan)
            intercept = np.full(shape[1:], np.nan)
            extra, info = {}, SolveInfo(solver=label or str(estimator.solver), status=exc.status or "solver_error",
                                        objective=None, iterations=None, solve_time=None,
                                        wall_time=time.perf_counter() - start)
        results.append((coef, intercept, extra, info))
    return _collect(estimator, param, vals, results, label)


def _batched_kind(estimator, objective: Objective, param: str, hypers: list) -> str | None:
    """Which batched solve covers the path: "logistic" (binary ℓ₂-logistic loss over C / alpha, a positive
    ridge weight and loss weight in every member), "gram" (squared loss over alpha / l1_ratio with one
    shared Gram matrix: the same loss weight for all values), or None."""
    if not structured_supported(objective) or not set(estimator.solver_options or {}) <= BATCHED_SETTINGS:
        return None
    if _logistic_batched(objective, param, hypers):
        return "logistic"
    if param not in ("alpha", "l1_ratio") or not batched_applicable(objective):
        return None
    return "gram" if len({hp["loss_weight"] for hp in hypers}) == 1 else None


def _logistic_batched(objective: Objective, param: str, hypers: list) -> bool:
    if param not in ("C", "alpha") or not logistic_batched_applicable(objective):
        return False
    c2 = objective.penalty.weights(objective.l1_ratio)[1]
    return all(np.isfinite(hp["loss_weight"]) and hp["loss_weight"] > 0 and np.isfinite(hp["alpha"])
               and hp["alpha"] * c2 > 0 for hp in hypers)


def _batched_path(estimator, objective: Objective, param: str, vals: np.ndarray, hypers: list,
                  kind: str) -> PathResult:
    """All values in one batched solve (the Gram-form IPM for squared losses, the certified batched Newton
    for logistic); failed members become NaN entries with a ConvergenceWarning, inexact ones
    ("almost_solved") keep their coefficients with a ConvergenceWarning (as one fit each)."""
    label = "MLOPT (batched)"
    opts = dict(estimator.solver_options or {})
    tol, max_iter, threads = float(opts.get("tol", 1e-8)), int(opts.get("max_iter", 100)), opts.get("cpu_threads", 1)
    alphas = np.array([hp["alpha"] for hp in hypers])
    if kind == "logistic":
        ridge = alphas * objective.penalty.weights(objective.l1_ratio)[1]
        res = fit_logistic_path_batched(objective, [hp["loss_weight"] for hp in hypers], ridge,
                                        device=estimator.device, tol=tol, max_iter=max_iter, cpu_threads=threads)
        values_f = res.primal_objectives
    else:
        objective.loss_weight = hypers[0]["loss_weight"]
        ratios = np.array([hp["l1_ratio"] for hp in hypers])
        res = fit_path_batched(objective, alphas, l1_ratio=ratios, device=estimator.device, tol=tol,
                               max_iter=max_iter, cpu_threads=threads)
        values_f = model_objectives(objective, alphas, ratios, res.coefs, res.intercepts)
    share = res.time / len(vals)
    solve_share = res.solve_time / len(vals)
    shape = objective.coef_shape
    results = []
    for k, value in enumerate(vals):
        status = _IPM_TO_CVXPY_STATUS.get(res.statuses[k], res.statuses[k])
        ok = status in ("optimal", "optimal_inaccurate")
        info = SolveInfo(solver=label, status=status, objective=float(values_f[k]) if ok else None,
                         iterations=int(res.iterations[k]) if ok else None, solve_time=solve_share, wall_time=share,
                         primal_objective=float(res.primal_objectives[k]), dual_objective=float(res.dual_objectives[k]),
                         duality_gap=float(res.gaps[k]), relative_gap=float(res.relative_gaps[k]),
                         primal_residual=float(res.primal_residuals[k]), dual_residual=float(res.dual_residuals[k]))
        if not ok:
            warnings.warn(f"{param}={float(value)!r}: solve failed (mlopt's batched IPM ended with status "
                          f"{res.statuses[k]!r}; no coefficients are returned); its path entry is NaN",
                          ConvergenceWarning, stacklevel=4)
            coef, intercept = np.full(shape, np.nan), np.full(shape[1:], np.nan)
        else:
            if status == "optimal_inaccurate":
                warnings.warn(f"{param}={float(value)!r}: mlopt's batched IPM ended with status {res.statuses[k]!r} "
                              f"(relative gap {res.relative_gaps[k]:.1e}); coefficients are from an inexact solve",
                              ConvergenceWarning, stacklevel=4)
            coef, intercept = res.coefs[k].reshape(shape), np.asarray(res.intercepts[k])
        results.append((coef, intercept, {}, info))
    return _collect(estimator, param, vals, results, label)


def _warm_structured_fitter(estimator):
    """The structured fit for one path entry after another, each logistic fit's Newton start beginning
    at the previous entry's solution (:mod:`mlopt.structured.logistic_start`; others ignore it)."""
    previous = {}

    def fit_one(objective: Objective):
        coef, intercept, extra, info = estimator._fit_structured(objective, newton_init=previous.get("solution"))
        previous["solution"] = (coef, intercept)  # (logistic_start reads the intercept and checks the shapes)
        return coef, intercept, extra, info

    return fit_one


def _cvxpy_fitter(estimator, objective: Objective):
    """A closure re-solving ONE DPP problem: only parameter values change between calls."""
    problem = build_problem(objective)
    solver, options = estimator.solver, estimator.solver_options
    if _solver_name(solver) == "mlopt":
        # one IPM instance: CVXPY's cache key includes the solver, so a new one would recompile
        solver, options = resolve_solver("mlopt", device=estimator.device, solver_options=options), None

    def fit_one(obj: Objective):
        problem.set_hyperparameters(**{key: getattr(obj, key) for key in _HYPER})
        info = solve_problem(problem.problem, solver, options, device=estimator.device)
        coef = np.asarray(problem.coef.value, dtype=float)
        intercept = (np.asarray(problem.intercept.value, dtype=float) if obj.fit_intercept
                     else np.zeros(problem.intercept.shape))
        extra = {"scale": None if problem.scale is None else float(problem.scale.value)}
        return coef, intercept, extra, info

    fit_one.problem = problem  # exposed for inspection (tests count canonicalizations)
    return fit_one


def _collect(estimator, param, vals, results, label) -> PathResult:
    coefs, intercepts = [], []
    for coef, intercept, extra, _ in results:
        holder = clone(estimator)
        holder._store(np.asarray(coef, dtype=float), np.asarray(intercept, dtype=float), {"scale": None, **extra})
        coefs.append(np.asarray(holder.coef_, dtype=float))
        intercepts.append(np.asarray(holder.intercept_, dtype=float))
    infos = [r[3] for r in results]
    return PathResult(
        param=param, values=vals, coefs=np.stack(coefs), intercepts=np.stack(intercepts),
        objectives=np.array([np.nan if i.objective is None else i.objective for i in infos], dtype=float),
        statuses=[i.status for i in infos],
        iterations=np.array([-1 if i.iterations is None else int(i.iterations) for i in infos]),
        times=np.array([i.wall_time for i in infos], dtype=float),
        solver=label or (infos[0].solver if infos else str(estimator.solver)), infos=infos,
    )


def _prepare(estimator, X, y, sample_weight, solver, solver_options):
    est = clone(estimator)
    if solver is not None:
        est.set_params(solver=solver)
    if solver_options is not None:
        est.set_params(solver_options=solver_options)
    est._validate_params()
    X, y = est._validate_data_xy(X, y)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
    return est, X, est._encode_target(y), sample_weight


def regularization_path(estimator, X, y, param: str = "alpha", values=None, *, solver=None,
                        solver_options: dict | None = None, sample_weight=None) -> PathResult:
    """Fit ``estimator`` for every value of ``param`` in ``values`` (strong → weak).

    Parameters
    ----------
    estimator : an mlopt linear model (``Lasso``, ``Ridge``, ``LogisticRegression``, …);
        it is cloned, never modified.
    param : "alpha", "C" or "l1_ratio" (a hyperparameter of ``estimator``).
    values : non-empty 1-d grid, ≥ 0 (C > 0).
    solver, solver_options : override the estimator's.
    sample_weight : optional (n_samples,).

    Returns
    -------
    :class:`PathResult` with ``values`` sorted from strong to weak regularization.
    """
    est, X, target, sw = _prepare(estimator, X, y, sample_weight, solver, solver_options)
    return _path(est, X, target, sw, param, values)


def lasso_path(X, y, alphas=None, n_alphas: int = 100, eps: float = 1e-3, *, fit_intercept: bool = True,
               positive: bool = False, solver="clarabel", solver_options: dict | None = None,
               sample_weight=None) -> PathResult:
    """The lasso path, min 1/(2Σs) Σᵢ sᵢ(yᵢ − xᵢᵀw − b)² + α‖w‖₁ for each α.

    ``alphas=None`` uses :func:`alpha_grid` (``n_alphas`` values from α_max to
    ``eps``·α_max, as scikit-learn).  Unlike :func:`sklearn.linear_model.lasso_path`
    an intercept is fitted by default; ``result.coefs`` is (n_alphas, n_features).
    """
    from mlopt.estimators.regression import Lasso

    est = Lasso(fit_intercept=fit_intercept, positive=positive, solver=solver, solver_options=solver_options)
    est, X, target, sw = _prepare(est, X, y, sample_weight, None, None)
    if alphas is None:
        alphas = alpha_grid(X, target, n_alphas=n_alphas, eps=eps, fit_intercept=fit_intercept,
                            positive=positive, sample_weight=sw)
    return _path(est, X, target, sw, "alpha", alphas)


def _as_rows(X):
    """CSR for sparse input (cheap row selection), X otherwise."""
    return X.tocsr() if sp.issparse(X) else X
