"""Convex penalties R(w) on the coefficients (never on the intercept).

Each penalty gives its CVXPY expression, its value and its proximal operator in
torch (used by proximal-gradient solvers):

=============  ========================================================  ==============
penalty        R(w)                                                      cones
=============  ========================================================  ==============
none           0                                                         —
l2             ½‖w‖²                                                     second-order
l1             ‖w‖₁                                                      nonnegative
elasticnet     ρ‖w‖₁ + ½(1 − ρ)‖w‖²          (ρ = ``l1_ratio``)          both
group          Σ_g √|g| ‖w_g‖₂               (groups given by the user)  second-order
=============  ========================================================  ==============

For multi-output coefficients W (d × K) the norms are entrywise (‖W‖_F², Σ|Wⱼₖ|),
and a group collects whole rows (features) of W.  Every penalty is R = c₁·N + c₂·½‖w‖²
(see :class:`Penalty`), which is how the estimators stay DPP and the proximal
solvers get closed-form steps.
"""
from __future__ import annotations

from typing import Callable, Sequence

import cvxpy as cp
import numpy as np
import torch

__all__ = [
    "Penalty",
    "NoPenalty",
    "L2Penalty",
    "L1Penalty",
    "ElasticNetPenalty",
    "GroupLassoPenalty",
    "PENALTIES",
    "get_penalty",
]


class Penalty:
    """A convex penalty R(w) = c₁·N(w) + c₂·½‖w‖².

    N is a norm-like, positively homogeneous term (0, ‖·‖₁ or the group norm) and
    (c₁, c₂) = ``weights(l1_ratio)``.  Splitting R this way keeps CVXPY problems DPP
    (α·c₁ and α·c₂ become two nonnegative parameters) and gives every prox in closed
    form: prox_{t R}(w) = prox_{t c₁ N}(w) / (1 + t c₂).
    """

    name: str = ""
    cones: tuple[str, ...] = ()

    def weights(self, l1_ratio: float) -> tuple[float, float]:
        """(c₁, c₂): the weights of N(w) and of ½‖w‖²."""
        raise NotImplementedError

    def norm_cvxpy(self, w: cp.Expression) -> cp.Expression | None:
        """CVXPY expression N(w), or None when the penalty has no norm part."""
        return None

    def norm_value(self, w: torch.Tensor) -> torch.Tensor:
        return torch.zeros((), dtype=w.dtype, device=w.device)

    def norm_prox(self, w: torch.Tensor, t: float) -> torch.Tensor:
        """argmin_u ½‖u − w‖² + t·N(u)."""
        return w

    def value(self, w: torch.Tensor, l1_ratio: float = 0.5) -> torch.Tensor:
        """R(w) as a 0-d tensor."""
        c1, c2 = self.weights(l1_ratio)
        out = 0.5 * c2 * (w**2).sum()
        return out + c1 * self.norm_value(w) if c1 else out

    def prox(self, w: torch.Tensor, step: float, l1_ratio: float = 0.5) -> torch.Tensor:
        """argmin_u ½‖u − w‖² + step·R(u)."""
        c1, c2 = self.weights(l1_ratio)
        u = self.norm_prox(w, step * c1) if c1 else w
        return u / (1.0 + step * c2)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NoPenalty(Penalty):
    """R(w) = 0."""

    name, cones = "none", ()

    def weights(self, l1_ratio):
        return 0.0, 0.0


class L2Penalty(Penalty):
    """R(w) = ½‖w‖² (ridge / Tikhonov)."""

    name, cones = "l2", ("second-order",)

    def weights(self, l1_ratio):
        return 0.0, 1.0


class L1Penalty(Penalty):
    """R(w) = ‖w‖₁ (lasso)."""

    name, cones = "l1", ("nonnegative",)

    def weights(self, l1_ratio):
        return 1.0, 0.0

    def norm_cvxpy(self, w):
        return cp.sum(cp.abs(w))

    def norm_value(self, w):
        return w.abs().sum()

    def norm_prox(self, w, t):
        return torch.sign(w) * torch.clamp(w.abs() - t, min=0)


class ElasticNetPenalty(L1Penalty):
    """R(w) = ρ‖w‖₁ + ½(1 − ρ)‖w‖² with ρ = l1_ratio ∈ [0, 1]."""

    name, cones = "elasticnet", ("nonnegative", "second-order")

    def weights(self, l1_ratio):
        return float(l1_ratio), 1.0 - float(l1_ratio)


