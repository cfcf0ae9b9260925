"""Result object returned by :func:`mlopt.ipm.solve`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .status import Status


@dataclass
class IPMResult:
    """Solution of  min ½xᵀPx + qᵀx  s.t.  Ax + s = b, s ∈ K  (unscaled data).

    Attributes
    ----------
    status : Status
    x, s, z : numpy arrays (primal, slack, dual). For ``primal_infeasible`` x and s are
        NaN and ``z`` holds the certificate (Aᵀz = 0, bᵀz < 0, z ∈ K*); for
        ``dual_infeasible`` z is NaN and ``x, s`` hold the certificate
        (Px = 0, Ax + s = 0, s ∈ K, qᵀx < 0).
    primal_objective, dual_objective : ½xᵀPx + qᵀx and −½xᵀPx − bᵀz.
    iterations : number of interior-point iterations.
    primal_residual, dual_residual : relative residuals ‖Ax+s−b‖, ‖Px+q+Aᵀz‖ (Clarabel's norms).
    gap : relative duality gap.  gap_abs: absolute gap.
    solve_time : seconds, including setup and equilibration.
    certificate : the infeasibility certificate (z or x) or None.
    timings : seconds by phase: validate, equilibrate (Ruiz), setup (KKT backend and cones),
        iterations (the whole loop), and within it kkt_update (factorizations), kkt_solve (solves
        with refinement), cones (scaling updates); the structured backends add gram (part of kkt_update:
        the Schur complement's data term, B = D^{1/2}A_c and BᵀB; for structured_wide the QR of B and
        its n×n Grams).  Wall-clock seconds on the host: on CUDA, kernels run asynchronously, so the
        split between phases is approximate there.  They belong to the run whose result is returned.
    start : which start the returned run took: "default" (the solver's own), "given" (``initial_point``)
        or "rejected" (given, but not interior: the solver's own instead).
    attempts : one dict per run of the method, in order: equilibrated (bool), status, iterations, start.
        Two entries when the equilibrated run stopped with numerical_error and the unscaled data
        were solved once more (setting ``equilibrate_retry``; the runs share ``max_iter`` and
        ``time_limit``): the retry's result is returned only when it reached a solution or an
        infeasibility certificate (almost_* included), else the first run's; ``iterations`` is the
        returned run's count and ``solve_time`` covers both.
    """

    status: Status
    x: np.ndarray
    s: np.ndarray
    z: np.ndarray
    primal_objective: float
    dual_objective: float
    iterations: int
    primal_residual: float
    dual_residual: float
    gap: float
    gap_abs: float
    solve_time: float
    certificate: Optional[np.ndarray] = None
    tau: float = 1.0
    kappa: float = 0.0
    kkt_solver: str = ""
    device: str = "cpu"
    history: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    attempts: list = field(default_factory=list)
    start: str = "default"

    @property
    def obj_val(self) -> float:
        """Alias of ``primal_objective`` (Clarabel's name)."""
        return self.primal_objective

    def __repr__(self) -> str:
        return (f"IPMResult(status={self.status.value!r}, objective={self.primal_objective:.8g}, "
                f"iterations={self.iterations}, pres={self.primal_residual:.1e}, "
                f"dres={self.dual_residual:.1e}, gap={self.gap:.1e}, time={self.solve_time:.3f}s)")
