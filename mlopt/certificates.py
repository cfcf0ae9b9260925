"""Duality-gap certificates for any coefficients of an :class:`~mlopt.objective.Objective`.

With zᵢ = xᵢᵀw + b, fᵢ(z) = λ sᵢ ℓ(yᵢ, z) and h(w) = a₁N(w) + ½a₂‖w‖² (+ w ≥ 0),

    P(w, b) = Σᵢ fᵢ(xᵢᵀw + b) + h(w)
    D(θ)    = −Σᵢ fᵢ*(θᵢ) − h*(−Xᵀθ)      subject to Σᵢ θᵢ = 0 (with an intercept).

Weak duality gives P(w, b) − P* ≤ P(w, b) − D(θ) for *every* feasible θ, so a
feasible θ built from the coefficients bounds their suboptimality without knowing
the optimum.  θ is built as θᵢ = fᵢ'(zᵢ) (the optimality condition), then

1. intercept: Σθ = 0 is restored per output column by shrinking the entries of the
   heavier sign towards 0 (every conjugate domain used here is an interval that
   contains 0, so shrinking keeps θ feasible);
2. without a ridge part (a₂ = 0) h* is the indicator of the dual-norm ball
   {v : N°(v) ≤ a₁}; θ is scaled by min(1, a₁ / N°(Xᵀθ)) (the dual-scaling trick).

At the optimum both corrections vanish and the gap is 0.  The per-loss conjugates
are listed in ``formulations/certificates.md``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mlopt.objective import Objective, ScaledHuberObjective, _as_tensor

__all__ = ["Certificate", "certificate", "dual_value", "CERTIFIED_LOSSES"]

#: losses whose conjugate is implemented
CERTIFIED_LOSSES = ("squared", "absolute", "huber", "quantile", "hinge", "squared_hinge", "logistic", "multinomial")


@dataclass
class Certificate:
    """Primal value P, dual value D of a feasible dual point, and the gap P − D ≥ P − P*."""

    primal: float
    dual: float
    gap: float
    relative_gap: float
    theta: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"Certificate(primal={self.primal:.10g}, dual={self.dual:.10g}, gap={self.gap:.3e}, relative_gap={self.relative_gap:.3e})"


def _xlogx(a: torch.Tensor) -> torch.Tensor:
    return torch.where(a > 0, a * torch.log(torch.clamp(a, min=1e-300)), torch.zeros_like(a))


def _loss_conjugate(name: str, u: torch.Tensor, y: torch.Tensor, loss) -> torch.Tensor:
    """Elementwise ℓ*(u) on the clipped domain (rows summed for multinomial)."""
    if name == "squared":
        return 0.5 * u**2 + u * y
    if name in ("absolute", "quantile"):
        return u * y
    if name == "huber":
        return u * y + 0.25 * u**2
    if name == "hinge":
        return -(-y * u)  # u = −y·a  →  ℓ* = −a
    if name == "squared_hinge":
        a = -y * u
        return -a + 0.25 * a**2
    if name == "logistic":
        a = -y * u
        return _xlogx(a) + _xlogx(1 - a)
    if name == "multinomial":
        return _xlogx(u + y).sum(dim=1)
    raise ValueError(f"no conjugate for loss {name!r}; certified losses are {CERTIFIED_LOSSES}")


def _clip_to_domain(name: str, u: torch.Tensor, y: torch.Tensor, loss) -> torch.Tensor:
    """Project a (sub)gradient ℓ'(z) onto dom ℓ* (it is already there up to rounding)."""
    if name == "absolute":
        return u.clamp(-1.0, 1.0)
    if name == "quantile":
        return u.clamp(-loss.quantile, 1.0 - loss.quantile)
    if name == "huber":
        return u.clamp(-2 * loss.epsilon, 2 * loss.epsilon)
    if name in ("hinge", "logistic"):
        return -y * (-y * u).clamp(0.0, 1.0)
    if name == "squared_hinge":
        return -y * (-y * u).clamp(min=0.0)
    return u


def _fix_intercept(theta: torch.Tensor) -> torch.Tensor:
    """Σᵢθᵢ = 0 per column, by shrinking the heavier sign's entries towards 0."""
    pos = theta.clamp(min=0).sum(dim=0)
    neg = (-theta).clamp(min=0).sum(dim=0)
    tiny = torch.finfo(theta.dtype).tiny
    shrink_pos = torch.where(pos > neg, neg / torch.clamp(pos, min=tiny), torch.ones_like(pos))
    shrink_neg = torch.where(neg > pos, pos / torch.clamp(neg, min=tiny), torch.ones_like(neg))
    return torch.where(theta > 0, theta * shrink_pos, theta * shrink_neg)


