"""Settings of the interior-point method (one line of documentation each)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Optional

import torch


#: integer settings for which 0 is allowed
_NONNEGATIVE_INTS = ("linesearch_bisections", "centrality_correctors")


@dataclass
class IPMSettings:
    """All tunable settings of :func:`mlopt.ipm.solve`, with Clarabel-like defaults."""

    # --- main loop -------------------------------------------------------
    max_iter: int = 200  #: iteration limit
    time_limit: float = float("inf")  #: wall-clock limit in seconds
    verbose: bool = False  #: print a per-iteration table
    #: constant c of the objective ½xᵀPx + qᵀx + c: added to the reported objectives and
    #: used in the relative gap |pobj − dobj| / max(1, min(|pobj|, |dobj|))
    objective_constant: float = 0.0
    max_step_fraction: float = 0.99  #: fraction-to-boundary factor of the combined step
    #: Gondzio's multiple centrality correctors after the Mehrotra step, at most this many per
    #: iteration (one more solve each with the same factorization); problems whose cones are all
    #: zero / nonnegative only (LP and QP), on the CPU, with a KKT backend whose factorization costs
    #: many solves (``mlopt.ipm.core.CORRECTOR_MIN_FACTOR_COST``); 0 turns them off
    centrality_correctors: int = 2
    device: str = "cpu"  #: torch device, "cpu" or "cuda" (or "cuda:k")
    # --- termination (full accuracy) --------------------------------------
    tol_gap_abs: float = 1e-8  #: absolute duality-gap tolerance
    tol_gap_rel: float = 1e-8  #: relative duality-gap tolerance
    tol_feas: float = 1e-8  #: relative primal/dual residual tolerance
    tol_infeas_abs: float = 1e-8  #: absolute tolerance of infeasibility certificates
    tol_infeas_rel: float = 1e-8  #: relative tolerance of infeasibility certificates
    tol_ktratio: float = 1e-6  #: κ/τ tolerance used by the infeasibility tests
    # --- reduced accuracy ("almost" statuses) -----------------------------
    reduced_tol_gap_abs: float = 5e-5  #: absolute gap for almost_solved
    reduced_tol_gap_rel: float = 5e-5  #: relative gap for almost_solved
    reduced_tol_feas: float = 1e-4  #: residual tolerance for almost_solved
    reduced_tol_infeas_abs: float = 5e-12  #: absolute certificate tolerance, almost_*infeasible
    reduced_tol_infeas_rel: float = 5e-5  #: relative certificate tolerance, almost_*infeasible
    reduced_tol_ktratio: float = 1e-4  #: κ/τ tolerance for almost_*infeasible
    # --- equilibration ----------------------------------------------------
    equilibrate_enable: bool = True  #: Ruiz equilibration of [P A'; A 0] and cost scaling
    equilibrate_max_iter: int = 10  #: Ruiz passes
    #: stop the Ruiz passes early once every factor of a pass lies within 1 ± tol (0: all passes)
    equilibrate_tol: float = 0.02
    equilibrate_min_scaling: float = 1e-4  #: lower clip of the scaling factors
    equilibrate_max_scaling: float = 1e4  #: upper clip of the scaling factors
    #: after an equilibrated solve that stops with numerical_error (insufficient progress), solve
    #: the unscaled data once more (within the remaining max_iter and time_limit) and return that
    #: result when it reached a solution or an infeasibility certificate
    equilibrate_retry: bool = True
    # --- step length ------------------------------------------------------
    linesearch_backtrack_step: float = 0.8  #: backtracking factor (exp cones, barrier check)
    #: exp cones: halvings of the bracket around the cone boundary after the backtracking grid
    #: (0: Clarabel's grid alone)
    linesearch_bisections: int = 3
    linesearch_boundary_fraction: float = 0.95  #: exp cones: fraction of the bisected boundary step taken
    min_switch_step_length: float = 1e-1  #: below this, switch exp-cone scaling to dual
    min_terminate_step_length: float = 1e-4  #: below this, stop (insufficient progress)
    # --- linear algebra ---------------------------------------------------
    kkt_solver: str = "auto"  #: "auto" | "qdldl" | "dense" (see mlopt.ipm.kkt)
    kkt_structure: object = None  #: problem structure for kkt_solver="structured" (SampleStructure)
    #: torch intra-op threads during the solve (restored afterwards); the IPM's per-cone
    #: and per-sample tensor ops are small, so one thread avoids OpenMP overhead (measured
    #: 2× faster at 5000×200 on 2 cores).  BLAS products (SYRK/GEMM) keep their own pool.
    #: None leaves torch's setting unchanged.
    cpu_threads: Optional[int] = 1
    static_regularization_constant: float = 1e-8  #: ε added to the KKT diagonal
    static_regularization_proportional: float = 2.220446049250313e-16 ** 2  #: ε += this·max|diag|
    dynamic_regularization_enable: bool = True  #: bump ε when a factorisation breaks down
    dynamic_regularization_delta: float = 2e-7  #: size of a dynamic pivot bump
    dynamic_regularization_eps: float = 1e-13  #: a pivot with sign·d ≤ this is bumped to sign·delta
    iterative_refinement_enable: bool = True  #: refine KKT solves against the exact matrix
    iterative_refinement_reltol: float = 1e-13  #: stop refinement at this relative residual
    iterative_refinement_abstol: float = 1e-12  #: stop refinement at this absolute residual
    iterative_refinement_max_iter: int = 10  #: refinement steps per solve
    iterative_refinement_stop_ratio: float = 5.0  #: stop when a step improves less than this

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type in ("float",) and not isinstance(v, (int, float)):
                raise TypeError(f"setting {f.name!r} must be a number, got {type(v).__name__}")
            least = 0 if f.name in _NONNEGATIVE_INTS else 1
            if f.type == "int" and (not isinstance(v, int) or isinstance(v, bool) or v < least):
                kind = "an integer >= 0" if least == 0 else "a positive integer"
                raise ValueError(f"setting {f.name!r} must be {kind}, got {v!r}")
            if f.type == "bool" and not isinstance(v, bool):
                raise TypeError(f"setting {f.name!r} must be True or False, got {v!r}")
        for name in ("tol_gap_abs", "tol_gap_rel", "tol_feas", "tol_infeas_abs", "tol_infeas_rel",
                     "tol_ktratio", "static_regularization_constant", "dynamic_regularization_delta",
                     "dynamic_regularization_eps"):
            if not getattr(self, name) > 0:
                raise ValueError(f"setting {name!r} must be > 0, got {getattr(self, name)!r}")
        if not 0 < self.max_step_fraction < 1:
            raise ValueError("setting 'max_step_fraction' must lie in (0, 1)")
        if not 0 < self.linesearch_backtrack_step < 1:
            raise ValueError("setting 'linesearch_backtrack_step' must lie in (0, 1)")
        if not 0 < self.linesearch_boundary_fraction <= 1:
            raise ValueError("setting 'linesearch_boundary_fraction' must lie in (0, 1]")
        if not self.equilibrate_tol >= 0:
            raise ValueError(f"setting 'equilibrate_tol' must be >= 0, got {self.equilibrate_tol!r}")
        if not self.time_limit > 0:
            raise ValueError("setting 'time_limit' must be > 0 (seconds)")
        if not isinstance(self.kkt_solver, str):
            raise TypeError("setting 'kkt_solver' must be a string: 'auto', 'qdldl' or 'dense'")
        if self.cpu_threads is not None and (isinstance(self.cpu_threads, bool) or not isinstance(self.cpu_threads, int)
                                             or self.cpu_threads < 1):
            raise ValueError(f"setting 'cpu_threads' must be a positive integer or None, got {self.cpu_threads!r}")
        if not isinstance(self.device, (str, torch.device)):
            raise TypeError("setting 'device' must be a string such as 'cpu' or 'cuda'")
        try:
            dev = torch.device(self.device)
        except RuntimeError as exc:
            raise ValueError(f"setting 'device' must be 'cpu' or 'cuda', got {self.device!r}") from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("setting 'device' is 'cuda' but torch.cuda.is_available() is False; "
                             "use device='cpu'")
        if dev.type not in ("cpu", "cuda"):
            raise ValueError(f"setting 'device' must be 'cpu' or 'cuda', got {self.device!r}")

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> "IPMSettings":
        """Build settings from keyword arguments; unknown names raise TypeError."""
        known = {f.name for f in fields(cls)}
        if "tol" in kwargs:  # convenience: one number for all full-accuracy tolerances
            tol = kwargs.pop("tol")
            for name in ("tol_gap_abs", "tol_gap_rel", "tol_feas", "tol_infeas_abs",
                         "tol_infeas_rel"):
                kwargs.setdefault(name, tol)
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(f"unknown IPM setting(s) {unknown}; valid settings: {sorted(known)}")
        return cls(**kwargs)
