"""CVXPY plug-in: ``problem.solve(solver=mlopt.ipm.IPM(device="cuda", tol=1e-9))``.

CVXPY's ``ConicSolver.apply`` produces the data (P, q, A, b, cone dims) in the order
zero, nonneg, soc…, exp (variable order [0, 1, 2] for exp cones, the same convention as
:class:`mlopt.ipm.ExponentialCone`); :meth:`IPM.solve_via_data` calls
:func:`mlopt.ipm.solve` and :meth:`IPM.invert` maps the result back, including the duals
(``constraint.dual_value``) and ``problem.solver_stats.num_iters``.
"""
from __future__ import annotations

from typing import Any

import cvxpy.settings as s
from cvxpy.constraints import SOC, ExpCone
from cvxpy.reductions.solution import Solution, failure_solution
from cvxpy.reductions.solvers import utilities
from cvxpy.reductions.solvers.conic_solvers.conic_solver import ConicSolver

from .cones import ExponentialCone, NonnegativeCone, SecondOrderCone, ZeroCone
from .kkt import resolve_kkt_solver
from .settings import IPMSettings
from .status import Status


def dims_to_cones(dims) -> list:
    """CVXPY ``ConeDims`` → list of mlopt cone specs (zero, nonneg, soc…, exp)."""
    if dims.psd or dims.p3d or getattr(dims, "pnd", []):
        raise ValueError("mlopt.ipm.IPM supports zero, nonnegative, second-order and "
                         "exponential cones only (no PSD or power cones)")
    cones: list = []
    if dims.zero > 0:
        cones.append(ZeroCone(dims.zero))
    if dims.nonneg > 0:
        cones.append(NonnegativeCone(dims.nonneg))
    cones.extend(SecondOrderCone(d) for d in dims.soc)
    if dims.exp > 0:
        cones.append(ExponentialCone(dims.exp))
    return cones


class IPM(ConicSolver):
    """mlopt's torch interior-point solver as a CVXPY conic solver.

    Parameters
    ----------
    **settings : any :class:`mlopt.ipm.IPMSettings` field — ``device`` ("cpu"/"cuda"),
        ``tol`` (all full-accuracy tolerances at once), ``max_iter``, ``verbose``,
        ``kkt_solver`` ("auto"/"qdldl"/"dense"), … .  Keyword options given to
        ``problem.solve(...)`` override them for that call.
    """

    MIP_CAPABLE = False
    SUPPORTED_CONSTRAINTS = ConicSolver.SUPPORTED_CONSTRAINTS + [SOC, ExpCone]
    EXP_CONE_ORDER = [0, 1, 2]
    STATUS_MAP = {
        Status.SOLVED: s.OPTIMAL,
        Status.ALMOST_SOLVED: s.OPTIMAL_INACCURATE,
        Status.PRIMAL_INFEASIBLE: s.INFEASIBLE,
        Status.ALMOST_PRIMAL_INFEASIBLE: s.INFEASIBLE_INACCURATE,
        Status.DUAL_INFEASIBLE: s.UNBOUNDED,
        Status.ALMOST_DUAL_INFEASIBLE: s.UNBOUNDED_INACCURATE,
        Status.MAX_ITERATIONS: s.USER_LIMIT,
        Status.MAX_TIME: s.USER_LIMIT,
        Status.NUMERICAL_ERROR: s.SOLVER_ERROR,
        Status.UNSOLVED: s.SOLVER_ERROR,
    }

    def __init__(self, **settings: Any) -> None:
        super().__init__()
        self.settings = dict(settings)
        st = IPMSettings.from_kwargs(**self.settings)  # validate now, fail at construction
        resolve_kkt_solver(st.kkt_solver, st.device)

    def name(self) -> str:
        return "MLOPT_IPM"

    def import_solver(self) -> None:
        import torch  # noqa: F401

    def supports_quad_obj(self) -> bool:
        return True

    def cite(self, data) -> str:
        """mlopt's IPM follows Clarabel (Goulart & Chen, 2024) and Dahl & Andersen (2021)."""
        return ("@misc{goulart2024clarabel, title={Clarabel: An interior-point solver for conic "
                "programs with quadratic objectives}, author={Goulart, Paul J. and Chen, Yuwen}, "
                "year={2024}, eprint={2405.12762}}")

    def solve_via_data(self, data, warm_start: bool, verbose: bool, solver_opts,
                       solver_cache=None):
        """Solve the conic data with :func:`mlopt.ipm.solve`; returns an IPMResult."""
        from .solver import solve

        opts = dict(self.settings)
        opts.update({k: v for k, v in (solver_opts or {}).items() if k != "use_quad_obj"})
        if verbose:
            opts["verbose"] = True
        P = data.get(s.P)
        cones = dims_to_cones(data[ConicSolver.DIMS])
        return solve(P, data[s.C], data[s.A], data[s.B], cones, **opts)

    def invert(self, solution, inverse_data):
        """IPMResult → cvxpy Solution (primal values, duals, status, stats)."""
        status = self.STATUS_MAP.get(solution.status, s.SOLVER_ERROR)
        attr = {s.SOLVE_TIME: solution.solve_time, s.NUM_ITERS: solution.iterations,
                s.EXTRA_STATS: solution}
        dual_vars = {}
        z = solution.z
        if z is not None and z.size and bool((z == z).all()):
            zero = inverse_data[ConicSolver.DIMS].zero
            eq = utilities.get_dual_values(z[:zero], utilities.extract_dual_value,
                                           inverse_data[self.EQ_CONSTR])
            ineq = utilities.get_dual_values(z[zero:], utilities.extract_dual_value,
                                             inverse_data[self.NEQ_CONSTR])
            dual_vars = eq | ineq
        if status in s.SOLUTION_PRESENT:
            opt_val = solution.primal_objective + inverse_data[s.OFFSET]
            primal_vars = {inverse_data[self.VAR_ID]: solution.x}
            return Solution(status, opt_val, primal_vars, dual_vars, attr)
        return failure_solution(status, attr, dual_vars)
