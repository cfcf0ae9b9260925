"""Per-sample conic templates of the losses: each sample gets the same small block.

For sample i with prediction zᵢ = xᵢᵀW + b (K entries; K = 1 except multinomial) and
weight cᵢ = loss_weight·sᵢ, a loss is written with ℓ local variables uᵢ and r rows

    sᵢ = bᵢ − Bᵢ uᵢ − γᵢ zᵢ,k   ∈ cone       (γ only on the coupling rows),

plus a cost ½uᵢᵀ diag(cᵢ p) uᵢ + cᵢ qᵀuᵢ + Σₖ βᵢₖ zᵢₖ.  A :class:`LossTemplate` holds
these numbers for all samples at once ((n, ·) arrays, no loop over samples); the
assembler (:mod:`mlopt.structured.assemble`) turns them into (P, q, A, b, cones).

==============  ==========================  ================================  ====  ====
loss            local variables             rows (cone)                       ℓ     r
==============  ==========================  ================================  ====  ====
squared         ρ = y − z  (cost ½cρ²)      ρ + z = y (zero)                   1     1
absolute        p, m ≥ 0, y − z = p − m     1 zero + 2 nonneg                  2     3
quantile(τ)     as absolute, cost τp+(1−τ)m 1 zero + 2 nonneg                  2     3
huber(M)        u, p, m: r = u + p − m      1 zero + 2 nonneg (cost cu²+2Mc…)  3     3
hinge           ξ ≥ 0, ξ ≥ 1 − yz           2 nonneg                           1     2
squared_hinge   as hinge, cost cξ²          2 nonneg                           1     2
logistic        t, v₁, v₂                   v₁+v₂ ≤ 1, (−yz−t,1,v₁),(−t,1,v₂)   3     7
multinomial     t, v₁..v_K                  Σv ≤ 1, (z_k−t, 1, v_k) ∈ K_exp    K+1   1+3K
==============  ==========================  ================================  ====  ====

logistic: log(1 + e^u) ≤ t  ⇔  e^{u−t} + e^{−t} ≤ 1  ⇔  v₁ + v₂ ≤ 1, (u−t, 1, v₁), (−t, 1, v₂) ∈ K_exp.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from mlopt.losses import Loss

KINDS = ("zero", "nonneg", "exp")


@dataclass
class Row:
    """One row of every sample: s = b − a_localᵀu − γ·z_k (γ = None: no coupling)."""

    kind: str  # "zero" | "nonneg" | "exp" (exp rows come in consecutive triples)
    local: np.ndarray  # (ℓ,) coefficients on the local variables
    b: np.ndarray  # (n,) right-hand side
    gamma: Optional[np.ndarray] = None  # (n,) coupling coefficient, or None
    klass: int = 0  # which output z_k the coupling row uses


@dataclass
class LossTemplate:
    """Local variables' costs and the rows of every sample (see the module docstring)."""

    n_local: int
    q_local: np.ndarray  # (n, ℓ)
    p_local: np.ndarray  # (n, ℓ) diagonal of P on the local variables
    rows: List[Row] = field(default_factory=list)
    beta: Optional[np.ndarray] = None  # (n, K) linear cost on the predictions, or None


def _local(ell: int, **entries: float) -> np.ndarray:
    v = np.zeros(ell)
    for k, val in entries.items():
        v[int(k[1:])] = val
    return v


def loss_template(loss: Loss, y: np.ndarray, c: np.ndarray) -> LossTemplate:
    """Template of Σᵢ cᵢ ℓ(yᵢ, zᵢ) for ``loss``; ValueError for a loss without one."""
    n = y.shape[0]
    zeros, ones = np.zeros(n), np.ones(n)
    name = loss.name
    if name == "squared":
        return LossTemplate(1, np.zeros((n, 1)), c[:, None].copy(),
                            [Row("zero", _local(1, u0=1.0), y.astype(float), ones)])
    if name in ("absolute", "quantile", "huber"):
        h = int(name == "huber")  # huber has the quadratic part u first, then p, m
        split = [Row("nonneg", _local(2 + h, **{f"u{h}": -1.0}), zeros),
                 Row("nonneg", _local(2 + h, **{f"u{1 + h}": -1.0}), zeros)]
        if name == "huber":
            M = float(loss.epsilon)
            eq = Row("zero", _local(3, u0=1.0, u1=1.0, u2=-1.0), y.astype(float), ones)
            return LossTemplate(3, np.column_stack([zeros, 2 * M * c, 2 * M * c]),
                                np.column_stack([2 * c, zeros, zeros]), [eq] + split)
        tau = 0.5 if name == "absolute" else float(loss.quantile)
        scale = 2.0 if name == "absolute" else 1.0  # |r| = 2·(½p + ½m)
        eq = Row("zero", _local(2, u0=1.0, u1=-1.0), y.astype(float), ones)
        return LossTemplate(2, scale * np.column_stack([tau * c, (1 - tau) * c]), np.zeros((n, 2)), [eq] + split)
    if name in ("hinge", "squared_hinge"):
        rows = [Row("nonneg", _local(1, u0=-1.0), zeros),
                Row("nonneg", _local(1, u0=-1.0), -ones, -y.astype(float))]
        if name == "hinge":
            return LossTemplate(1, c[:, None].copy(), np.zeros((n, 1)), rows)
        return LossTemplate(1, np.zeros((n, 1)), 2 * c[:, None], rows)
    if name == "logistic":
        rows = [Row("nonneg", _local(3, u1=1.0, u2=1.0), ones),
                Row("exp", _local(3, u0=1.0), zeros, y.astype(float)), Row("exp", _local(3), ones),
                Row("exp", _local(3, u1=-1.0), zeros),
                Row("exp", _local(3, u0=1.0), zeros), Row("exp", _local(3), ones),
                Row("exp", _local(3, u2=-1.0), zeros)]
        return LossTemplate(3, np.column_stack([c, zeros, zeros]), np.zeros((n, 3)), rows)
    if name == "multinomial":
        K = y.shape[1]
        ell = K + 1
        rows = [Row("nonneg", np.r_[0.0, np.ones(K)], ones)]
        for k in range(K):
            rows += [Row("exp", _local(ell, u0=1.0), zeros, -ones, klass=k), Row("exp", _local(ell), ones),
                     Row("exp", _local(ell, **{f"u{k + 1}": -1.0}), zeros)]
        q = np.zeros((n, ell))
        q[:, 0] = c
        return LossTemplate(ell, q, np.zeros((n, ell)), rows, beta=-c[:, None] * y)
    raise ValueError(f"loss {name!r} has no structured template; supported: squared, absolute, "
                     "quantile, huber, hinge, squared_hinge, logistic, multinomial")
