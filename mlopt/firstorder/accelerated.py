"""FISTA: Nesterov-accelerated proximal gradient with backtracking and adaptive restart.

    x_k   = prox_{g/L}(y_k − ∇f(y_k)/L)                       (backtracking on L)
    t_k+1 = (1 + √(1 + 4t_k²)) / 2
    y_k+1 = x_k + ((t_k − 1)/t_k+1)(x_k − x_k−1)

O(1/k²) on convex F (Beck & Teboulle 2009).  Restart t ← 1 whenever the momentum
points uphill, ⟨y_k − x_k, x_k − x_k−1⟩ > 0 (O'Donoghue & Candès, FoCM 2015),
which recovers linear convergence on strongly convex problems without knowing μ.
"""
from __future__ import annotations

import math

import torch

from mlopt.firstorder.base import Clock, Composite, Result, Stopper
from mlopt.firstorder.gradient import _reject, backtrack


def fista_loop(p: Composite, x: torch.Tensor, L: float, *, max_iter: int, clock: Clock, stopper: Stopper,
               trace: list, k0: int = 0, restart: bool = True, shrink: float = 0.95,
               stage_tol: float | None = None) -> tuple[torch.Tensor, int, str, float]:
    """Run FISTA from x; returns (x, last iteration, status, L).

    Status is "optimal" (stopper passed), "stage" (gradient mapping ≤ ``stage_tol``,
    used by the smoothing continuation), "time_limit" or "max_iterations".
    """
    x_prev, y, t = x, x, 1.0
    k = k0
    while k < k0 + max_iter:
        k += 1
        fy, gy = p.f_grad(y)
        x, _, L = backtrack(p, y, fy, gy, L)
        grad_map = L * float((x - y).norm())
        trace.append((clock.elapsed(), k, p.value(x)))
        if stopper.done(k, x, grad_map):
            return x, k, "optimal", L
        if stage_tol is not None and grad_map <= stage_tol:
            return x, k, "stage", L
        if clock.expired():
            return x, k, "time_limit", L
        t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        if restart and float((y - x) @ (x - x_prev)) > 0:
            t_new, t = 1.0, 1.0
            y = x
        else:
            y = x + ((t - 1.0) / t_new) * (x - x_prev)
        x_prev, t = x, t_new
        L *= shrink
    return x, k, "max_iterations", L


def run(p: Composite, x0: torch.Tensor, *, tol: float, max_iter: int, clock: Clock, stopper: Stopper,
        trace: list, restart: bool = True, shrink: float = 0.95, L0: float | None = None, **unused) -> Result:
    """FISTA; options: ``restart`` (adaptive restart, default True), ``shrink``, ``L0``."""
    _reject(unused, "fista")
    p.require_smooth("fista")
    L = L0 or p.lipschitz_guess(x0)
    x, k, status, _ = fista_loop(p, x0, L, max_iter=max_iter, clock=clock, stopper=stopper, trace=trace,
                                 restart=restart, shrink=shrink)
    return p.result(x, status, k, clock, "fista", trace, stopper.gap)
