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

import itertools
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import lsq_linear

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


def _domain_bounds(name: str, y: torch.Tensor, loss) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Elementwise box (lo, hi) of dom ℓ* (±∞ where a side is open), or None where nothing is clipped
    (squared: dom ℓ* = ℝ; multinomial: the shifted simplex, handled by its conjugate).  Binary losses: u = −y·a with a ∈ [0, 1] (hinge, logistic) or a ≥ 0
    (squared hinge)."""
    scalar = {"absolute": lambda: (-1.0, 1.0), "quantile": lambda: (-loss.quantile, 1.0 - loss.quantile),
              "huber": lambda: (-2 * loss.epsilon, 2 * loss.epsilon)}
    if name in scalar:
        lo, hi = scalar[name]()
        return torch.full_like(y, lo), torch.full_like(y, hi)
    if name in ("hinge", "logistic", "squared_hinge"):
        end = -y if name != "squared_hinge" else torch.where(y > 0, -torch.inf, torch.inf)  # u at a = 1 (a = ∞)
        zero = torch.zeros_like(y)
        return torch.minimum(end, zero), torch.maximum(end, zero)
    return None


def _clip_to_domain(name: str, u: torch.Tensor, y: torch.Tensor, loss) -> torch.Tensor:
    """Project a (sub)gradient ℓ'(z) onto dom ℓ* (it is already there up to rounding)."""
    box = _domain_bounds(name, y, loss)
    return u if box is None else torch.clamp(u, *box)


def _fix_intercept(theta: torch.Tensor) -> torch.Tensor:
    """Σᵢθᵢ = 0 per column, by shrinking the heavier sign's entries towards 0."""
    pos = theta.clamp(min=0).sum(dim=0)
    neg = (-theta).clamp(min=0).sum(dim=0)
    tiny = torch.finfo(theta.dtype).tiny
    shrink_pos = torch.where(pos > neg, neg / torch.clamp(pos, min=tiny), torch.ones_like(pos))
    shrink_neg = torch.where(neg > pos, pos / torch.clamp(neg, min=tiny), torch.ones_like(neg))
    return torch.where(theta > 0, theta * shrink_pos, theta * shrink_neg)


