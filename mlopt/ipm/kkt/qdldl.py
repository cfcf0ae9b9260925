"""Sparse KKT backend: quasi-definite LDLᵀ of the full KKT matrix with the ``qdldl`` package.

The upper triangle of K_ε = [P + εI, Aᵀ; A, −(H + εI)] is assembled once as a CSC
pattern; each update only refills its values (through a precomputed index map) and
refactors numerically.  CPU only (tensors are moved to the CPU and back).
"""
from __future__ import annotations

from typing import List

import numpy as np
import scipy.sparse as sp
import torch

from ..cones import ScalingBlock
from .base import KKTProblem, KKTSolver


class QDLDLKKTSolver(KKTSolver):
    name = "qdldl"

    def __init__(self, problem: KKTProblem, blocks: List[ScalingBlock], settings) -> None:
        import qdldl  # noqa: F401  (fail early if missing)

        super().__init__(problem, blocks, settings)
        n, m = problem.n, problem.m
        N = n + m
        Pu = sp.coo_matrix(sp.triu(problem.P_sp))
        At = sp.coo_matrix(problem.A_sp.T)
        rows = [Pu.row, np.arange(n), At.row, n + np.arange(m)]
        cols = [Pu.col, np.arange(n), n + At.col, n + np.arange(m)]
        self._fixed = [Pu.data, At.data]
        # scaling blocks: upper triangle of each dense block
        self._block_sel = []
        for blk in blocks:
            r = blk.rows.cpu().numpy()
            if blk.kind == "diag":
                rows.append(n + r)
                cols.append(n + r)
                self._block_sel.append(None)
            elif blk.kind == "dense":
                d = r.shape[1]
                iu = np.triu_indices(d)
                rows.append((n + r[:, iu[0]]).ravel())
                cols.append((n + r[:, iu[1]]).ravel())
                self._block_sel.append(iu)
        rows = np.concatenate(rows).astype(np.int64)
        cols = np.concatenate(cols).astype(np.int64)
        key = cols * N + rows
        ukey, self._inv = np.unique(key, return_inverse=True)
        self._nnz = ukey.shape[0]
        indices = (ukey % N).astype(np.int32)
        colidx = ukey // N
        indptr = np.zeros(N + 1, dtype=np.int32)
        np.cumsum(np.bincount(colidx, minlength=N), out=indptr[1:])
        self._indices, self._indptr, self._N = indices, indptr, N
        self._solver = None

    def _values(self, blocks: List[ScalingBlock], eps: float) -> np.ndarray:
        n, m = self.problem.n, self.problem.m
        vals = [self._fixed[0], np.full(n, eps), self._fixed[1], np.full(m, -eps)]
        for blk, sel in zip([b for b in blocks if b.kind != "zero"], self._block_sel):
            H = blk.H.detach().cpu().numpy()
            if blk.kind == "diag":
                vals.append(-H)
            else:
                vals.append(-H[:, sel[0], sel[1]].ravel())
        vals = np.concatenate(vals)
        return np.bincount(self._inv, weights=vals, minlength=self._nnz)

    def _factor(self, blocks: List[ScalingBlock], eps: float) -> bool:
        import qdldl

        data = self._values(blocks, eps)
        K = sp.csc_matrix((data, self._indices, self._indptr), shape=(self._N, self._N))
        if self._solver is None:
            self._solver = qdldl.Solver(K, upper=True)
        else:
            self._solver.update(K, upper=True)
        # a cheap breakdown test: solve with a ones vector and check finiteness
        probe = self._solver.solve(np.ones(self._N))
        return bool(np.all(np.isfinite(probe)))

    def _solve_reg(self, rx, rz):
        n = self.problem.n
        rhs = torch.cat([rx, rz]).detach().cpu().numpy()
        sol = torch.as_tensor(self._solver.solve(rhs), dtype=torch.float64, device=rx.device)
        return sol[:n], sol[n:]
