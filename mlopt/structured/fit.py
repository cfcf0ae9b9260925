"""Fit a linear model's :class:`~mlopt.objective.Objective` with the structured IPM path.

assemble (numpy/scipy, no CVXPY) → :func:`mlopt.ipm.solve` with ``kkt_solver="structured"``
(one |G|×|G| Cholesky per iteration) → coefficients.
"""
from __future__ import annotations

import time
from typing import Any, Dict, Tuple

import numpy as np

from mlopt.ipm import solve
from mlopt.objective import Objective
from mlopt.structured.assemble import assemble

__all__ = ["fit_objective"]


def fit_objective(objective: Objective, device: str = "cpu",
                  **ipm_settings: Any) -> Tuple[np.ndarray, np.ndarray, Dict[str, Any]]:
    """Minimize ``objective`` with mlopt's interior-point method on its structured conic form.

    Parameters
    ----------
    objective : the model's objective (ridge, lasso, elastic net, absolute, quantile,
        huber (fixed ε), hinge, squared hinge, logistic, multinomial; penalties none,
        l2, l1, elasticnet; ``positive`` and ``bounds`` constraints).
    device : "cpu" or "cuda".
    **ipm_settings : :class:`mlopt.ipm.IPMSettings` fields (``tol=1e-9``, ``verbose=True``,
        ``kkt_solver="qdldl"`` to solve the same data with a generic backend, …).

    Returns
    -------
    coef : (d,) or (d, K);  intercept : 0-d array or (K,);
    info : dict with status, iterations, objective (f(w, b) of the objective),
        primal_objective, dual_objective, gap, gap_abs, primal_residual, dual_residual,
        solve_time (IPM), setup_time (assembly), wall_time, kkt_solver, device.

    Examples
    --------
    >>> import numpy as np
    >>> from mlopt.losses import SquaredLoss
    >>> from mlopt.penalties import L2Penalty
    >>> from mlopt.objective import Objective
    >>> X, y = np.eye(3), np.array([1.0, 2.0, 3.0])
    >>> coef, b, info = fit_objective(Objective(X, y, SquaredLoss(), L2Penalty(), alpha=1.0, fit_intercept=False))
    >>> np.round(coef, 6).tolist(), info["status"]
    ([0.5, 1.0, 1.5], 'solved')
    """
    t0 = time.perf_counter()
    problem = assemble(objective)
    setup = time.perf_counter() - t0
    ipm_settings.setdefault("kkt_solver", "structured")
    if ipm_settings["kkt_solver"] == "structured":
        ipm_settings.setdefault("kkt_structure", problem.structure)
    res = solve(problem.P, problem.q, problem.A, problem.b, problem.cones, device=device, **ipm_settings)
    if res.status.is_optimal:
        coef, intercept = problem.unpack(res.x)
        value = objective.value(coef, intercept)
    else:
        coef = np.full(problem.coef_shape, np.nan)
        intercept = np.full((problem.n_outputs,), np.nan) if len(problem.coef_shape) == 2 else np.asarray(np.nan)
        value = float("nan")
    info = dict(status=res.status.value, iterations=res.iterations, objective=value,
                primal_objective=res.primal_objective, dual_objective=res.dual_objective,
                gap=res.gap, gap_abs=res.gap_abs, primal_residual=res.primal_residual,
                dual_residual=res.dual_residual, solve_time=res.solve_time, setup_time=setup,
                wall_time=time.perf_counter() - t0, kkt_solver=res.kkt_solver, device=res.device)
    return coef, intercept, info