def _support_target(obj: Objective, coef: torch.Tensor, zero_tol: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(mask of coordinates where −Xᵀθ must equal ∇h(w), that value ∇h(w) = a₂w + a₁∇N(w))."""
    a1, a2 = obj.penalty_weights
    w = coef.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        norm = obj.penalty.norm_value(w) if a1 else (w * 0).sum()
        (gn,) = torch.autograd.grad(norm, w, allow_unused=False)
    target = a2 * coef + a1 * gn
    big = coef.abs() > zero_tol * float(coef.abs().max()) if coef.numel() else coef != 0
    mask = torch.ones_like(coef, dtype=torch.bool) if a1 == 0 else big
    if obj.positive:
        mask = mask & big
    return mask, target


def _free_features(obj: Objective, d: int, device) -> torch.Tensor:
    """Features h does not penalize at all (then (Xᵀθ)ⱼ = 0 is a hard dual constraint)."""
    a1, a2 = obj.penalty_weights
    free = torch.zeros(d, dtype=torch.bool, device=device)
    if a2 > 0:
        return free
    if a1 == 0 or obj.penalty.name in ("none", "l2"):
        return ~free
    if obj.penalty.name == "group":
        idx = obj.penalty.index_lists(d)
        free[:] = True
        free[torch.as_tensor(np.concatenate(idx), device=device)] = False
    return free


def _penalty_conjugate(obj: Objective, v: torch.Tensor, free: torch.Tensor) -> tuple[torch.Tensor, float]:
    """(h*(v) when a₂ > 0 — else 0 —, the factor t ≤ 1 that puts t·v in dom h* when a₂ = 0)."""
    a1, a2 = obj.penalty_weights
    name = obj.penalty.name
    zero = torch.zeros((), dtype=v.dtype, device=v.device)
    if obj.positive and (name == "group"):
        raise ValueError("certificate: group penalty with positive=True is not covered")
    if a2 > 0:
        if a1 == 0 or name in ("none", "l2"):
            vv = v.clamp(min=0) if obj.positive else v
            return 0.5 / a2 * (vv**2).sum(), 1.0
        if name in ("l1", "elasticnet"):
            shrunk = (v - a1).clamp(min=0) if obj.positive else (v.abs() - a1).clamp(min=0)
            return 0.5 / a2 * (shrunk**2).sum(), 1.0
        members, labels, sizes = obj.penalty._labels(v)
        norms = obj.penalty._group_norms(v, members, labels, len(sizes))
        return 0.5 / a2 * (((norms - a1 * sizes).clamp(min=0) ** 2).sum() + (v[free] ** 2).sum()), 1.0
    # a₂ = 0: h* is the indicator of {N°(v) ≤ a₁} (and v_free = 0)
    if free.any():
        vf = v[free].clamp(min=0) if obj.positive else v[free]
        if float(vf.abs().max()) > 1e-12 * (1.0 + float(v.abs().max())):
            return zero, 0.0
    if a1 == 0 or name in ("none", "l2"):
        return zero, 1.0
    if name in ("l1", "elasticnet"):
        dual_norm = float(v.max() if obj.positive else v.abs().max())
    else:
        members, labels, sizes = obj.penalty._labels(v)
        dual_norm = float((obj.penalty._group_norms(v, members, labels, len(sizes)) / sizes).max())
    return zero, (1.0 if dual_norm <= a1 else a1 / dual_norm)


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
    if obj.loss.name == "multinomial" and obj.fit_intercept:
        raise ValueError("certificate: multinomial loss with an intercept is not covered (fit_intercept=False is)")


_KINKED = {"hinge": 1.0, "absolute": 0.0, "quantile": 0.0}


#: kink samples up to which the bounded least-squares candidate is also computed (BVLS, dense: cubic cost)
_BOUNDED_KINK_MAX = 3000


def _kink_candidates(obj, X, y, z, u, c, coef) -> list[torch.Tensor]:
    """Refined ℓ'(z) for kinked losses: on samples at the kink (within δ), solve the
    stationarity equations X_Mᵀθ_M = −∇h(w) − X_{M̄}ᵀθ_{M̄} (and Σθ = 0) by least squares.
    Where that solution leaves dom ℓ* (more kink samples than equations: the least-norm solution
    ignores the bounds, and clipping it breaks stationarity), a second candidate solves the same
    equations by least squares within the bounds (scipy's BVLS), for at most :data:`_BOUNDED_KINK_MAX`
    kink samples."""
    name = obj.loss.name
    if name not in _KINKED:
        return []
    kink = (y * z - 1.0).abs() if name == "hinge" else (y - z).abs()
    out = []
    multi = u.ndim == 2
    U, Z, C = (u, kink, c) if multi else (u[:, None], kink[:, None], c)
    lo_all, hi_all = _domain_bounds(name, y, obj.loss)
    LO, HI = (lo_all, hi_all) if multi else (lo_all[:, None], hi_all[:, None])
    for zero_tol, delta in itertools.product((0.0, 1e-6), (1e-8, 1e-5, 1e-3)):
        mask_s, target = _support_target(obj, coef, zero_tol)
        T, Ms = (target, mask_s) if multi else (target[:, None], mask_s[:, None])
        cand = U.clone()
        bounded = {}  # output k → (kink mask, multipliers within the bounds)
        for k in range(U.shape[1]):  # outputs are independent one-vs-rest columns
            M = Z[:, k] <= delta * (1.0 + Z[:, k].abs().max())
            if not M.any():
                continue
            theta_out = C[~M] * U[~M, k]
            rows = Ms[:, k]
            # (|S|, |M|): coefficients of u_M (a dense block of the few kink samples, also for sparse X)
            A = torch.as_tensor(obj.dense_block(M.cpu().numpy(), rows.cpu().numpy()), dtype=U.dtype,
                                device=U.device).T * C[M]
            rhs = -T[rows, k] - (X.t() @ torch.zeros_like(C).masked_scatter(~M, theta_out))[rows]
            if obj.fit_intercept:
                A = torch.cat([A, C[M][None, :]], dim=0)
                rhs = torch.cat([rhs, -theta_out.sum().reshape(1)])
            if A.shape[0] == 0:
                continue
            sol = torch.linalg.lstsq(A.cpu(), rhs.cpu()[:, None], driver="gelsd").solution[:, 0].to(U)
            cand[M, k] = sol
            lo, hi = LO[M, k], HI[M, k]
            if bool(((sol < lo) | (sol > hi)).any()) and int(M.sum()) <= _BOUNDED_KINK_MAX:
                fit = lsq_linear(A.cpu().numpy(), rhs.cpu().numpy(), bounds=(lo.cpu().numpy(), hi.cpu().numpy()),
                                 method="bvls")
                bounded[k] = (M, torch.as_tensor(fit.x, dtype=U.dtype, device=U.device))
        candidates = [cand]
        if bounded:  # the least-squares candidate with the bounded solutions in their outputs
            candidates.append(cand.clone())
            for k, (M, sol) in bounded.items():
                candidates[1][M, k] = sol
        for one in candidates:
            out.append(_clip_to_domain(name, one if multi else one[:, 0], y, obj.loss))
    return out


def _feasible_dual(obj, X, y, c, theta, free) -> float:
    """Make θ dual feasible (intercept, unpenalized features, dual-norm scaling) and return D(θ)."""
    cc = c[:, None] if theta.ndim == 2 else c
    if obj.loss.name == "squared":  # dom ℓ* = ℝ: project θ onto {Σθ = 0, X_freeᵀθ = 0}
        cols = [torch.as_tensor(obj.dense_block(cols=free.cpu().numpy()), dtype=X.dtype, device=X.device)] \
            if free.any() else []
        if obj.fit_intercept:
            cols.append(torch.ones(X.shape[0], 1, dtype=X.dtype, device=X.device))
        if cols:
            Q, _ = torch.linalg.qr(torch.cat(cols, dim=1))
            theta = theta - Q @ (Q.T @ theta)
    elif obj.fit_intercept:
        theta = _fix_intercept(theta)
    v = -(X.t() @ theta)  # (t(): also for a sparse CSR X)
    h_star, scale = _penalty_conjugate(obj, v, free)
    if scale < 1.0:
        theta = theta * scale
    safe = torch.where(cc > 0, cc, torch.ones_like(cc))
    conj = _loss_conjugate(obj.loss.name, theta / safe, y, obj.loss)
    if conj.ndim == 2:
        conj = (torch.where(cc > 0, conj, torch.zeros_like(conj))).sum(dim=1)
    else:
        conj = torch.where(c > 0, conj, torch.zeros_like(conj))
    return float(-(c * conj).sum() - h_star)


def dual_value(obj: Objective, coef: torch.Tensor, intercept: torch.Tensor) -> float:
    """The best D(θ) over the feasible dual points built from (coef, intercept); see the module docstring."""
    _check(obj)
    X = obj.data_matrix(coef.device)  # sparse CSR for sparse data: never densified
    y, s = obj.targets(coef.device)
    coef = coef.detach()
    z = (X @ coef + intercept).detach().requires_grad_(True)
    with torch.enable_grad():
        (u,) = torch.autograd.grad(obj.loss.value(z, y).sum(), z)  # ℓ'(zᵢ), a subgradient at kinks
    z = z.detach()
    u = _clip_to_domain(obj.loss.name, u, y, obj.loss)
    c = torch.full((X.shape[0],), obj.loss_weight, dtype=X.dtype, device=X.device) if s is None else obj.loss_weight * s
    free = _free_features(obj, X.shape[1], X.device)
    cc = c[:, None] if u.ndim == 2 else c
    best = -float("inf")
    for cand in [u] + _kink_candidates(obj, X, y, z, u, c, coef):
        best = max(best, _feasible_dual(obj, X, y, c, cc * cand, free))
    return best


def certificate(obj: Objective, coef, intercept=0.0, device: str | torch.device = "cpu") -> Certificate:
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
    dual = dual_value(obj, w, b)
    gap = max(primal - dual, 0.0)
    rel = gap / max(abs(primal), 1e-12) if np.isfinite(primal) else float("inf")
    return Certificate(primal=primal, dual=dual, gap=gap, relative_gap=rel)
