"""Solver statuses of the interior-point method."""
from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """Termination status of :func:`mlopt.ipm.solve`.

    The string values are stable and are what the CVXPY interface maps
    to CVXPY's own statuses.
    """

    SOLVED = "solved"
    PRIMAL_INFEASIBLE = "primal_infeasible"
    DUAL_INFEASIBLE = "dual_infeasible"
    ALMOST_SOLVED = "almost_solved"
    ALMOST_PRIMAL_INFEASIBLE = "almost_primal_infeasible"
    ALMOST_DUAL_INFEASIBLE = "almost_dual_infeasible"
    MAX_ITERATIONS = "max_iterations"
    MAX_TIME = "max_time"
    NUMERICAL_ERROR = "numerical_error"
    UNSOLVED = "unsolved"

    def __str__(self) -> str:  # "solved", not "Status.SOLVED"
        return self.value

    @property
    def is_optimal(self) -> bool:
        return self in (Status.SOLVED, Status.ALMOST_SOLVED)

    @property
    def is_infeasible(self) -> bool:
        return self in (
            Status.PRIMAL_INFEASIBLE,
            Status.DUAL_INFEASIBLE,
            Status.ALMOST_PRIMAL_INFEASIBLE,
            Status.ALMOST_DUAL_INFEASIBLE,
        )
