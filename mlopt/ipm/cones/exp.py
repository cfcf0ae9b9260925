"""Exponential cones, batched as (k, 3) tensors, with a primal–dual (Dahl–Andersen) scaling.

K_exp = closure{(x, y, z): y > 0, y·exp(x/y) ≤ z},
K_exp* = closure{(u, v, w): u < 0, −u·exp(v/u) ≤ e·w}.

Dual barrier (ν = 3):  f*(u, v, w) = −log(v − u − u·log(−w/u)) − log(−u) − log(w).
The primal barrier is its conjugate f; its gradient and value use the Wright omega
function ω (ω + log ω = t).  The scaling H = WᵀW satisfies H z = s and H z̃ = s̃ with
s̃ = −∇f*(z), z̃ = −∇f(s):  H = s sᵀ/⟨s,z⟩ + δs δsᵀ/⟨δs,δz⟩ + t·aaᵀ  (δs = s − μs̃,
δz = z − μz̃, a ⟂ {z, z̃}), the rank-3 BFGS-type update of Dahl & Andersen (2021), and
falls back to the dual scaling μ∇²f*(z) near the central path.  The corrector uses the
third-order term η = ½∇³f*(z)[Δz, (∇²f*(z))⁻¹Δs].
"""
from __future__ import annotations

import math

import torch

from .base import ConeGroup, ScalingBlock

_UNIT = (-1.051383945322714, 0.556409619469370, 1.258967884768947)
_EPS = 2.220446049250313e-16


def wright_omega(t: torch.Tensor) -> torch.Tensor:
    """ω(t) solving ω + log ω = t, for t ≥ 0 (series start + two fourth-order steps)."""
    zm1 = t - 1
    w_small = 1 + zm1 / 2 + zm1 ** 2 / 16 - zm1 ** 3 / 192 - zm1 ** 4 / 3072 + 13 * zm1 ** 5 / 61440
    tt = t.clamp(min=1.0)
    lz = torch.log(tt)
    w_big = (tt - lz + lz / tt + lz / tt ** 2 * (lz / 2 - 1)
             + lz / tt ** 3 * (lz * lz / 3 - 1.5 * lz + 1))
    w = torch.where(t < 1 + math.pi, w_small, w_big)
    r = t - w - torch.log(w)
    for _ in range(2):
        wp1 = w + 1
        tq = wp1 * (wp1 + 2 * r / 3)
        w = w * (1 + (r / wp1) * (tq - r / 2) / (tq - r))
        r = (2 * w * w - 8 * w - 1) / (72 * wp1 ** 6) * r ** 4
    return w


def primal_feasible(s: torch.Tensor) -> torch.Tensor:
    ok = (s[:, 1] > 0) & (s[:, 2] > 0)
    y = torch.where(ok, s[:, 1], torch.ones_like(s[:, 1]))
    zz = torch.where(ok, s[:, 2], torch.ones_like(s[:, 2]))
    return ok & (y * torch.log(zz / y) - s[:, 0] > 0)


def dual_feasible(z: torch.Tensor) -> torch.Tensor:
    ok = (z[:, 0] < 0) & (z[:, 2] > 0)
    u = torch.where(ok, z[:, 0], -torch.ones_like(z[:, 0]))
    w = torch.where(ok, z[:, 2], torch.ones_like(z[:, 2]))
    return ok & (z[:, 1] - u - u * torch.log(-w / u) > 0)


def dual_grad_hess(z: torch.Tensor):
    """∇f*(z) (k, 3) and ∇²f*(z) (k, 3, 3)."""
    u, v, w = z[:, 0], z[:, 1], z[:, 2]
    l = torch.log(-w / u)
    r = -u * l - u + v
    c2 = 1 / r
    g = torch.stack([c2 * l - 1 / u, -c2, (c2 * u - 1) / w], dim=1)
    r2 = r * r
    H = torch.empty(z.shape[0], 3, 3, dtype=z.dtype, device=z.device)
    H[:, 0, 0] = (r2 - u * r + l * l * u * u) / (r2 * u * u)
    H[:, 0, 1] = H[:, 1, 0] = -l / r2
    H[:, 1, 1] = 1 / r2
    H[:, 0, 2] = H[:, 2, 0] = (v - u) / (r2 * w)
    H[:, 1, 2] = H[:, 2, 1] = -u / (r2 * w)
    H[:, 2, 2] = (r2 - u * r + u * u) / (r2 * w * w)
    return g, H


