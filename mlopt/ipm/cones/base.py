"""Interface of a batch of cones of one type, and the scaling blocks handed to KKT solvers.

A :class:`ConeGroup` owns every cone of one type (and, for second-order cones, one
dimension).  Its rows in the stacked slack vector are ``idx`` — shape ``(n,)`` for
elementwise cones, ``(k, d)`` for k cones of dimension d — and every method receives
and returns tensors gathered with that index, so all cones of a group are processed
by the same batched tensor operations (no Python loop over cones).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import torch


def gather(v: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """v[idx] for a LongTensor idx of any shape (index_select: much faster than v[idx])."""
    return v.index_select(0, idx.reshape(-1)).view(idx.shape + v.shape[1:])


def scatter_(out: torch.Tensor, idx: torch.Tensor, val: torch.Tensor) -> torch.Tensor:
    """out[idx] = val in place, for a LongTensor idx of any shape."""
    return out.index_copy_(0, idx.reshape(-1), val.reshape((-1,) + out.shape[1:]))


def factor_apply_cf(W: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Wᵢvᵢ for component-first factors W (r, d, k) and v (d, k) → (r, k), accumulated in place
    (no (r, d, k) temporary)."""
    Wv = W[:, 0] * v[0]
    for i in range(1, W.shape[1]):
        Wv.addcmul_(W[:, i], v[i])
    return Wv


def factor_matvec_cf(W: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """WᵢᵀWᵢvᵢ for component-first factors W (r, d, k) and v (d, k): H v without forming H, so a
    direction H nearly annihilates keeps its relative accuracy (H = WᵀW has cond(W)²)."""
    Wv = factor_apply_cf(W, v)
    out = W[0] * Wv[0]
    for j in range(1, W.shape[0]):
        out.addcmul_(W[j], Wv[j])
    return out


@dataclass(frozen=True)
class LineSearch:
    """Step-length rule of the nonsymmetric (exp) cones: the largest α on the grid α_max·stepᵏ keeping
    the iterate interior; then ``bisections`` halvings of the bracket around the boundary and a step of
    ``boundary_fraction`` times the last interior point (``bisections=0``: Clarabel's grid alone).
    Symmetric cones have exact ratio tests and ignore it."""

    step: float = 0.8
    bisections: int = 3
    boundary_fraction: float = 0.95


@dataclass
class ScalingBlock:
    """One batch of diagonal blocks of the scaling matrix H = WᵀW.

    kind  : "zero" (H = 0 on ``rows``), "diag" (``H`` has shape (n,), H = diag(H)),
            or "dense" (``H`` has shape (k, d, d), one symmetric block per cone).
    rows  : LongTensor of row indices into s/z, shape (n,) or (k, d).
    H     : the block values (None for "zero").
    W     : optional factor of a dense block, H = WᵀW per cone, stored component-first with shape
            (r, d, k).  H itself is then WᵀW rounded; products Wᵀ(Wv) keep the small
            eigenvalues that rounding H loses (exp cones: cond H reaches 1e17).
    """

    kind: str
    rows: torch.Tensor
    H: torch.Tensor | None
    W: torch.Tensor | None = None


class ConeGroup:
    """Batched cone operations (all tensors are gathered with ``self.idx``)."""

    kind: str = "base"
    symmetric: bool = True
    #: whether :meth:`centrality_ds` is implemented (Gondzio correctors: zero and nonnegative cones)
    correctable: bool = False

    def __init__(self, idx: torch.Tensor) -> None:
        self.idx = idx

    # --- sizes -------------------------------------------------------------
    @property
    def degree(self) -> int:
        """Barrier parameter ν of the whole group."""
        raise NotImplementedError

    # --- initialisation ----------------------------------------------------
    def unit_initialization(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """(s, z) at the 'unit' central point of each cone."""
        raise NotImplementedError

    def margins(self, z: torch.Tensor, primal: bool) -> Tuple[float, float]:
        """(smallest margin to the boundary, sum of positive margins)."""
        raise NotImplementedError

    def scaled_unit_shift(self, z: torch.Tensor, alpha: float, primal: bool) -> torch.Tensor:
        """z + α·e (e the unit element)."""
        raise NotImplementedError

    # --- scaling -------------------------------------------------------------
    def update_scaling(self, s: torch.Tensor, z: torch.Tensor, mu: float, dual_only: bool) -> bool:
        """Compute the scaling W (H = WᵀW, H z = s); False if s or z is not interior."""
        raise NotImplementedError

    def set_identity_scaling(self) -> None:
        raise NotImplementedError

    def scaling_block(self) -> ScalingBlock:
        raise NotImplementedError

    def mul_H(self, v: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # --- Newton right-hand sides ---------------------------------------------
    def affine_ds(self, s: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """d_s of the predictor (λ∘λ for symmetric cones, s for exp cones)."""
        raise NotImplementedError

    def combined_ds_shift(self, dz: torch.Tensor, ds: torch.Tensor, sigma_mu: float) -> torch.Tensor:
        """Mehrotra / higher-order correction added to ``affine_ds`` for the corrector."""
        raise NotImplementedError

    def centrality_ds(self, s: torch.Tensor, z: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
        """d_s of a centrality corrector at the trial point (s, z): −(clip(s∘z, lo, hi) − s∘z), with
        decreases capped at hi."""
        raise NotImplementedError

    def ds_from_dz_offset(self, d: torch.Tensor) -> torch.Tensor:
        """ξ such that Δs = −ξ − HΔz (Wᵀ(λ \\ d) for symmetric cones, d for exp cones)."""
        raise NotImplementedError

    # --- step length and barrier -------------------------------------------
    def step_length(self, dz, ds, z, s, alpha_max: float, search: LineSearch,
                    alpha_min: float) -> Tuple[float, float]:
        """Largest (αz, αs) ≤ alpha_max keeping z + αz·dz ∈ K*, s + αs·ds ∈ K."""
        raise NotImplementedError

    def barrier(self, z, s, dz, ds, alpha: float) -> torch.Tensor:
        """f(s + α ds) + f*(z + α dz) (primal plus dual barrier), +inf outside."""
        raise NotImplementedError
