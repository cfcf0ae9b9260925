"""The KKT-solver interface used by the interior-point loop.

Every Newton step of the IPM needs solutions of the quasi-definite system

    K [x; z] = [r_x; r_z],        K = [ P    Aᵀ ]
                                      [ A   −H  ]

where H = WᵀW is the (block-diagonal) cone scaling.  A backend receives H as a list of
:class:`~mlopt.ipm.cones.ScalingBlock` — explicit batched blocks, one per cone group:

* ``kind="zero"``  rows (n,)          H = 0 on these rows (equalities)
* ``kind="diag"``  rows (n,), H (n,)  nonnegative cone, H = diag(s/z)
* ``kind="dense"`` rows (k,d), H (k,d,d)  one symmetric block per cone: second-order
  cones (grouped by dimension d) and exponential cones (d = 3)

so a structured backend can, e.g., eliminate per-sample cone blocks and factor a d×d
matrix.  The core loop calls only

    ok = solver.update(blocks, reg)     # new scaling; factor K + reg (returns False on failure)
    x, z = solver.solve(r_x, r_z)       # solve K [x; z] = [r_x; r_z]  (refined)

``reg`` (:class:`Regularization`) carries the static ε: the backend factors
K_ε = [P + εI, Aᵀ; A, −(H + εI)] and, if it detects a breakdown, may enlarge ε
("dynamic" regularization).  :meth:`KKTSolver.solve` then runs iterative refinement
against the exact K (no ε), so regularization does not bias the step.

A backend subclasses :class:`KKTSolver` and implements ``_factor`` and ``_solve_reg``;
it is registered by name in :mod:`mlopt.ipm.kkt` (``kkt_solver="..."`` setting).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Tuple

import scipy.sparse as sp
import torch

from ..block_matrix import BlockMatrix
from ..problem import SparseOperator, operator_pair
from ..cones import ScalingBlock
from ..cones.base import factor_matvec_cf, gather, scatter_


@dataclass
class Regularization:
    """Static (+ dynamic) diagonal regularization of the KKT factorisation."""

    static: float = 1e-8  #: ε added as +εI (x block) and −εI (z block)
    dynamic_enable: bool = True  #: allow the backend to enlarge ε on breakdown
    dynamic_delta: float = 2e-7  #: floor used for ε after a breakdown


@dataclass
class KKTProblem:
    """The (equilibrated) data a backend needs: scipy copies on CPU, operators on the device.

    The product operators of A and Aᵀ (:attr:`A`, :attr:`At`) are built when first used: a backend
    that multiplies by its own split of A (the structured ones) never builds them."""

    P_sp: sp.csc_matrix  # full symmetric
    A_data: object  # scipy CSC, or a BlockMatrix (the data matrix kept as a block)
    P: object  # SparseOperator (P v on the device)
    device: torch.device

    @property
    def A(self):
        """SparseOperator / BlockOperator of A."""
        return self._operators()[0]

    @property
    def At(self):
        """SparseOperator / BlockOperator of Aᵀ."""
        return self._operators()[1]

    def _operators(self):
        if getattr(self, "_ops", None) is None:
            self._ops = operator_pair(self.A_data, self.device)
        return self._ops

    @property
    def A_block(self):
        """The BlockMatrix form of A, or None."""
        return self.A_data if isinstance(self.A_data, BlockMatrix) else None

    @property
    def A_sp(self) -> sp.csc_matrix:
        """A as a scipy CSC matrix (a BlockMatrix is materialized once, for the generic backends)."""
        if self.A_block is None:
            return self.A_data
        if getattr(self, "_A_csc", None) is None:
            self._A_csc = self.A_data.tocsc()
        return self._A_csc

    @property
    def n(self) -> int:
        return self.A_data.shape[1]

    @property
    def m(self) -> int:
        return self.A_data.shape[0]


def kkt_problem(P, A, device) -> KKTProblem:
    """The :class:`KKTProblem` of (P, A) on ``device``: P, A scipy matrices (A may be a
    :class:`~mlopt.ipm.block_matrix.BlockMatrix`), with their product operators."""
    dev = torch.device(device)
    P = sp.csc_matrix(P)
    A = A if isinstance(A, BlockMatrix) else sp.csc_matrix(A)
    return KKTProblem(P, A, SparseOperator(P, dev), dev)


def apply_blocks(blocks: List[ScalingBlock], v: torch.Tensor) -> torch.Tensor:
    """H v for H given by its scaling blocks."""
    out = torch.zeros_like(v)
    for blk in blocks:
        if blk.kind == "diag":
            scatter_(out, blk.rows, blk.H * gather(v, blk.rows))
        elif blk.kind == "dense":
            if blk.W is not None:  # H = WᵀW from its component-first factor (r, d, k)
                rows = blk.rows.T
                scatter_(out, rows, factor_matvec_cf(blk.W, gather(v, rows)))
            else:
                scatter_(out, blk.rows, torch.einsum("kij,kj->ki", blk.H, gather(v, blk.rows)))
    return out


def spmv(M, v: torch.Tensor) -> torch.Tensor:
    """M v for a :class:`~mlopt.ipm.problem.SparseOperator` M."""
    return M @ v


class KKTSolver:
    """Base class: iterative refinement on top of a regularized factorisation."""

    name = "base"
    #: backends whose ``_factor(blocks, eps, exact=True)`` can factor K itself (ε only where H = 0)
    #: set this; :meth:`update` then tries the exact factorisation before K_ε
    exact_ok = False

    @property
    def factor_cost_in_solves(self) -> float:
        """Estimated cost of one factorization in units of one (refined) solve, from flop counts; 0 when
        unknown.  The core loop adds centrality correctors (extra solves with the same factors) only
        where this is large: see ``IPMSettings.centrality_correctors``."""
        return 0.0

    def __init__(self, problem: KKTProblem, blocks: List[ScalingBlock], settings) -> None:
        self.problem = problem
        self.settings = settings
        self.blocks = blocks
        self.eps = settings.static_regularization_constant

    # --- to implement ---------------------------------------------------------
    def _factor(self, blocks: List[ScalingBlock], eps: float) -> bool:
        raise NotImplementedError

    def _solve_reg(self, rx: torch.Tensor, rz: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    # --- interface used by the core loop ------------------------------------------
    def update(self, blocks: List[ScalingBlock], reg: Regularization) -> bool:
        """Take the new scaling blocks and factor K (if ``exact_ok``), else K_ε; enlarge ε on failure
        if allowed."""
        self.blocks = blocks
        if self.exact_ok:
            try:
                ok = self._factor(blocks, reg.static, exact=True)
            except (RuntimeError, ValueError, ArithmeticError):
                ok = False
            if ok:
                self.eps = reg.static
                return True
        eps = reg.static
        for _ in range(4 if reg.dynamic_enable else 1):
            try:
                ok = self._factor(blocks, eps)
            except (RuntimeError, ValueError, ArithmeticError):
                ok = False
            if ok:
                self.eps = eps
                return True
            eps = max(eps * 100, reg.dynamic_delta)
        return False

    def apply_A(self, x: torch.Tensor, z: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(Aᵀz, Ax): the products of the core loop's residuals (a backend that splits A may
        compute them from its blocks)."""
        p = self.problem
        return spmv(p.At, z), spmv(p.A, x)

    def apply_K(self, x: torch.Tensor, z: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Exact K [x; z] = [Px + Aᵀz; Ax − Hz]."""
        p = self.problem
        return (spmv(p.P, x) + spmv(p.At, z), spmv(p.A, x) - apply_blocks(self.blocks, z))

    def solve(self, rx: torch.Tensor, rz: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Solve K [x; z] = [rx; rz] with the factorisation plus iterative refinement."""
        x, z = self._solve_reg(rx, rz)
        st = self.settings
        if not st.iterative_refinement_enable:
            return x, z
        normb = max(float(rx.abs().max()) if rx.numel() else 0.0, float(rz.abs().max()))
        kx, kz = self.apply_K(x, z)
        ex, ez = rx - kx, rz - kz
        norme = _inf(ex, ez)
        for _ in range(st.iterative_refinement_max_iter):
            if not norme > st.iterative_refinement_abstol + st.iterative_refinement_reltol * normb:
                break
            dx, dz = self._solve_reg(ex, ez)
            xn, zn = x + dx, z + dz
            kx, kz = self.apply_K(xn, zn)
            exn, ezn = rx - kx, rz - kz
            normen = _inf(exn, ezn)
            ratio = norme / normen if normen > 0 else float("inf")
            if ratio < st.iterative_refinement_stop_ratio:
                if ratio > 1:
                    x, z = xn, zn
                break
            x, z, ex, ez, norme = xn, zn, exn, ezn, normen
        return x, z


def _inf(a: torch.Tensor, b: torch.Tensor) -> float:
    va = float(a.abs().max()) if a.numel() else 0.0
    vb = float(b.abs().max()) if b.numel() else 0.0
    return max(va, vb)
