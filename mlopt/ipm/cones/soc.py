"""Second-order cones of one dimension d, batched as (k, d) tensors, Nesterov–Todd scaling.

For x = (x₀, x₁) write det(x) = x₀² − ‖x₁‖², J = diag(1, −I).  With s̄ = s/√det s,
z̄ = z/√det z, γ = √((1 + s̄ᵀz̄)/2), w̄ = (s̄ + Jz̄)/(2γ) and η = (det s / det z)^{1/4},
the NT scaling is W = η·W̄ with W̄ = [[w̄₀, w̄₁ᵀ], [w̄₁, I + w̄₁w̄₁ᵀ/(1 + w̄₀)]], which is
symmetric, satisfies W z = W⁻¹ s = λ, and H = WᵀW = η²(2w̄w̄ᵀ − J).
"""
from __future__ import annotations

import torch

from .base import ConeGroup, ScalingBlock


def soc_det(x: torch.Tensor) -> torch.Tensor:
    return x[:, 0] ** 2 - (x[:, 1:] ** 2).sum(1)


def circ(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Jordan product x∘y = (xᵀy, x₀y₁ + y₀x₁)."""
    out = torch.empty_like(x)
    out[:, 0] = (x * y).sum(1)
    out[:, 1:] = x[:, :1] * y[:, 1:] + y[:, :1] * x[:, 1:]
    return out


def inv_circ(lam: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """u with λ∘u = v."""
    u = torch.empty_like(v)
    u0 = (lam[:, 0] * v[:, 0] - (lam[:, 1:] * v[:, 1:]).sum(1)) / soc_det(lam)
    u[:, 0] = u0
    u[:, 1:] = (v[:, 1:] - u0[:, None] * lam[:, 1:]) / lam[:, :1]
    return u


def soc_step(x: torch.Tensor, dx: torch.Tensor, alpha_max: float) -> float:
    """Largest α ≤ alpha_max keeping every x + α dx in the cone (x interior)."""
    a = soc_det(dx)
    b = 2 * (x[:, 0] * dx[:, 0] - (x[:, 1:] * dx[:, 1:]).sum(1))
    c = soc_det(x).clamp(min=0)
    disc = b * b - 4 * a * c
    inf = torch.full_like(a, float("inf"))
    # roots of a α² + b α + c = 0 (stable form); c > 0 so a root is positive iff it blocks
    sq = torch.sqrt(disc.clamp(min=0))
    t = -(b + torch.where(b >= 0, sq, -sq)) / 2
    r1 = torch.where(t != 0, c / t, inf)
    r2 = torch.where(a != 0, t / a, inf)
    r1 = torch.where(r1 < 0, inf, r1)
    r2 = torch.where(r2 < 0, inf, r2)
    alpha = torch.minimum(r1, r2)
    alpha = torch.where((disc < 0) | ((a > 0) & (b > 0)), inf, alpha)
    # linear case a == 0
    lin = torch.where(b < 0, -c / b.clamp(max=-1e-300), inf)
    alpha = torch.where(a == 0, lin, alpha)
    # x₀ + α dx₀ must stay ≥ 0 too
    a0 = torch.where(dx[:, 0] < 0, -x[:, 0] / dx[:, 0].clamp(max=-1e-300), inf)
    alpha = torch.minimum(alpha, a0)
    return min(alpha_max, float(alpha.min())) if alpha.numel() else alpha_max


class SecondOrderGroup(ConeGroup):
    kind = "soc"

    def __init__(self, idx):
        super().__init__(idx)
        k, d = idx.shape
        self.k, self.d = k, d
        self.eta = torch.ones(k, dtype=torch.float64, device=idx.device)
        self.wbar = torch.zeros(k, d, dtype=torch.float64, device=idx.device)
        self.wbar[:, 0] = 1.0
        self.lam = self.wbar.clone()

    @property
    def degree(self) -> int:
        return self.k  # ν = 1 per cone (Clarabel's convention)

    def _e(self):
        e = torch.zeros(self.k, self.d, dtype=torch.float64, device=self.idx.device)
        e[:, 0] = 1.0
        return e

    def unit_initialization(self):
        return self._e(), self._e()

    def margins(self, z, primal):
        m = z[:, 0] - torch.linalg.vector_norm(z[:, 1:], dim=1)
        return float(m.min()), float(m.clamp(min=0).sum())

    def scaled_unit_shift(self, z, alpha, primal):
        z = z.clone()
        z[:, 0] += alpha
        return z

    # --- W = η W̄ applied to a (k, d) batch ----------------------------------
    def mul_W(self, x: torch.Tensor) -> torch.Tensor:
        w0, w1 = self.wbar[:, :1], self.wbar[:, 1:]
        dot = (w1 * x[:, 1:]).sum(1, keepdim=True)
        out = torch.empty_like(x)
        out[:, :1] = w0 * x[:, :1] + dot
        out[:, 1:] = x[:, 1:] + (x[:, :1] + dot / (1 + w0)) * w1
        return self.eta[:, None] * out

    def mul_Winv(self, x: torch.Tensor) -> torch.Tensor:
        w0, w1 = self.wbar[:, :1], self.wbar[:, 1:]
        dot = (w1 * x[:, 1:]).sum(1, keepdim=True)
        out = torch.empty_like(x)
        out[:, :1] = w0 * x[:, :1] - dot
        out[:, 1:] = x[:, 1:] + (-x[:, :1] + dot / (1 + w0)) * w1
        return out / self.eta[:, None]

    def update_scaling(self, s, z, mu, dual_only):
        det_s, det_z = soc_det(s), soc_det(z)
        if not bool(((det_s > 0) & (det_z > 0) & (s[:, 0] > 0) & (z[:, 0] > 0)).all()):
            return False
        sqs, sqz = torch.sqrt(det_s), torch.sqrt(det_z)
        sbar, zbar = s / sqs[:, None], z / sqz[:, None]
        gamma = torch.sqrt((1 + (sbar * zbar).sum(1)) / 2)
        wbar = sbar.clone()
        wbar[:, 0] += zbar[:, 0]
        wbar[:, 1:] -= zbar[:, 1:]
        self.wbar = wbar / (2 * gamma[:, None])
        self.eta = torch.sqrt(sqs / sqz)
        self.lam = self.mul_W(z)
        return True

    def set_identity_scaling(self):
        self.eta = torch.ones_like(self.eta)
        self.wbar = self._e()

    def H_blocks(self) -> torch.Tensor:
        """(k, d, d) blocks η²(2w̄w̄ᵀ − J)."""
        H = 2 * self.wbar[:, :, None] * self.wbar[:, None, :]
        diag = torch.ones(self.d, dtype=torch.float64, device=H.device)
        diag[0] = -1.0
        H = H + torch.diag(diag)
        return (self.eta ** 2)[:, None, None] * H

    def scaling_block(self):
        return ScalingBlock("dense", self.idx, self.H_blocks())

    def mul_H(self, v):
        return self.mul_W(self.mul_W(v))

    def affine_ds(self, s, z):
        return circ(self.lam, self.lam)

    def combined_ds_shift(self, dz, ds, sigma_mu):
        shift = circ(self.mul_Winv(ds), self.mul_W(dz))
        shift[:, 0] -= sigma_mu
        return shift

    def ds_from_dz_offset(self, d):
        return self.mul_W(inv_circ(self.lam, d))

    def step_length(self, dz, ds, z, s, alpha_max, search, alpha_min):
        return soc_step(z, dz, alpha_max), soc_step(s, ds, alpha_max)

    def barrier(self, z, s, dz, ds, alpha):
        ds_ = soc_det(s + alpha * ds)
        dz_ = soc_det(z + alpha * dz)
        if not bool(((ds_ > 0) & (dz_ > 0)).all()):
            return torch.tensor(float("inf"), dtype=z.dtype, device=z.device)
        return -0.5 * torch.log(ds_ * dz_).sum()
