"""KKT-solver backends, chosen by the ``kkt_solver`` setting.

``"qdldl"`` (sparse LDLᵀ, CPU), ``"dense"`` (LU of the full KKT matrix, torch CPU/CUDA),
``"dense_normal"`` (reduced normal equations + Cholesky, torch CPU/CUDA),
``"diagonal_rows"`` (dense P block + rows on one coefficient each: Gram-form lasso),
``"structured"`` (per-sample blocks eliminated: linear models in sample form),
``"structured_wide"`` (the same, with an (n·c)-order Woodbury Schur solve for d > n).
``"auto"`` → ``"qdldl"`` on CPU, ``"dense"`` on CUDA.  To add a backend, subclass
:class:`~mlopt.ipm.kkt.base.KKTSolver` and add one line to ``KKT_SOLVERS``.
"""
from __future__ import annotations

from typing import List

from ..cones import ScalingBlock
from .base import KKTProblem, KKTSolver, Regularization, apply_blocks, kkt_problem
from .dense import DenseKKTSolver, DenseNormalKKTSolver
from .diagonal_rows import DenseColumns, DiagonalRowsKKTSolver
from .qdldl import QDLDLKKTSolver
from .structured import SampleStructure, StructuredKKTSolver
from .structured_wide import WideStructuredKKTSolver

KKT_SOLVERS = {
    "dense": DenseKKTSolver,
    "dense_normal": DenseNormalKKTSolver,
    "diagonal_rows": DiagonalRowsKKTSolver,  # dense P block + rows ±w − t (Gram-form lasso)
    "qdldl": QDLDLKKTSolver,
    "structured": StructuredKKTSolver,  # sample-separable problems; needs kkt_structure
    "structured_wide": WideStructuredKKTSolver,  # same, n·c < |G_c|: Woodbury Schur solve
}


def resolve_kkt_solver(name: str, device) -> str:
    if not isinstance(name, str):
        raise TypeError("kkt_solver must be a string: 'auto', " + ", ".join(map(repr, KKT_SOLVERS)))
    key = name.lower()
    if key == "auto":
        return "dense" if str(device).startswith("cuda") else "qdldl"
    if key not in KKT_SOLVERS:
        raise ValueError(f"kkt_solver={name!r} is unknown; choose 'auto' or one of "
                         f"{sorted(KKT_SOLVERS)}")
    return key


def make_kkt_solver(name: str, problem: KKTProblem, blocks: List[ScalingBlock], settings) -> KKTSolver:
    """Construct the backend registered under ``name`` (after resolving 'auto')."""
    return KKT_SOLVERS[resolve_kkt_solver(name, problem.device)](problem, blocks, settings)


__all__ = ["KKT_SOLVERS", "DenseColumns", "KKTProblem", "KKTSolver", "Regularization", "apply_blocks", "kkt_problem",
           "make_kkt_solver", "resolve_kkt_solver"]
