"""KKT backend for a dense quadratic block plus "diagonal" rows (Gram form of lasso / elastic net).

Columns split into D (P has off-diagonal entries there: w, b of the Gram form) and T (P is
diagonal there: the ℓ₁ epigraph t).  Every row touches at most one D column and at most one
T column (±w_j − t_j ≤ 0, −w_j ≤ 0, lo ≤ w_j ≤ hi) and each T column shares rows with at most
one D column (its partner p(k)); the cones are zero/nonnegative (diagonal H).  With
h = (H + εI)⁻¹ the regularized system K_ε [x; z] = [r_x; r_z] reduces, after z = h(Ax − r_z), to

    [S_DD  M ] [x_D]   [ρ_D]        S_DD = P_DD + εI + diag(a),  a_j = Σ_{i→j} h_i A_ij²
    [Mᵀ    E ] [x_T] = [ρ_T],       E = diag(e),  e_k = P_kk + ε + Σ_{i→k} h_i A_ik²
                                    M = Σ_i h_i A_i,p A_i,k at (p(k), k)   (one entry per column k)

with ρ = r_x + Aᵀ h r_z (:meth:`update` first tries ε = 0 outside zero-cone rows, which
removes the regularization bias; K_ε on a breakdown).  Eliminating the diagonal block E leaves

    (S_DD − diag_p(m_k²/e_k)) x_D = ρ_D − Σ_k (m_k/e_k) ρ_T,k e_p(k),   x_T = (ρ_T − m ⊙ x_D[p]) / e,

a |D|×|D| dense matrix plus a diagonal: one Cholesky per factorisation, O(m) for the rest.
Iterative refinement (base class) removes the ε bias.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Tuple

import numpy as np
import scipy.sparse as sp
import torch

from ..cones import ScalingBlock
from .base import KKTProblem, KKTSolver


@dataclass
class DenseColumns:
    """``kkt_structure`` of the ``diagonal_rows`` backend: the D columns (all others are T).

    Without it, D is the set of columns where P has an off-diagonal entry.
    """

    cols: np.ndarray


class DiagonalRowsKKTSolver(KKTSolver):
    """Dense Cholesky on the D columns after eliminating z and the diagonal T columns."""

    name = "diagonal_rows"
    exact_ok = True  # ε only on zero-cone rows first (base-class update)

    def __init__(self, problem: KKTProblem, blocks: List[ScalingBlock], settings) -> None:
        super().__init__(problem, blocks, settings)
        dev = problem.device
        self.dev = dev
        f64 = dict(dtype=torch.float64, device=dev)
        m, N = problem.m, problem.n
        for blk in blocks:
            if blk.kind == "dense":
                raise ValueError("kkt_solver='diagonal_rows' needs zero/nonnegative cones only "
                                 "(diagonal scaling); use 'dense_normal' or 'qdldl'")
        is_d = np.zeros(N, dtype=bool)
        st = getattr(settings, "kkt_structure", None)
        if isinstance(st, DenseColumns):
            cols = np.asarray(st.cols, dtype=np.int64).ravel()
            if cols.size and (cols.min() < 0 or cols.max() >= N):
                raise ValueError(f"kkt_structure: DenseColumns.cols must lie in 0..{N - 1}")
            is_d[cols] = True
        elif st is not None:
            raise TypeError("kkt_structure for kkt_solver='diagonal_rows' must be a DenseColumns or None")
        else:
            P = sp.coo_matrix(problem.P_sp)
            off = (P.row != P.col) & (P.data != 0)
            is_d[P.row[off]] = True
            is_d[P.col[off]] = True
        P = sp.coo_matrix(problem.P_sp)
        if np.any(~is_d[P.row] & (P.row != P.col) & (P.data != 0)):
            raise ValueError("kkt_solver='diagonal_rows': P has off-diagonal entries outside the dense columns")
        dcols, tcols = np.nonzero(is_d)[0], np.nonzero(~is_d)[0]
        pos = np.empty(N, dtype=np.int64)
        pos[dcols] = np.arange(dcols.size)
        pos[tcols] = np.arange(tcols.size)
        A = sp.coo_matrix(problem.A_sp)
        keep = A.data != 0
        i, j, v = A.row[keep], A.col[keep], A.data[keep]
        on_d = is_d[j]
        # every row: at most one D and one T entry
        if np.bincount(i[on_d], minlength=m).max(initial=0) > 1 or \
                np.bincount(i[~on_d], minlength=m).max(initial=0) > 1:
            raise ValueError("kkt_solver='diagonal_rows' needs every row of A to touch at most one column "
                             "with off-diagonal P entries and at most one other column; use 'dense_normal'")
        drow_col = np.full(m, -1, dtype=np.int64)
        drow_val = np.zeros(m)
        drow_col[i[on_d]] = pos[j[on_d]]
        drow_val[i[on_d]] = v[on_d]
        trow_col = np.full(m, -1, dtype=np.int64)
        trow_val = np.zeros(m)
        trow_col[i[~on_d]] = pos[j[~on_d]]
        trow_val[i[~on_d]] = v[~on_d]
        both = (drow_col >= 0) & (trow_col >= 0)
        partner = np.full(tcols.size, -1, dtype=np.int64)
        partner[trow_col[both]] = drow_col[both]
        check = np.full(tcols.size, -1, dtype=np.int64)
        check[trow_col[both][::-1]] = drow_col[both][::-1]
        if np.any(partner != check):
            raise ValueError("kkt_solver='diagonal_rows' needs every diagonal-P column to share rows "
                             "with at most one other column; use 'dense_normal'")
        t = lambda a: torch.as_tensor(a, dtype=torch.long, device=dev)  # noqa: E731
        self.nd, self.nt, self.m = dcols.size, tcols.size, m
        self.dcols, self.tcols = t(dcols), t(tcols)
        Pd = problem.P_sp[dcols][:, dcols]
        self.PDD = torch.as_tensor(Pd.toarray(), **f64)
        self.PT = torch.as_tensor(problem.P_sp.diagonal()[tcols], **f64)
        # rows of each kind (row index, column position, value) as device tensors
        rd, rt, rb = np.nonzero(drow_col >= 0)[0], np.nonzero(trow_col >= 0)[0], np.nonzero(both)[0]
        self.rd, self.rd_col, self.rd_val = t(rd), t(drow_col[rd]), torch.as_tensor(drow_val[rd], **f64)
        self.rt, self.rt_col, self.rt_val = t(rt), t(trow_col[rt]), torch.as_tensor(trow_val[rt], **f64)
        self.rb, self.rb_t = t(rb), t(trow_col[rb])
        self.rb_dt = torch.as_tensor(drow_val[rb] * trow_val[rb], **f64)
        has_p = partner >= 0
        self.tp, self.tp_d = t(np.nonzero(has_p)[0]), t(partner[has_p])

    def _factor(self, blocks: List[ScalingBlock], eps: float, exact: bool = False) -> bool:
        """Factor the reduced matrix of K_ε (``exact``: of K, with ε only where H = 0)."""
        self.blocks = blocks
        f64 = dict(dtype=torch.float64, device=self.dev)
        Hd = torch.full((self.m,), eps, **f64)  # zero-cone rows keep ε (H = 0)
        for blk in blocks:
            if blk.kind == "diag":
                Hd.index_copy_(0, blk.rows, blk.H if exact else blk.H + eps)
        h = 1.0 / Hd
        xeps = 0.0 if exact else eps
        a = torch.zeros(self.nd, **f64).index_add_(0, self.rd_col, h[self.rd] * self.rd_val ** 2)
        e = (self.PT + xeps).index_add_(0, self.rt_col, h[self.rt] * self.rt_val ** 2)
        mv = torch.zeros(self.nt, **f64).index_add_(0, self.rb_t, h[self.rb] * self.rb_dt)
        S = self.PDD.clone()
        S.diagonal().add_(a + xeps)
        if self.tp.numel():
            S.diagonal().index_add_(0, self.tp_d, -(mv[self.tp] ** 2 / e[self.tp]))
        L, info = torch.linalg.cholesky_ex(S)
        if int(info) != 0 or not bool(torch.isfinite(L).all()) or not bool((e > 0).all()):
            return False
        self.h, self.e, self.mv, self.L = h, e, mv, L
        return True

    def _solve_reg(self, rx: torch.Tensor, rz: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        hz = self.h * rz
        rho_d = rx[self.dcols].index_add(0, self.rd_col, self.rd_val * hz[self.rd])
        rho_t = rx[self.tcols].index_add(0, self.rt_col, self.rt_val * hz[self.rt])
        g = self.mv / self.e  # m_k / e_k
        rhs = rho_d.index_add(0, self.tp_d, -(g * rho_t)[self.tp])
        xd = torch.cholesky_solve(rhs[:, None], self.L)[:, 0]
        xt = rho_t / self.e
        xt = xt.index_add(0, self.tp, -(g[self.tp] * xd[self.tp_d]))
        x = torch.empty_like(rx)
        x[self.dcols] = xd
        x[self.tcols] = xt
        Ax = torch.zeros_like(rz)
        Ax.index_add_(0, self.rd, self.rd_val * xd[self.rd_col])
        Ax.index_add_(0, self.rt, self.rt_val * xt[self.rt_col])
        return x, self.h * Ax - hz
