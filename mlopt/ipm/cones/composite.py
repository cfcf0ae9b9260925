"""The product cone K = K₁ × … × K_p, grouped into batches of equal type (and SOC size).

``CompositeCone`` owns the row index of each group and dispatches every operation on
the stacked vectors (length m) to the groups; the only Python loop is over the few
groups (zero, nonneg, one per SOC dimension, exp), never over individual cones.
Adding a cone type = one file with a :class:`ConeGroup` and one line in ``_GROUPS``.
"""
from __future__ import annotations

from typing import Callable, List, Sequence, Tuple

import numpy as np
import torch

from .base import ConeGroup, LineSearch, ScalingBlock, gather, scatter_
from .exp import ExponentialGroup
from .nonneg import NonnegativeGroup
from .soc import SecondOrderGroup
from .specs import CONE_SPECS, ExponentialCone, NonnegativeCone, SecondOrderCone, ZeroCone
from .zero import ZeroGroup

_SQRT_EPS = 2.220446049250313e-16 ** 0.5

# registry: spec type -> group constructor
_GROUPS = {
    ZeroCone: ZeroGroup,
    NonnegativeCone: NonnegativeGroup,
    SecondOrderCone: SecondOrderGroup,
    ExponentialCone: ExponentialGroup,
}


def check_cones(cones: Sequence[object], m: int) -> List[object]:
    """Validate a list of cone specs against m = rows of A."""
    if isinstance(cones, (str, bytes)) or not hasattr(cones, "__iter__"):
        raise TypeError("cones must be a list of cone specs such as [ZeroCone(2), NonnegativeCone(3)]")
    cones = list(cones)
    for i, c in enumerate(cones):
        if not isinstance(c, CONE_SPECS):
            raise TypeError(f"cones[{i}] is {c!r}: unknown cone; use one of "
                            f"{[t.__name__ for t in CONE_SPECS]} from mlopt.ipm")
    total = sum(c.dim for c in cones)
    if total != m:
        raise ValueError(f"cones: dimensions sum to {total} but A has {m} rows; "
                         "the cone sizes must add up to A.shape[0]")
    return cones


class CompositeCone:
    """All cones of a problem, as a few batched groups."""

    def __init__(self, cones: Sequence[object], device: torch.device) -> None:
        self.m = sum(c.dim for c in cones)
        rows: dict = {}
        offset = 0
        for c in cones:
            r = np.arange(offset, offset + c.dim)
            offset += c.dim
            if isinstance(c, SecondOrderCone):
                key = (SecondOrderCone, c.d)
                rows.setdefault(key, []).append(r.reshape(1, c.d))
            elif isinstance(c, ExponentialCone):
                rows.setdefault((ExponentialCone, 3), []).append(r.reshape(c.count, 3))
            else:
                rows.setdefault((type(c), 0), []).append(r)
        order = [ZeroCone, NonnegativeCone, SecondOrderCone, ExponentialCone]
        self.groups: List[ConeGroup] = []
        for key in sorted(rows, key=lambda k: (order.index(k[0]), k[1])):
            idx = torch.as_tensor(np.concatenate(rows[key], axis=0), dtype=torch.long, device=device)
            self.groups.append(_GROUPS[key[0]](idx))
        self.device = device
        self.degree = sum(g.degree for g in self.groups)
        self.symmetric = all(g.symmetric for g in self.groups)
        self.correctable = all(g.correctable for g in self.groups)

    # --- helpers ---------------------------------------------------------------
    def _map(self, fn: Callable, *vecs: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(self.m, dtype=torch.float64, device=self.device)
        for g in self.groups:
            scatter_(out, g.idx, fn(g, *[gather(v, g.idx) for v in vecs]))
        return out

    # --- initialisation ----------------------------------------------------------
    def unit_initialization(self) -> Tuple[torch.Tensor, torch.Tensor]:
        s = torch.zeros(self.m, dtype=torch.float64, device=self.device)
        z = torch.zeros_like(s)
        for g in self.groups:
            sg, zg = g.unit_initialization()
            scatter_(s, g.idx, sg)
            scatter_(z, g.idx, zg)
        return s, z

    def shift_to_interior(self, z: torch.Tensor, primal: bool) -> torch.Tensor:
        """Clarabel's symmetric initialisation: z ← z + α e with a positive margin."""
        margins = [g.margins(gather(z, g.idx), primal) for g in self.groups]
        min_margin = min(m[0] for m in margins)
        pos_margin = sum(m[1] for m in margins)
        target = max(1.0, 0.1 * pos_margin / max(self.degree, 1))
        out = z.clone()
        if min_margin <= 0:
            shifts = [-min_margin, target]
        elif min_margin < target:
            shifts = [target - min_margin]
        else:
            shifts = [0.0]
        for a in shifts:
            for g in self.groups:
                scatter_(out, g.idx, g.scaled_unit_shift(gather(out, g.idx), a, primal))
        return out

    # --- scaling -------------------------------------------------------------------
    def update_scaling(self, s, z, mu: float, dual_only: bool) -> bool:
        return all(g.update_scaling(gather(s, g.idx), gather(z, g.idx), mu, dual_only)
                   for g in self.groups)

    def set_identity_scaling(self) -> None:
        for g in self.groups:
            g.set_identity_scaling()

    def scaling_blocks(self) -> List[ScalingBlock]:
        return [g.scaling_block() for g in self.groups]

    def mul_H(self, v):
        return self._map(lambda g, x: g.mul_H(x), v)

    # --- Newton right-hand sides ---------------------------------------------------
    def affine_ds(self, s, z):
        return self._map(lambda g, a, b: g.affine_ds(a, b), s, z)

    def combined_ds_shift(self, dz, ds, sigma_mu: float):
        return self._map(lambda g, a, b: g.combined_ds_shift(a, b, sigma_mu), dz, ds)

    def centrality_ds(self, s, z, lo: float, hi: float):
        return self._map(lambda g, a, b: g.centrality_ds(a, b, lo, hi), s, z)

    def ds_from_dz_offset(self, d):
        return self._map(lambda g, a: g.ds_from_dz_offset(a), d)

    # --- step length and barrier ------------------------------------------------------
    def step_length(self, dz, ds, z, s, alpha_max: float, search: LineSearch, alpha_min: float):
        """Symmetric cones first (exact ratio tests); with exp cones present the step is then
        capped at 1 − √ε and the exp cones backtrack from that common α (Clarabel's order:
        the backtracking grid α·βᵏ starts at the symmetric limit, not at α_max)."""
        alpha = alpha_max
        for g in self.groups:
            if g.symmetric:
                a, b = g.step_length(gather(dz, g.idx), gather(ds, g.idx), gather(z, g.idx),
                                     gather(s, g.idx), alpha, search, alpha_min)
                alpha = min(alpha, a, b)
        if not self.symmetric:
            alpha = min(alpha, 1.0 - _SQRT_EPS)
            for g in self.groups:
                if not g.symmetric:
                    a, b = g.step_length(gather(dz, g.idx), gather(ds, g.idx), gather(z, g.idx),
                                         gather(s, g.idx), alpha, search, alpha_min)
                    alpha = min(alpha, a, b)
        return alpha, alpha

    def barrier(self, z, s, dz, ds, alpha: float) -> float:
        return float(sum(g.barrier(gather(z, g.idx), gather(s, g.idx), gather(dz, g.idx),
                                   gather(ds, g.idx), alpha) for g in self.groups))
