"""Limited-memory BFGS with an Armijo backtracking line search (smooth, unconstrained F = f).

The direction d = −H_k ∇f(x_k) comes from the two-loop recursion over the last
``memory`` pairs (s, y) = (x_k+1 − x_k, ∇f_k+1 − ∇f_k), with H₀ = (sᵀy / yᵀy)·I;
pairs with sᵀy ≤ 1e-10‖s‖‖y‖ are skipped (Nocedal & Wright, Numerical Optimization, §7.2).
"""
from __future__ import annotations

from collections import deque

import torch

from mlopt.firstorder.base import Clock, Composite, Result, Stopper, armijo_backtracking
from mlopt.firstorder.gradient import _reject


def two_loop(g: torch.Tensor, pairs: deque) -> torch.Tensor:
    """−H g by the two-loop recursion."""
    q = g.clone()
    alphas = []
    for s, y, rho in reversed(pairs):
        a = rho * float(s @ q)
        q -= a * y
        alphas.append(a)
    if pairs:
        s, y, _ = pairs[-1]
        q *= float(s @ y) / float(y @ y)
    for (s, y, rho), a in zip(pairs, reversed(alphas)):
        b = rho * float(y @ q)
        q += (a - b) * s
    return -q


def run(p: Composite, x0: torch.Tensor, *, tol: float, max_iter: int, clock: Clock, stopper: Stopper,
        trace: list, memory: int = 10, c1: float = 1e-4, **unused) -> Result:
    """L-BFGS; options: ``memory`` (pairs kept), ``c1`` (Armijo constant)."""
    _reject(unused, "lbfgs")
    p.require_smooth("lbfgs")
    p.require_unconstrained("lbfgs")
    x = x0
    fx, g = p.f_grad(x)
    pairs: deque = deque(maxlen=memory)
    status, k = "max_iterations", 0
    for k in range(1, max_iter + 1):
        d = two_loop(g, pairs)
        slope = float(g @ d)
        if slope >= 0:  # not a descent direction: reset the memory
            pairs.clear()
            d, slope = -g, -float(g @ g)
        step = 1.0 if pairs else min(1.0, 1.0 / max(float(g.norm()), 1e-300))
        x_new, f_new, g_new, step = armijo_backtracking(p.f_grad, x, fx, d, slope, step, c1)
        s, y = x_new - x, g_new - g
        sy = float(s @ y)
        if sy > 1e-10 * float(s.norm()) * float(y.norm()):
            pairs.append((s, y, 1.0 / sy))
        x, fx, g = x_new, f_new, g_new
        trace.append((clock.elapsed(), k, p.value(x)))
        if stopper.done(k, x, float(g.norm())):
            status = "optimal"
            break
        if clock.expired():
            status = "time_limit"
            break
    return p.result(x, status, k, clock, "lbfgs", trace, stopper.gap)
