"""The zero cone {0}ⁿ: s = 0, z free; degree 0, H = 0."""
from __future__ import annotations

import torch

from .base import ConeGroup, ScalingBlock


class ZeroGroup(ConeGroup):
    kind = "zero"
    correctable = True

    @property
    def degree(self) -> int:
        return 0

    def unit_initialization(self):
        zeros = torch.zeros(self.idx.shape, dtype=torch.float64, device=self.idx.device)
        return zeros, zeros.clone()

    def margins(self, z, primal):
        return float("inf"), 0.0

    def scaled_unit_shift(self, z, alpha, primal):
        return torch.zeros_like(z) if primal else z

    def update_scaling(self, s, z, mu, dual_only):
        return True

    def set_identity_scaling(self):
        pass

    def scaling_block(self):
        return ScalingBlock("zero", self.idx, None)

    def mul_H(self, v):
        return torch.zeros_like(v)

    def affine_ds(self, s, z):
        return torch.zeros_like(s)

    def combined_ds_shift(self, dz, ds, sigma_mu):
        return torch.zeros_like(dz)

    def centrality_ds(self, s, z, lo, hi):
        return torch.zeros_like(s)

    def ds_from_dz_offset(self, d):
        return torch.zeros_like(d)

    def step_length(self, dz, ds, z, s, alpha_max, search, alpha_min):
        return alpha_max, alpha_max

    def barrier(self, z, s, dz, ds, alpha):
        return torch.zeros((), dtype=z.dtype, device=z.device)