def dual_hess_apply(z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("kij,kj->ki", dual_grad_hess(z)[1], x)


def primal_grad(s: torch.Tensor) -> torch.Tensor:
    """∇f(s) of the primal barrier f = (f*)^conjugate."""
    om = wright_omega(1 - s[:, 0] / s[:, 1] - torch.log(s[:, 1] / s[:, 2]))
    g0 = 1 / ((om - 1) * s[:, 1])
    g1 = g0 + g0 * torch.log(om * s[:, 1] / s[:, 2]) - 1 / s[:, 1]
    g2 = om / ((1 - om) * s[:, 2])
    return torch.stack([g0, g1, g2], dim=1)


def primal_barrier(s: torch.Tensor) -> torch.Tensor:
    om = wright_omega(1 - s[:, 0] / s[:, 1] - torch.log(s[:, 1] / s[:, 2]))
    return -torch.log((om - 1) ** 2 / om) - 2 * torch.log(s[:, 1]) - torch.log(s[:, 2]) - 3


def dual_barrier(z: torch.Tensor) -> torch.Tensor:
    u, v, w = z[:, 0], z[:, 1], z[:, 2]
    return -torch.log(-w * u) - torch.log(v - u - u * torch.log(-w / u))


def solve3(H: torch.Tensor, r: torch.Tensor):
    """Batched solve of symmetric 3×3 systems H u = r by the adjugate; also 'H is PD'."""
    a, b, c = H[:, 0, 0], H[:, 0, 1], H[:, 0, 2]
    d, e, f = H[:, 1, 1], H[:, 1, 2], H[:, 2, 2]
    A0, B0, C0 = d * f - e * e, c * e - b * f, b * e - c * d
    D0, E0, F0 = a * f - c * c, b * c - a * e, a * d - b * b
    det = a * A0 + b * B0 + c * C0
    ok = (a > 0) & (F0 > 0) & (det > 0)
    det = torch.where(ok, det, torch.ones_like(det))
    r0, r1, r2 = r[:, 0], r[:, 1], r[:, 2]
    u = torch.stack([A0 * r0 + B0 * r1 + C0 * r2,
                     B0 * r0 + D0 * r1 + E0 * r2,
                     C0 * r0 + E0 * r1 + F0 * r2], dim=1) / det[:, None]
    return u, ok


def backtrack(x, dx, alpha_max, step, alpha_min, feasible) -> float:
    """Per-cone backtracking α ← step·α until x + α dx is interior; returns the min."""
    alpha = torch.full((x.shape[0],), float(alpha_max), dtype=x.dtype, device=x.device)
    for _ in range(200):
        bad = ~feasible(x + alpha[:, None] * dx)
        if not bool(bad.any()):
            break
        alpha = torch.where(bad, alpha * step, alpha)
        if float(alpha.min()) < alpha_min:
            return 0.0
    return float(alpha.min())


class ExponentialGroup(ConeGroup):
    kind = "exp"
    symmetric = False

    def __init__(self, idx):
        super().__init__(idx)
        k = idx.shape[0]
        self.k = k
        eye = torch.eye(3, dtype=torch.float64, device=idx.device)
        self.Hs = eye.expand(k, 3, 3).clone()
        self.H_dual = self.Hs.clone()
        self.grad = torch.zeros(k, 3, dtype=torch.float64, device=idx.device)
        self.z = torch.zeros(k, 3, dtype=torch.float64, device=idx.device)

    @property
    def degree(self) -> int:
        return 3 * self.k

    def unit_initialization(self):
        u = torch.tensor(_UNIT, dtype=torch.float64, device=self.idx.device).expand(self.k, 3)
        return u.clone(), u.clone()

    def margins(self, z, primal):  # never used: asymmetric problems start at the unit point
        raise RuntimeError("exponential cones use unit initialization")

    def scaled_unit_shift(self, z, alpha, primal):
        raise RuntimeError("exponential cones use unit initialization")

    def set_identity_scaling(self):
        self.Hs = torch.eye(3, dtype=torch.float64, device=self.idx.device).expand(self.k, 3, 3).clone()

    def update_scaling(self, s, z, mu, dual_only):
        if not bool((primal_feasible(s) & dual_feasible(z)).all()):
            return False
        self.grad, self.H_dual = dual_grad_hess(z)
        self.z = z.clone()
        if dual_only:
            self.Hs = mu * self.H_dual
            return True
        # primal–dual scaling (signs: st = ∇f*(z) = −s̃, zt = ∇f(s) = −z̃)
        zt = primal_grad(s)
        st = self.grad
        dot_sz = (s * z).sum(1)
        mu_c = dot_sz / 3
        mut = (st * zt).sum(1) / 3
        ds = s + mu_c[:, None] * st
        dz = z + mu_c[:, None] * zt
        dot_dsdz = (ds * dz).sum(1)
        de1 = mu_c * mut - 1
        Hzt = torch.einsum("kij,kj->ki", self.H_dual, zt)
        de2 = (zt * Hzt).sum(1) - 3 * mut * mut
        ok = (de1.abs() > math.sqrt(_EPS)) & (de2.abs() > _EPS) & (dot_sz > 0) & (dot_dsdz > 0)
        de2s = torch.where(ok, de2, torch.ones_like(de2))
        tmp = mut[:, None] * st - Hzt
        M = self.H_dual - st[:, :, None] * st[:, None, :] / 3 - tmp[:, :, None] * tmp[:, None, :] / de2s[:, None, None]
        t = mu_c * torch.linalg.matrix_norm(M)
        axis = torch.linalg.cross(z, zt, dim=1)
        axis = axis / torch.linalg.vector_norm(axis, dim=1, keepdim=True).clamp(min=1e-300)
        dot_sz_s = torch.where(ok, dot_sz, torch.ones_like(dot_sz))
        dot_dsdz_s = torch.where(ok, dot_dsdz, torch.ones_like(dot_dsdz))
        Hpd = (s[:, :, None] * s[:, None, :] / dot_sz_s[:, None, None]
               + ds[:, :, None] * ds[:, None, :] / dot_dsdz_s[:, None, None]
               + t[:, None, None] * axis[:, :, None] * axis[:, None, :])
        # near the central path (or when the update is ill-defined) fall back to the dual
        # scaling with the cone's own μᵢ = ⟨sᵢ, zᵢ⟩/3, not the global μ
        self.Hs = torch.where(ok[:, None, None], Hpd, mu_c[:, None, None] * self.H_dual)
        return bool(torch.isfinite(self.Hs).all())

    def scaling_block(self):
        return ScalingBlock("dense", self.idx, self.Hs)

    def mul_H(self, v):
        return torch.einsum("kij,kj->ki", self.Hs, v)

    def affine_ds(self, s, z):
        return s.clone()

    def higher_correction(self, ds: torch.Tensor, dz: torch.Tensor) -> torch.Tensor:
        """η = ½ ∇³f*(z)[Δz, u] with u = (∇²f*(z))⁻¹Δs (directional derivative of the Hessian)."""
        u, ok = solve3(self.H_dual, ds)
        _, dHu = torch.func.jvp(lambda zz: dual_hess_apply(zz, u), (self.z,), (dz,))
        eta = 0.5 * dHu
        return torch.where(ok[:, None], eta, torch.zeros_like(eta))

    def combined_ds_shift(self, dz, ds, sigma_mu):
        return sigma_mu * self.grad - self.higher_correction(ds, dz)

    def ds_from_dz_offset(self, d):
        return d

    def step_length(self, dz, ds, z, s, alpha_max, backtrack_step, alpha_min):
        az = backtrack(z, dz, alpha_max, backtrack_step, alpha_min, dual_feasible)
        as_ = backtrack(s, ds, alpha_max, backtrack_step, alpha_min, primal_feasible)
        return az, as_

    def barrier(self, z, s, dz, ds, alpha):
        zz, ss = z + alpha * dz, s + alpha * ds
        if not bool((dual_feasible(zz) & primal_feasible(ss)).all()):
            return torch.tensor(float("inf"), dtype=z.dtype, device=z.device)
        return (dual_barrier(zz) + primal_barrier(ss)).sum()
