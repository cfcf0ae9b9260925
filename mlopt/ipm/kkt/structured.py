"""Structured KKT backend for sample-separable problems (linear models: n samples ≫ features).

Variables split into global columns G (coefficients, intercept, penalty epigraphs) and
per-sample local columns Lᵢ (ℓ each); rows split into global rows (touching G only) and
per-sample rows Rᵢ (r each) that touch Lᵢ and — only in the c *coupling* rows of each
sample — the global columns (through xᵢ).  With H_ε = H + εI the regularized KKT system

    [P_GG+ε   0        A_cᵀ      A_gᵀ ] [x_G]   [r_G]
    [0        Kᵢ (per sample, ℓ+r)     ] [uᵢ ] = [rᵢ ]      Kᵢ = [P_LL,ᵢ+ε  Bᵢᵀ; Bᵢ  −H_ε,ᵢ]
    [A_g      0        0        −H_ε,g] [z_g]   [r_g]

is solved by eliminating each sample block and the global rows, which leaves the |G|×|G|
Schur complement

    S = P_GG + εI + A_gᵀ H_ε,g⁻¹ A_g + A_cᵀ D A_c,     Dᵢ = −[Kᵢ⁻¹]_cc  (c×c, positive definite),

formed by one GEMM and factored by Cholesky.  Each Kᵢ is factored as LDLᵀ without
pivoting (it is quasi-definite) in the order [non-coupling z | local x | coupling z]:
eliminating the first ℓ + r − c unknowns leaves Sᵢ = −Dᵢ⁻¹ in the trailing c×c corner.
The per-sample blocks are stored "structure of arrays", shape (ℓ+r, ℓ+r, n), so every
step of the small factorisations and substitutions is one vectorized op over all
samples (a Python loop runs only over the ℓ + r positions of the block).
Iterative refinement (base class) then removes the ε bias.  The structure (which
rows/columns are global or belong to which sample) is passed as a
:class:`SampleStructure` in the ``kkt_structure`` setting; it refers to the original
row/column numbering, which equilibration does not permute.
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
class SampleStructure:
    """Which rows and columns of (P, A) are global and which belong to each sample.

    global_cols : (|G|,) column indices of the global variables.
    local_cols  : (n, ℓ) column indices of each sample's local variables.
    sample_rows : (n, r) row indices of each sample's constraint rows.
    coupling    : (c,) positions (in 0..r−1) of the rows of a sample that touch global columns.
    global_rows : (m_g,) row indices of the rows that touch only global columns.
    """

    global_cols: np.ndarray
    local_cols: np.ndarray
    sample_rows: np.ndarray
    coupling: np.ndarray
    global_rows: np.ndarray

    def check(self, m: int, n_cols: int) -> None:
        """ValueError unless the rows and columns are each partitioned exactly once."""
        rows = np.concatenate([self.global_rows.ravel(), self.sample_rows.ravel()])
        cols = np.concatenate([self.global_cols.ravel(), self.local_cols.ravel()])
        if rows.size != m or not np.array_equal(np.sort(rows), np.arange(m)):
            raise ValueError("kkt_structure: global_rows and sample_rows must partition the rows of A")
        if cols.size != n_cols or not np.array_equal(np.sort(cols), np.arange(n_cols)):
            raise ValueError("kkt_structure: global_cols and local_cols must partition the columns of A")
        if self.sample_rows.ndim != 2 or self.local_cols.ndim != 2 or \
                self.sample_rows.shape[0] != self.local_cols.shape[0] or self.sample_rows.shape[0] == 0:
            raise ValueError("kkt_structure: sample_rows (n, r) and local_cols (n, ℓ) need the same n ≥ 1")
        c = np.asarray(self.coupling)
        if c.ndim != 1 or c.size == 0 or c.min() < 0 or c.max() >= self.sample_rows.shape[1]:
            raise ValueError("kkt_structure: coupling must list positions 0..r−1 of the coupling rows")


def _lookup(index: np.ndarray, size: int) -> Tuple[np.ndarray, np.ndarray]:
    """For an (n, k) index array: owner sample and position of every entry 0..size−1 (−1 if absent)."""
    owner = np.full(size, -1, dtype=np.int64)
    pos = np.full(size, -1, dtype=np.int64)
    n, k = index.shape
    owner[index.ravel()] = np.repeat(np.arange(n), k)
    pos[index.ravel()] = np.tile(np.arange(k), n)
    return owner, pos


class StructuredKKTSolver(KKTSolver):
    """Schur complement on the global variables; per-sample blocks eliminated in batch."""

    name = "structured"

    def __init__(self, problem: KKTProblem, blocks: List[ScalingBlock], settings) -> None:
        super().__init__(problem, blocks, settings)
        st = getattr(settings, "kkt_structure", None)
        if not isinstance(st, SampleStructure):
            raise ValueError("kkt_solver='structured' needs the setting kkt_structure=SampleStructure(...) "
                             "(built by mlopt.structured.assemble)")
        st.check(problem.m, problem.n)
        dev, f64 = problem.device, dict(dtype=torch.float64, device=problem.device)
        self.dev = dev
        n, ell = st.local_cols.shape
        r = st.sample_rows.shape[1]
        self.ns, self.ell, self.r = n, ell, r
        self.nb = ell + r
        m, N = problem.m, problem.n
        row_owner, row_pos = _lookup(st.sample_rows, m)
        col_owner, col_pos = _lookup(st.local_cols, N)
        gcol_pos = np.full(N, -1, dtype=np.int64)
        gcol_pos[st.global_cols] = np.arange(st.global_cols.size)
        grow_pos = np.full(m, -1, dtype=np.int64)
        grow_pos[st.global_rows] = np.arange(st.global_rows.size)
        coup_of_pos = np.full(r, -1, dtype=np.int64)
        coup_of_pos[st.coupling] = np.arange(st.coupling.size)
        self.c = c = st.coupling.size
        nG, mg = st.global_cols.size, st.global_rows.size
        self.nG, self.mg = nG, mg

        # ---- split A: local blocks B (n, r, ℓ), coupling A_c (n, c, |G|), global A_g (m_g, |G|)
        A = sp.coo_matrix(problem.A_sp)
        i, j, v = A.row, A.col, A.data
        keep = v != 0
        i, j, v = i[keep], j[keep], v[keep]
        ro, co = row_owner[i], col_owner[j]
        both = (ro >= 0) & (co >= 0)
        if np.any(ro[both] != co[both]):
            raise ValueError("kkt_structure: a sample row touches another sample's local column")
        if np.any((ro < 0) & (co >= 0)):
            raise ValueError("kkt_structure: a global row touches a local column")
        Kstat = np.zeros((n, self.nb, self.nb))
        bi, bj, bv = i[both], j[both], v[both]
        np.add.at(Kstat, (ro[both], ell + row_pos[bi], col_pos[bj]), bv)
        np.add.at(Kstat, (ro[both], col_pos[bj], ell + row_pos[bi]), bv)
        cpl = (ro >= 0) & (co < 0)
        kc = coup_of_pos[row_pos[i[cpl]]]
        if np.any(kc < 0):
            raise ValueError("kkt_structure: a non-coupling sample row touches a global column")
        # restrict the coupling block to the global columns it really touches
        gc_all = gcol_pos[j[cpl]]
        touched = np.unique(gc_all)
        self.Gc = torch.as_tensor(touched, dtype=torch.long, device=dev)
        self.Gc_all = touched.size == nG
        where = np.full(nG, -1, dtype=np.int64)
        where[touched] = np.arange(touched.size)
        Ac = np.zeros((n, c, touched.size))
        np.add.at(Ac, (ro[cpl], kc, where[gc_all]), v[cpl])
        self.Ac = torch.as_tensor(Ac.reshape(n * c, touched.size), **f64)
        glob = ro < 0
        Ag = np.zeros((mg, nG))
        np.add.at(Ag, (grow_pos[i[glob]], gcol_pos[j[glob]]), v[glob])
        self.Ag = torch.as_tensor(Ag, **f64)

        # ---- split P: P_GG dense, per-sample P_LL into K; P_LG must vanish
        Pc = sp.coo_matrix(problem.P_sp)
        pi, pj, pv = Pc.row, Pc.col, Pc.data
        po, qo = col_owner[pi], col_owner[pj]
        if np.any((po >= 0) != (qo >= 0)) or np.any(po[po >= 0] != qo[po >= 0]):
            raise ValueError("kkt_structure: P couples local variables to global or other samples' variables")
        loc = po >= 0
        np.add.at(Kstat, (po[loc], col_pos[pi[loc]], col_pos[pj[loc]]), pv[loc])
        PGG = np.zeros((nG, nG))
        np.add.at(PGG, (gcol_pos[pi[~loc]], gcol_pos[pj[~loc]]), pv[~loc])
        self.PGG = torch.as_tensor(PGG, **f64)
        # block order [non-coupling z | local x | coupling z]; newpos[natural position]
        noncpl = np.setdiff1d(np.arange(r), st.coupling)
        order = np.concatenate([ell + noncpl, np.arange(ell), ell + st.coupling])
        self.newpos = newpos = np.empty(self.nb, dtype=np.int64)
        newpos[order] = np.arange(self.nb)
        self.ny = self.nb - c
        Kperm = Kstat[:, order][:, :, order]
        self.Kstat = torch.as_tensor(np.ascontiguousarray(Kperm.transpose(1, 2, 0)), **f64)  # (nb, nb, n)
        sign = np.where(order < ell, 1.0, -1.0)
        self.sign = torch.as_tensor(sign[:, None], **f64)
        self.sign_y = self.sign[: self.ny, 0]
        # gather index of the block unknowns in the stacked vector [x; z], shape (nb, n)
        nat = np.concatenate([st.local_cols, N + st.sample_rows], axis=1)  # (n, nb) natural order
        self.idx = torch.as_tensor(np.ascontiguousarray(nat[:, order].T), dtype=torch.long, device=dev)

        # ---- index maps: x/z vectors <-> (per-sample, global) pieces
        self.gcols = torch.as_tensor(st.global_cols, dtype=torch.long, device=dev)
        self.lcols = torch.as_tensor(st.local_cols, dtype=torch.long, device=dev)
        self.srows = torch.as_tensor(st.sample_rows, dtype=torch.long, device=dev)
        self.grows = torch.as_tensor(st.global_rows, dtype=torch.long, device=dev)
        self._block_maps = self._map_blocks(blocks, row_owner, row_pos, grow_pos)

    # ------------------------------------------------------------------ setup helpers
    def _map_blocks(self, blocks, row_owner, row_pos, grow_pos):
        """Per scaling block: where its H entries go in the flattened K (samples) and H_g (global)."""
        maps, nb, ell, mg = [], self.nb, self.ell, self.mg
        self.global_dense = False
        for blk in blocks:
            if blk.kind == "zero":
                maps.append(None)
                continue
            rows = blk.rows.detach().cpu().numpy()
            if blk.kind == "diag":
                ra, rb = rows, rows
            else:
                k, d = rows.shape
                ra = np.broadcast_to(rows[:, :, None], (k, d, d)).ravel()
                rb = np.broadcast_to(rows[:, None, :], (k, d, d)).ravel()
            own_a, own_b = row_owner[ra], row_owner[rb]
            if np.any(own_a != own_b):
                raise ValueError("kkt_structure: a cone mixes rows of different samples (or global rows)")
            s_sel = np.nonzero(own_a >= 0)[0]
            g_sel = np.nonzero(own_a < 0)[0]
            pa, pb = self.newpos[ell + row_pos[ra[s_sel]]], self.newpos[ell + row_pos[rb[s_sel]]]
            flat_s = (pa * nb + pb) * self.ns + own_a[s_sel]
            if blk.kind == "dense" and g_sel.size:
                self.global_dense = True
            flat_g = grow_pos[ra[g_sel]] * mg + grow_pos[rb[g_sel]]
            t = lambda a: torch.as_tensor(a, dtype=torch.long, device=self.dev)  # noqa: E731
            maps.append((t(s_sel), t(flat_s), t(g_sel), t(flat_g), t(grow_pos[ra[g_sel]])))
        return maps

    # ------------------------------------------------------------------ factor
    def _factor(self, blocks: List[ScalingBlock], eps: float) -> bool:
        self.blocks = blocks
        n, ny, c, mg = self.ns, self.ny, self.c, self.mg
        K = self.Kstat.clone()
        Kf = K.view(-1)
        f64 = dict(dtype=torch.float64, device=self.dev)
        Hg = torch.zeros(mg * mg if self.global_dense else mg, **f64)
        for blk, mp in zip(blocks, self._block_maps):
            if mp is None:
                continue
            s_sel, flat_s, g_sel, flat_g, gdiag = mp
            vals = blk.H.reshape(-1)
            Kf.index_put_((flat_s,), -vals[s_sel], accumulate=True)
            if g_sel.numel():
                if self.global_dense:
                    Hg.index_put_((flat_g,), vals[g_sel], accumulate=True)
                else:
                    Hg.index_put_((gdiag,), vals[g_sel], accumulate=True)
        K.diagonal(dim1=0, dim2=1).add_((eps * self.sign).T)
        # ---- LDLᵀ of the first ny unknowns of every sample block (no pivoting: quasi-definite)
        piv = torch.empty(ny, n, dtype=torch.float64, device=self.dev)
        for k in range(ny):  # pivot signs are checked once after the loop (no per-step device sync)
            d = K[k, k]
            piv[k] = d
            lk = K[k + 1:, k] / d
            K[k + 1:, k + 1:] -= lk[:, None, :] * K[k, k + 1:][None, :, :]
            K[k + 1:, k] = lk
        if not bool((piv * self.sign_y[:, None] > 0).all()):
            return False
        Sc = K[ny:, ny:]  # (c, c, n) = −Dᵢ⁻¹, negative definite
        if c == 1:
            if not bool((Sc[0, 0] < 0).all()):
                return False
            D = (-1.0 / Sc[0, 0])[:, None, None]  # (n, 1, 1)
        else:
            Sinv, info = torch.linalg.inv_ex(Sc.permute(2, 0, 1))
            if bool((info != 0).any()):
                return False
            D = -0.5 * (Sinv + Sinv.transpose(1, 2))  # (n, c, c)
        S = self.PGG.clone()
        S.diagonal().add_(eps)
        if mg:
            if self.global_dense:
                Hm = Hg.view(mg, mg)
                Hm.diagonal().add_(eps)
                Lh, inf_h = torch.linalg.cholesky_ex(Hm)
                if int(inf_h) != 0:
                    return False
                self.Lh = Lh
                S += self.Ag.T @ torch.cholesky_solve(self.Ag, Lh)
            else:
                self.hg_inv = 1.0 / (Hg + eps)
                S += self.Ag.T @ (self.hg_inv[:, None] * self.Ag)
        if c == 1:
            DA = D.reshape(n, 1) * self.Ac
        else:
            DA = torch.bmm(D, self.Ac.view(n, c, -1)).reshape(n * c, -1)
        SG = self.Ac.T @ DA
        if self.Gc_all:
            S += SG
        else:
            S[self.Gc[:, None], self.Gc[None, :]] += SG
        L, info = torch.linalg.cholesky_ex(S)
        if int(info) != 0 or not bool(torch.isfinite(L).all()):
            return False
        self.K, self.D, self.L = K, D, L
        self.piv = piv  # (ny, n) pivots
        return True

    def _hg_solve(self, v: torch.Tensor) -> torch.Tensor:
        if self.global_dense:
            return torch.cholesky_solve(v[:, None], self.Lh)[:, 0]
        return self.hg_inv * v

    # ------------------------------------------------------------------ solve
    def _solve_reg(self, rx: torch.Tensor, rz: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        n, ny, c, K = self.ns, self.ny, self.c, self.K
        N = rx.shape[0]
        v = torch.cat([rx, rz])
        r = v[self.idx]  # (nb, n) block right-hand sides
        for k in range(ny):  # forward substitution with the unit lower factor
            r[k + 1:] -= K[k + 1:, k] * r[k]
        rc = r[ny:].T  # (n, c): coupling right-hand sides after eliminating the rest
        Drc = (self.D @ rc[:, :, None])[:, :, 0]  # Dᵢ r̂ᵢ
        rhs_g = rx[self.gcols].clone()
        if self.mg:
            rhs_g += self.Ag.T @ self._hg_solve(rz[self.grows])
        rhs_g[self.Gc] += self.Ac.T @ Drc.reshape(-1)
        xg = torch.cholesky_solve(rhs_g[:, None], self.L)[:, 0]
        a = (self.Ac @ xg[self.Gc]).view(n, c)
        sol = torch.empty_like(r)
        sol[ny:] = (self.D @ (a - rc)[:, :, None])[:, :, 0].T  # z_c = Sᵢ⁻¹(r̂ᵢ − A_c,i x_G)
        r[:ny] /= self.piv
        for k in range(ny - 1, -1, -1):  # back substitution
            sol[k] = r[k] - (K[k + 1:, k] * sol[k + 1:]).sum(0)
        out = torch.empty_like(v)
        out[self.idx] = sol
        out[self.gcols] = xg
        if self.mg:
            out[N + self.grows] = self._hg_solve(self.Ag @ xg - rz[self.grows])
        return out[:N], out[N:]