class GroupLassoPenalty(Penalty):
    """R(w) = Σ_g √|g| ‖w_g‖₂ over disjoint feature groups (features in no group are unpenalized).

    ``groups`` is a sequence of index lists, or an integer label per feature
    (features labelled −1 belong to no group).  The norm part is computed with one
    ``index_add`` (no loop over groups).
    """

    name, cones = "group", ("second-order",)

    def __init__(self, groups: Sequence[Sequence[int]] | Sequence[int] | np.ndarray):
        self.groups = groups

    def __repr__(self) -> str:
        return f"GroupLassoPenalty(groups={self.groups!r})"

    def weights(self, l1_ratio):
        return 1.0, 0.0

    def index_lists(self, n_features: int) -> list[np.ndarray]:
        """Validated groups as integer index arrays."""
        return normalize_groups(self.groups, n_features)

    def norm_cvxpy(self, w):
        idx = self.index_lists(w.shape[0])
        rows = (lambda g: w[g]) if w.ndim == 1 else (lambda g: cp.vec(w[g, :], order="F"))
        return cp.sum(cp.hstack([np.sqrt(len(g)) * cp.norm(rows(g), 2) for g in idx]))

    def _labels(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(feature indices in groups, their group label 0..G-1, √|g| per group)."""
        idx = self.index_lists(w.shape[0])
        members = torch.as_tensor(np.concatenate(idx), device=w.device)
        labels = torch.as_tensor(np.repeat(np.arange(len(idx)), [len(g) for g in idx]), device=w.device)
        sizes = torch.as_tensor([np.sqrt(len(g)) for g in idx], dtype=w.dtype, device=w.device)
        return members, labels, sizes

    def _group_norms(self, w, members, labels, n_groups):
        sq = (w[members] ** 2).reshape(len(members), -1).sum(dim=1)
        return torch.zeros(n_groups, dtype=w.dtype, device=w.device).index_add_(0, labels, sq).sqrt()

    def norm_value(self, w):
        members, labels, sizes = self._labels(w)
        return (sizes * self._group_norms(w, members, labels, len(sizes))).sum()

    def norm_prox(self, w, t):
        members, labels, sizes = self._labels(w)
        norms = self._group_norms(w, members, labels, len(sizes))
        shrink = torch.clamp(1 - t * sizes / torch.clamp(norms, min=1e-300), min=0)
        out = w.clone()
        factor = shrink[labels].reshape((-1,) + (1,) * (w.ndim - 1))
        out[members] = w[members] * factor
        return out


def normalize_groups(groups, n_features: int) -> list[np.ndarray]:
    """Turn ``groups`` (index lists or one label per feature) into disjoint index arrays."""
    if groups is None:
        raise ValueError("penalty='group' needs groups=: a list of feature-index lists or one label per feature")
    arr = None
    if not isinstance(groups, (list, tuple)) or (len(groups) > 0 and np.isscalar(groups[0])):
        arr = np.asarray(groups)
    if arr is not None and arr.ndim == 1 and arr.size == n_features and np.issubdtype(arr.dtype, np.integer):
        labels = arr
        out = [np.flatnonzero(labels == g) for g in np.unique(labels) if g >= 0]
    else:
        try:
            out = [np.asarray(g, dtype=int).ravel() for g in groups]
        except (TypeError, ValueError) as exc:
            raise TypeError("groups must be a list of integer index lists or one integer label per feature") from exc
    seen = np.concatenate(out) if out else np.zeros(0, dtype=int)
    if seen.size and (seen.min() < 0 or seen.max() >= n_features):
        raise ValueError(f"groups: feature indices must lie in [0, {n_features}), got {seen.min()}..{seen.max()}")
    if len(np.unique(seen)) != seen.size:
        raise ValueError("groups: a feature appears in more than one group; groups must be disjoint")
    if any(len(g) == 0 for g in out):
        raise ValueError("groups: empty group")
    return out


#: penalty name → constructor
PENALTIES: dict[str, Callable[..., Penalty]] = {
    "none": NoPenalty,
    "l2": L2Penalty,
    "l1": L1Penalty,
    "elasticnet": ElasticNetPenalty,
    "group": GroupLassoPenalty,
}


def get_penalty(penalty: str | Penalty | None, groups=None) -> Penalty:
    """Return a :class:`Penalty` from a name (see ``PENALTIES``) or pass an instance through."""
    if isinstance(penalty, Penalty):
        return penalty
    if penalty is None:
        penalty = "none"
    if not isinstance(penalty, str):
        raise TypeError(f"penalty must be a string or a mlopt.penalties.Penalty, got {type(penalty).__name__}")
    if penalty not in PENALTIES:
        raise ValueError(f"unknown penalty {penalty!r}; choose one of {sorted(PENALTIES)}")
    if penalty == "group":
        return GroupLassoPenalty(groups)
    return PENALTIES[penalty]()
