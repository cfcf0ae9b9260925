"""Dense KKT backends in torch (CPU or CUDA).

``"dense"`` (:class:`DenseKKTSolver`): LU with partial pivoting of the full regularized
KKT matrix K_ε = [P + εI, Aᵀ; A, −(H + εI)] (``torch.linalg.lu_factor``); backward
stable, for small or dense problems and for GPUs.

``"dense_normal"`` (:class:`DenseNormalKKTSolver`): eliminating z from K_ε [x; z] = [r_x; r_z] (H_ε = H + εI is block diagonal and
cheap to invert block by block) gives

    S x = r_x + Aᵀ H_ε⁻¹ r_z,    S = P + εI + Aᵀ H_ε⁻¹ A,    z = H_ε⁻¹ (A x − r_z),

with S symmetric positive definite, factored by Cholesky (``torch.linalg.cholesky_ex``).
Cheaper when n ≪ m, but S squares the conditioning of ill-scaled cones (exp cones near
the boundary), so iterative refinement has more to do.
"""
from __future__ import annotations

from typing import List

import torch

from ..cones import ScalingBlock
from ..cones.base import gather, scatter_
from .base import KKTProblem, KKTSolver


class DenseNormalKKTSolver(KKTSolver):
    name = "dense_normal"

    def __init__(self, problem: KKTProblem, blocks: List[ScalingBlock], settings) -> None:
        super().__init__(problem, blocks, settings)
        dev = problem.device
        self.P_dense = torch.as_tensor(problem.P_sp.toarray(), dtype=torch.float64, device=dev)
        self.A_dense = torch.as_tensor(problem.A_sp.toarray(), dtype=torch.float64, device=dev)

    def _apply_Hinv(self, V: torch.Tensor) -> torch.Tensor:
        """H_ε⁻¹ V for V of shape (m,) or (m, n)."""
        out = torch.empty_like(V)
        for blk, inv in zip(self.blocks, self.Hinv):
            Vr = gather(V, blk.rows)  # (k, d) / (k, d, n) for dense blocks, (r,) / (r, n) else
            if blk.kind == "dense":
                eq = "kij,kj->ki" if V.dim() == 1 else "kij,kjn->kin"
                scatter_(out, blk.rows, torch.einsum(eq, inv, Vr))
            else:
                scatter_(out, blk.rows, inv * Vr if V.dim() == 1 else inv[:, None] * Vr)
        return out

    def _factor(self, blocks: List[ScalingBlock], eps: float) -> bool:
        n = self.problem.n
        self.blocks = blocks
        self.Hinv = []
        for blk in blocks:
            if blk.kind == "zero":
                self.Hinv.append(torch.full(blk.rows.shape, 1.0 / eps, dtype=torch.float64,
                                            device=blk.rows.device))
            elif blk.kind == "diag":
                self.Hinv.append(1.0 / (blk.H + eps))
            else:
                d = blk.H.shape[-1]
                Heps = blk.H + eps * torch.eye(d, dtype=blk.H.dtype, device=blk.H.device)
                L, info = torch.linalg.cholesky_ex(Heps)
                if bool((info != 0).any()):
                    return False
                self.Hinv.append(torch.cholesky_inverse(L))
        S = self.A_dense.T @ self._apply_Hinv(self.A_dense) + self.P_dense
        S.diagonal().add_(eps)
        L, info = torch.linalg.cholesky_ex(S)
        if int(info) != 0 or not bool(torch.isfinite(L).all()):
            return False
        self.L = L
        self.n = n
        return True

    def _solve_reg(self, rx, rz):
        Hrz = self._apply_Hinv(rz)
        rhs = rx + self.A_dense.T @ Hrz
        x = torch.cholesky_solve(rhs[:, None], self.L)[:, 0]
        z = self._apply_Hinv(self.A_dense @ x) - Hrz
        return x, z


class DenseKKTSolver(DenseNormalKKTSolver):
    name = "dense"

    def _factor(self, blocks: List[ScalingBlock], eps: float) -> bool:
        n, m = self.problem.n, self.problem.m
        self.blocks = blocks
        K = torch.zeros(n + m, n + m, dtype=torch.float64, device=self.A_dense.device)
        K[:n, :n] = self.P_dense
        K[n:, :n] = self.A_dense
        K[:n, n:] = self.A_dense.T
        Hz = K[n:, n:]
        for blk in blocks:
            if blk.kind == "diag":
                Hz[blk.rows, blk.rows] = -blk.H
            elif blk.kind == "dense":
                k, d = blk.rows.shape
                r = blk.rows
                Hz[r[:, :, None].expand(k, d, d), r[:, None, :].expand(k, d, d)] = -blk.H
        K.diagonal()[:n] += eps
        K.diagonal()[n:] -= eps
        LU, piv, info = torch.linalg.lu_factor_ex(K)
        if int(info) != 0 or not bool(torch.isfinite(LU).all()):
            return False
        self.LU, self.piv, self.n = LU, piv, n
        return True

    def _solve_reg(self, rx, rz):
        rhs = torch.cat([rx, rz])[:, None]
        sol = torch.linalg.lu_solve(self.LU, self.piv, rhs)[:, 0]
        return sol[: self.n], sol[self.n:]
