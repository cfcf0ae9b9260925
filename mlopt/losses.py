"""Convex losses ℓ(y, z) of a linear prediction z = Xw + b.

Each loss knows three things:

* ``cvxpy(z, y, weights)`` — the DPP-compliant CVXPY expression Σᵢ sᵢ ℓ(yᵢ, zᵢ),
  which CVXPY lowers to cones (listed in ``cones``);
* ``value(z, y)`` — the elementwise loss as a torch tensor (first-order solvers
  differentiate it with autograd; certificates and the compare harness evaluate it);
* ``task`` — ``"regression"``, ``"binary"`` (labels ±1) or ``"multiclass"``
  (labels one-hot, z of shape (n, K)).

Conventions (r = y − z is the residual, m = y·z the margin):

==================  ===========================================  ==================
loss                ℓ(y, z)                                      cones
==================  ===========================================  ==================
squared             ½ r²                                         second-order
absolute            |r|                                          nonnegative
huber(M)            r² if |r| ≤ M else 2M|r| − M²                second-order
quantile(τ)         τ·max(r, 0) + (1 − τ)·max(−r, 0)             nonnegative
hinge               max(0, 1 − m)                                nonnegative
squared_hinge       max(0, 1 − m)²                               second-order
logistic            log(1 + exp(−m))                             exponential
multinomial         log Σₖ exp(zₖ) − z_y                         exponential
==================  ===========================================  ==================
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cvxpy as cp
import numpy as np
import torch

__all__ = [
    "Loss",
    "SquaredLoss",
    "AbsoluteLoss",
    "HuberLoss",
    "QuantileLoss",
    "HingeLoss",
    "SquaredHingeLoss",
    "LogisticLoss",
    "MultinomialLoss",
    "LOSSES",
    "get_loss",
]


class Loss:
    """A convex loss ℓ(y, z); see the module docstring for the conventions."""

    name: str = ""
    task: str = "regression"
    cones: tuple[str, ...] = ()

    def cvxpy(self, z: cp.Expression, y: np.ndarray, weights: np.ndarray | None = None) -> cp.Expression:
        """CVXPY expression Σᵢ sᵢ ℓ(yᵢ, zᵢ) (sᵢ = 1 without weights)."""
        raise NotImplementedError

    def value(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Elementwise ℓ(yᵢ, zᵢ), shape (n,)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _weighted_sum(elementwise: cp.Expression, weights: np.ndarray | None) -> cp.Expression:
    if weights is None:
        return cp.sum(elementwise)
    w = np.asarray(weights, dtype=float)
    if len(elementwise.shape) == 2 and w.ndim == 1:
        w = w[:, None]  # one weight per sample, shared by its outputs
    return cp.sum(cp.multiply(w, elementwise))


def _sqrt_weights(weights: np.ndarray, like: cp.Expression) -> np.ndarray:
    w = np.sqrt(np.asarray(weights, dtype=float))
    return w[:, None] if len(like.shape) == 2 else w


class SquaredLoss(Loss):
    """ℓ = ½(y − z)²; lowered to one second-order cone via ‖√s ∘ r‖²."""

    name, task, cones = "squared", "regression", ("second-order",)

    def cvxpy(self, z, y, weights=None):
        r = y - z
        if weights is not None:
            r = cp.multiply(_sqrt_weights(weights, r), r)
        return 0.5 * cp.sum_squares(r)

    def value(self, z, y):
        return 0.5 * (y - z) ** 2


class AbsoluteLoss(Loss):
    """ℓ = |y − z| (least absolute deviations); an LP."""

    name, task, cones = "absolute", "regression", ("nonnegative",)

    def cvxpy(self, z, y, weights=None):
        return _weighted_sum(cp.abs(y - z), weights)

    def value(self, z, y):
        return (y - z).abs()


@dataclass(repr=True)
class HuberLoss(Loss):
    """ℓ = r² for |r| ≤ M, 2M|r| − M² otherwise (CVXPY's ``huber``)."""

    epsilon: float = 1.35
    name = "huber"
    task = "regression"
    cones = ("second-order", "nonnegative")

    def cvxpy(self, z, y, weights=None):
        return _weighted_sum(cp.huber(y - z, self.epsilon), weights)

    def value(self, z, y):
        a = (y - z).abs()
        m = self.epsilon
        return torch.where(a <= m, a**2, 2 * m * a - m**2)


@dataclass(repr=True)
class QuantileLoss(Loss):
    """Pinball loss ℓ = τ·max(r, 0) + (1 − τ)·max(−r, 0) = ½|r| + (τ − ½) r."""

    quantile: float = 0.5
    name = "quantile"
    task = "regression"
    cones = ("nonnegative",)

    def cvxpy(self, z, y, weights=None):
        r = y - z
        return _weighted_sum(0.5 * cp.abs(r) + (self.quantile - 0.5) * r, weights)

    def value(self, z, y):
        r = y - z
        return torch.where(r >= 0, self.quantile * r, (self.quantile - 1.0) * r)


class HingeLoss(Loss):
    """ℓ = max(0, 1 − y·z), labels y ∈ {−1, +1}."""

    name, task, cones = "hinge", "binary", ("nonnegative",)

    def cvxpy(self, z, y, weights=None):
        return _weighted_sum(cp.pos(1 - cp.multiply(y, z)), weights)

    def value(self, z, y):
        return torch.clamp(1 - y * z, min=0)


class SquaredHingeLoss(Loss):
    """ℓ = max(0, 1 − y·z)², labels y ∈ {−1, +1}."""

    name, task, cones = "squared_hinge", "binary", ("nonnegative", "second-order")

    def cvxpy(self, z, y, weights=None):
        h = cp.pos(1 - cp.multiply(y, z))
        if weights is not None:
            h = cp.multiply(_sqrt_weights(weights, h), h)
        return cp.sum_squares(h)

    def value(self, z, y):
        return torch.clamp(1 - y * z, min=0) ** 2


class LogisticLoss(Loss):
    """ℓ = log(1 + exp(−y·z)), labels y ∈ {−1, +1}; two exponential cones per sample."""

    name, task, cones = "logistic", "binary", ("exponential", "nonnegative")

    def cvxpy(self, z, y, weights=None):
        return _weighted_sum(cp.logistic(-cp.multiply(y, z)), weights)

    def value(self, z, y):
        return torch.nn.functional.softplus(-y * z)


class MultinomialLoss(Loss):
    """ℓ = log Σₖ exp(zₖ) − ⟨y, z⟩ with y one-hot, z ∈ ℝᴷ; K exponential cones per sample."""

    name, task, cones = "multinomial", "multiclass", ("exponential", "nonnegative")

    def cvxpy(self, z, y, weights=None):
        per_sample = cp.log_sum_exp(z, axis=1) - cp.sum(cp.multiply(y, z), axis=1)
        return _weighted_sum(per_sample, weights)

    def value(self, z, y):
        return torch.logsumexp(z, dim=1) - (y * z).sum(dim=1)


#: loss name → constructor taking the loss's own keyword arguments
LOSSES: dict[str, Callable[..., Loss]] = {
    "squared": SquaredLoss,
    "absolute": AbsoluteLoss,
    "huber": HuberLoss,
    "quantile": QuantileLoss,
    "hinge": HingeLoss,
    "squared_hinge": SquaredHingeLoss,
    "logistic": LogisticLoss,
    "multinomial": MultinomialLoss,
}


def get_loss(loss: str | Loss, **kwargs) -> Loss:
    """Return a :class:`Loss` from a name (see ``LOSSES``) or pass an instance through."""
    if isinstance(loss, Loss):
        return loss
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a string or a mlopt.losses.Loss, got {type(loss).__name__}")
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)}")
    return LOSSES[loss](**kwargs)
