"""Proximal gradient descent with backtracking line search (ISTA).

    x⁺ = prox_{g/L}(x − ∇f(x)/L),  L doubled until
    f(x⁺) ≤ f(x) + ⟨∇f(x), x⁺ − x⟩ + ½L‖x⁺ − x‖²   (the descent lemma),

then L shrinks by ``shrink`` before the next step so the step adapts to local
curvature.  Sublinear O(1/k) on convex F, linear on strongly convex F
(Beck & Teboulle, SIAM J. Imaging Sci. 2009).
"""
from __future__ import annotations

import torch

from mlopt.firstorder.base import Clock, Composite, Result, Stopper


def backtrack(p: Composite, y: torch.Tensor, fy: torch.Tensor, gy: torch.Tensor, L: float,
              grow: float = 2.0, max_tries: int = 60) -> tuple[torch.Tensor, torch.Tensor, float]:
    """One proximal step from y with backtracking on L; returns (x⁺, f(x⁺), L)."""
    slack = 1e-13 * (1.0 + abs(float(fy)))
    for _ in range(max_tries):
        x = p.prox(y - gy / L, 1.0 / L)
        d = x - y
        with torch.no_grad():
            fx = p.f(x)
        if float(fx - fy - gy @ d) <= 0.5 * L * float(d @ d) + slack:
            return x, fx, L
        L *= grow
    return x, fx, L


def run(p: Composite, x0: torch.Tensor, *, tol: float, max_iter: int, clock: Clock, stopper: Stopper,
        trace: list, shrink: float = 0.9, L0: float | None = None, **unused) -> Result:
    """Proximal gradient descent; options: ``shrink`` (L multiplier after a step), ``L0``."""
    _reject(unused, "gd")
    p.require_smooth("gd")
    x = x0
    L = L0 or p.lipschitz_guess(x)
    status = "max_iterations"
    for k in range(1, max_iter + 1):
        fx, gx = p.f_grad(x)
        x_new, _, L = backtrack(p, x, fx, gx, L)
        grad_map = L * float((x_new - x).norm())
        x = x_new
        trace.append((clock.elapsed(), k, p.value(x)))
        if stopper.done(k, x, grad_map):
            status = "optimal"
            break
        if clock.expired():
            status = "time_limit"
            break
        L *= shrink
    return p.result(x, status, k, clock, "gd", trace, stopper.gap)


def _reject(unused: dict, method: str) -> None:
    if unused:
        raise TypeError(f"method={method!r} got unknown options {sorted(unused)}")
