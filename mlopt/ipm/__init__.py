"""mlopt's primal–dual conic interior-point solver, in torch (CPU and CUDA).

    minimize ½xᵀPx + qᵀx   subject to   Ax + s = b,  s ∈ K,

K a product of zero, nonnegative, second-order and exponential cones.  Homogeneous
self-dual embedding (infeasibility certificates), Mehrotra predictor–corrector,
Nesterov–Todd scaling for symmetric cones and a primal–dual scaling for exponential
cones, Ruiz equilibration, regularized KKT solves with iterative refinement and
pluggable KKT backends (``kkt_solver="auto" | "qdldl" | "dense"``).

Direct use: :func:`solve` (A may be a :class:`BlockMatrix`, which keeps a data matrix X as a
block instead of embedding it entrywise).  Through CVXPY: ``problem.solve(solver=IPM())``.
"""
from .block_matrix import BlockMatrix, DataTerm
from .cones import ExponentialCone, NonnegativeCone, SecondOrderCone, ZeroCone
from .cvxpy_interface import IPM
from .result import IPMResult
from .settings import IPMSettings
from .solver import solve
from .start import StartPoint
from .status import Status

__all__ = ["solve", "IPM", "IPMResult", "IPMSettings", "Status", "ZeroCone", "NonnegativeCone",
           "SecondOrderCone", "ExponentialCone", "BlockMatrix", "DataTerm", "StartPoint"]