def _penalty_conjugate(obj: Objective, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(h*(v) when a₂ > 0 — else 0 —, dual norm N°(v) used for scaling when a₂ = 0)."""
    a1, a2 = obj.penalty_weights
    name = obj.penalty.name
    if obj.positive:
        v = v.clamp(min=0) if name in ("none", "l2") or a1 == 0 else v
    zero = torch.zeros((), dtype=v.dtype, device=v.device)
    if a1 == 0 or name in ("none", "l2"):
        if a2 > 0:
            return 0.5 / a2 * (v**2).sum(), zero
        return zero, v.abs().max() if v.numel() else zero  # needs v = 0: scaling towards 0
    if name in ("l1", "elasticnet"):
        shrunk = (v - a1).clamp(min=0) if obj.positive else (v.abs() - a1).clamp(min=0)
        if a2 > 0:
            return 0.5 / a2 * (shrunk**2).sum(), zero
        return zero, (v.max() if obj.positive else v.abs().max())
    if name == "group":
        if obj.positive:
            raise ValueError("certificate: group penalty with positive=True is not covered")
        members, labels, sizes = obj.penalty._labels(v)
        norms = obj.penalty._group_norms(v, members, labels, len(sizes))
        free = torch.ones(v.shape[0], dtype=torch.bool, device=v.device)
        free[members] = False
        if a2 > 0:
            return 0.5 / a2 * (((norms - a1 * sizes).clamp(min=0) ** 2).sum() + (v[free] ** 2).sum()), zero
        ratio = (norms / sizes).max()
        if free.any():
            ratio = torch.maximum(ratio, torch.full_like(ratio, float("inf")) if v[free].abs().max() > 0 else ratio)
        return zero, ratio
    raise ValueError(f"certificate: penalty {name!r} is not covered")


def _check(obj: Objective) -> None:
    if isinstance(obj, ScaledHuberObjective):
        raise ValueError("certificate: HuberRegressor's joint-scale objective has no first-order certificate; "
                         "use the conic solver's duality gap (estimator.solution_.duality_gap)")
    if not isinstance(obj, Objective):
        raise TypeError(f"objective must be a mlopt.objective.Objective, got {type(obj).__name__}")
    if obj.bounds is not None:
        raise ValueError("certificate: objectives with bounds= are not covered; drop bounds or use a conic solver")
    if obj.loss.name not in CERTIFIED_LOSSES:
        raise ValueError(f"certificate: loss {obj.loss.name!r} is not covered; covered are {CERTIFIED_LOSSES}")


def dual_value(obj: Objective, coef: torch.Tensor, intercept: torch.Tensor) -> tuple[float, torch.Tensor]:
    """D(θ) for the feasible θ built from (coef, intercept) as in the module docstring; returns (D, θ)."""
    _check(obj)
    X, y, s = obj.tensors(coef.device)
    lam = obj.loss_weight
    name = obj.loss.name
    multi = y.ndim == 2
    z = (X @ coef + intercept).detach().requires_grad_(True)
    with torch.enable_grad():
        per = obj.loss.value(z, y)
        (u,) = torch.autograd.grad(per.sum(), z)  # ℓ'(zᵢ) (a subgradient where ℓ is kinked)
    u = _clip_to_domain(name, u, y, obj.loss)
    if name == "multinomial" and obj.fit_intercept:
        raise ValueError("certificate: multinomial loss with an intercept is not covered (fit_intercept=False is)")
    c = torch.full((X.shape[0],), lam, dtype=X.dtype, device=X.device) if s is None else lam * s
    cc = c[:, None] if multi else c
    theta = cc * u
    if obj.fit_intercept:
        theta = _fix_intercept(theta)
    v = -(X.T @ theta)
    a1, a2 = obj.penalty_weights
    h_star, dual_norm = _penalty_conjugate(obj, v)
    if a2 == 0:
        bound = a1 if obj.penalty.name not in ("none", "l2") else 0.0
        if float(dual_norm) > bound:
            scale = bound / float(dual_norm) if np.isfinite(float(dual_norm)) else 0.0
            theta = theta * scale
    # conjugate terms on the (possibly rescaled) point, per sample
    safe = torch.where(cc > 0, cc, torch.ones_like(cc))
    ustar = theta / safe
    conj = _loss_conjugate(name, ustar, y, obj.loss)
    if multi and conj.ndim == 2:
        conj = conj.sum(dim=1)
    conj_total = (c * torch.where(c > 0, conj, torch.zeros_like(conj))).sum()
    if a2 > 0:
        h_star, _ = _penalty_conjugate(obj, -(X.T @ theta))
    else:
        h_star = torch.zeros((), dtype=X.dtype, device=X.device)
    return float(-conj_total - h_star), theta


def certificate(obj: Objective, coef, intercept=0.0, device: str | torch.device = "cpu",
                keep_theta: bool = False) -> Certificate:
    """Duality-gap certificate of (coef, intercept) — from any solver — for ``obj``.

    Args:
        obj: the objective (e.g. ``estimator.get_objective(X, y)``).
        coef: coefficients of shape ``obj.coef_shape`` (numpy, torch or list).
        intercept: scalar or (K,); ignored when ``obj.fit_intercept`` is False.
        device: where to compute.
    Returns:
        :class:`Certificate` with ``gap`` = P(w, b) − D(θ) ≥ P(w, b) − P*.

    Example:
        >>> cert = certificate(Lasso(0.1).get_objective(X, y), sk.coef_, sk.intercept_)  # doctest: +SKIP
    """
    _check(obj)
    w = _as_tensor(coef, device=device).reshape(obj.coef_shape)
    K = obj.coef_shape[1] if len(obj.coef_shape) == 2 else None
    b = _as_tensor(intercept, device=device)
    if not obj.fit_intercept:
        b = torch.zeros(() if K is None else (K,), dtype=w.dtype, device=w.device)
    elif K is not None:
        b = b.reshape(-1).expand(K) if b.numel() == 1 else b.reshape(K)
    else:
        b = b.reshape(())
    with torch.no_grad():
        primal = float(obj.torch_value(w, b))
    violation = obj.constraint_violation(w.cpu().numpy())
    if violation > 0:
        primal = float("inf")
    dual, theta = dual_value(obj, w, b)
    gap = max(primal - dual, 0.0)
    rel = gap / max(abs(primal), 1e-12) if np.isfinite(primal) else float("inf")
    return Certificate(primal=primal, dual=dual, gap=gap, relative_gap=rel,
                       theta=theta.detach().cpu().numpy() if keep_theta else None)
