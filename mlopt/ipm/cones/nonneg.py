"""The nonnegative orthant with Nesterov–Todd scaling W = diag(√(s/z))."""
from __future__ import annotations

import torch

from .base import ConeGroup, ScalingBlock


def ratio_step(x: torch.Tensor, dx: torch.Tensor, alpha_max: float) -> float:
    """max α ≤ alpha_max with x + α dx ≥ 0 (x > 0): α = −1/min(dx/x) when some dx < 0 (one reduction,
    no boolean gather: 12 vs 58 µs for 10⁴ entries on CPU)."""
    if x.numel() == 0:
        return alpha_max
    r = float((dx / x).min())
    return min(alpha_max, -1.0 / r) if r < 0 else alpha_max


class NonnegativeGroup(ConeGroup):
    kind = "nonneg"
    correctable = True

    def __init__(self, idx):
        super().__init__(idx)
        self.w = torch.ones(idx.shape, dtype=torch.float64, device=idx.device)
        self.lam = self.w.clone()

    @property
    def degree(self) -> int:
        return int(self.idx.numel())

    def unit_initialization(self):
        return self.w.new_ones(self.w.shape), self.w.new_ones(self.w.shape)

    def margins(self, z, primal):
        return float(z.min()), float(z.clamp(min=0).sum())

    def scaled_unit_shift(self, z, alpha, primal):
        return z + alpha

    def update_scaling(self, s, z, mu, dual_only):
        if not bool(((s > 0) & (z > 0)).all()):
            return False
        self.w = torch.sqrt(s / z)
        self.lam = torch.sqrt(s * z)
        return True

    def set_identity_scaling(self):
        self.w = torch.ones_like(self.w)

    def scaling_block(self):
        return ScalingBlock("diag", self.idx, self.w * self.w)

    def mul_H(self, v):
        return self.w * self.w * v

    def affine_ds(self, s, z):
        return self.lam * self.lam

    def combined_ds_shift(self, dz, ds, sigma_mu):
        # (W⁻ᵀΔs)∘(WΔz) − σμe = Δs·Δz − σμ
        return ds * dz - sigma_mu

    def centrality_ds(self, s, z, lo, hi):
        v = s * z
        return -(v.clamp(lo, hi) - v).clamp_(min=-hi)

    def ds_from_dz_offset(self, d):
        # Wᵀ(λ \ d) = w·d/λ
        return self.w * d / self.lam

    def step_length(self, dz, ds, z, s, alpha_max, search, alpha_min):
        return ratio_step(z, dz, alpha_max), ratio_step(s, ds, alpha_max)

    def barrier(self, z, s, dz, ds, alpha):
        prod = (s + alpha * ds) * (z + alpha * dz)
        if not bool((prod > 0).all()):
            return torch.tensor(float("inf"), dtype=z.dtype, device=z.device)
        return -torch.log(prod).sum()
