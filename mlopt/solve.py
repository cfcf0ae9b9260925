"""Solve a CVXPY problem with any conic solver and certify the result.

The solve goes through CVXPY's documented three steps
(``get_problem_data`` → ``solve_via_data`` → ``unpack_results``) so that the
conic data (c, P, A, b, K) and the solver's raw primal–dual point are both in
hand.  From them :func:`solve_problem` computes, independently of what the solver
reports, the primal and dual objective of the cone program

    primal  min ½xᵀPx + cᵀx  s.t. Ax + s = b, s ∈ K
    dual    max −½xᵀPx − bᵀy  s.t. Px + c + Aᵀy = 0, y ∈ K*

and so the duality gap and the primal/dual residuals (ECOS's split form
Gx + s = h, Ax = b is handled the same way).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass

import cvxpy as cp
import numpy as np
from sklearn.exceptions import ConvergenceWarning

__all__ = ["SolveError", "SolveInfo", "solve_problem", "resolve_solver"]

#: CVXPY statuses after which coefficients are usable (possibly with a warning)
_OK = {cp.OPTIMAL}
_INACCURATE = {cp.OPTIMAL_INACCURATE, cp.USER_LIMIT}


class SolveError(RuntimeError):
    """A solve ended without a usable solution (infeasible, unbounded, solver error)."""

    def __init__(self, message: str, status: str | None = None):
        super().__init__(message)
        self.status = status


@dataclass
class SolveInfo:
    """What a solve reached: the ``solution_`` attribute of fitted estimators.

    ``duality_gap`` is |primal − dual objective| of the cone program, computed from
    the solver's primal–dual point; ``relative_gap`` divides it by max(1, |primal|).
    Residuals are ∞-norms: ‖Ax + s − b‖ (primal) and ‖Px + c + Aᵀy‖ (dual).
    """

    solver: str
    status: str
    objective: float | None
    iterations: int | None
    solve_time: float | None
    wall_time: float
    primal_objective: float | None = None
    dual_objective: float | None = None
    duality_gap: float | None = None
    relative_gap: float | None = None
    primal_residual: float | None = None
    dual_residual: float | None = None
    #: mlopt's IPM: one entry per run (equilibrated, status, iterations); two when the
    #: equilibrated run stalled and the unscaled data were solved again
    attempts: list | None = None
    #: mlopt's structured linear SVM solved by sample screening (``mlopt.structured.hinge_screen``):
    #: rounds, samples (kept with hinge rows), bound (fixed at αᵢ = cᵢ), newton_steps; {"fallback": True}
    #: when screening could not certify its point and the full program was solved
    screening: dict | None = None

    def as_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- solvers
def resolve_solver(solver, device: str | None = None, solver_options: dict | None = None):
    """Map a user's ``solver=`` to what ``cvxpy.Problem.solve`` takes.

    ``"clarabel"``, ``"ecos"``, ``"scs"`` or any installed CVXPY solver name
    (case-insensitive), ``"mlopt"`` (mlopt's interior-point solver, on ``device``),
    or a CVXPY solver instance.
    """
    if not isinstance(solver, str):
        if hasattr(solver, "solve_via_data"):
            return solver
        raise TypeError(f"solver must be a solver name or a CVXPY solver object, got {type(solver).__name__}")
    name = solver.strip().upper()
    if name == "MLOPT":
        from mlopt.ipm import IPM

        return IPM(device=device or "cpu", **(solver_options or {}))
    installed = cp.installed_solvers()
    if name not in installed:
        raise ValueError(f"solver={solver!r} is not an installed CVXPY solver; choose 'mlopt' or one of {sorted(s.lower() for s in installed)}")
    return name


def _raw_vectors(raw, solver_name: str):
    """(x, s, y) from a solver's raw result, y the dual of Ax + s = b; ECOS: (x, s, y_eq, z_ineq)."""
    get = raw.get if isinstance(raw, dict) else (lambda k, d=None: getattr(raw, k, d))
    x = get("x")
    if x is None:
        return None
    x = np.asarray(x, dtype=float)
    if solver_name == "ECOS":
        return x, np.asarray(get("s"), float), np.asarray(get("y"), float), np.asarray(get("z"), float)
    y = get("y") if get("y") is not None and solver_name == "SCS" else get("z")
    if y is None:
        return None
    s = get("s")
    return x, (None if s is None else np.asarray(s, float)), np.asarray(y, float)


def _certify(data: dict, raw, solver_name: str) -> dict:
    """Primal/dual objectives, gap and residuals of the cone program from the raw point."""
    vecs = _raw_vectors(raw, solver_name)
    if vecs is None:
        return {}
    c = np.asarray(data["c"], float)
    x = vecs[0]
    P = data.get("P")
    Px = P @ x if P is not None else np.zeros_like(x)
    quad = 0.5 * float(x @ Px)
    if solver_name == "ECOS":
        _, s, y_eq, z = vecs
        G, h, A, b = data["G"], data["h"], data.get("A"), data.get("b")
        has_eq = A is not None and A.shape[0] > 0
        dual_obj = -float(h @ z) - (float(b @ y_eq) if has_eq else 0.0)
        grad = c + G.T @ z + (A.T @ y_eq if has_eq else 0.0)
        pres = np.max(np.abs(G @ x + s - h), initial=0.0)
        if has_eq:
            pres = max(pres, np.max(np.abs(A @ x - b), initial=0.0))
    else:
        _, s, y = vecs
        A, b = data["A"], data["b"]
        dual_obj = -quad - float(b @ y)
        grad = Px + c + A.T @ y
        pres = np.max(np.abs(A @ x + s - b), initial=0.0) if s is not None else None
    primal_obj = quad + float(c @ x)
    gap = abs(primal_obj - dual_obj)
    return {
        "primal_objective": primal_obj,
        "dual_objective": dual_obj,
        "duality_gap": gap,
        "relative_gap": gap / max(1.0, abs(primal_obj)),
        "primal_residual": None if pres is None else float(pres),
        "dual_residual": float(np.max(np.abs(grad), initial=0.0)),
    }


def solve_problem(problem: cp.Problem, solver="clarabel", solver_options: dict | None = None,
                  device: str | None = None, verbose: bool = False) -> SolveInfo:
    """Solve ``problem``, certify the solution, and raise or warn on failure.

    Raises :class:`SolveError` when the status is infeasible, unbounded or a solver
    error; warns with :class:`~sklearn.exceptions.ConvergenceWarning` (status in
    the message) when the solution is only inaccurate or hit an iteration limit.
    """
    options = dict(solver_options or {})
    if isinstance(solver, str) and solver.strip().lower() == "mlopt":
        # mlopt's settings go into the IPM solver object, not into solve_via_data
        solver_arg, options = resolve_solver(solver, device=device, solver_options=options), {}
    else:
        solver_arg = resolve_solver(solver, device=device)
    start = time.perf_counter()
    try:
        data, chain, inverse_data = problem.get_problem_data(solver_arg, solver_opts=options)
        raw = chain.solve_via_data(problem, data, warm_start=False, verbose=verbose, solver_opts=options)
        problem.unpack_results(raw, chain, inverse_data)
    except cp.error.SolverError as exc:
        raise SolveError(f"solver {solver!r} failed: {exc}", status=cp.SOLVER_ERROR) from exc
    wall = time.perf_counter() - start
    name = chain.solver.name()
    stats = problem.solver_stats
    status = problem.status
    info = SolveInfo(
        solver=name,
        status=status,
        objective=None if problem.value is None else float(problem.value),
        iterations=None if stats is None else stats.num_iters,
        solve_time=None if stats is None else stats.solve_time,
        wall_time=wall,
    )
    if status in _OK or status in _INACCURATE:
        for key, value in _certify(data, raw, name).items():
            setattr(info, key, value)
    if status not in _OK and status not in _INACCURATE:
        raise SolveError(f"solver {name} ended with status {status!r}; no coefficients are returned", status=status)
    if status in _INACCURATE:
        warnings.warn(f"solver {name} ended with status {status!r} (inaccurate or iteration limit reached); "
                      f"coefficients are from an inexact solve (relative gap {info.relative_gap})",
                      ConvergenceWarning, stacklevel=3)
    return info
