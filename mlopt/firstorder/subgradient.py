"""Methods for kinked losses (hinge, absolute, quantile): the (proximal) subgradient
method and Nesterov smoothing with continuation.

subgradient:  x_k+1 = prox_{t_k g}(x_k − t_k ĝ_k),  ĝ_k ∈ ∂f(x_k),  t_k = t₀/√(k+1);
              returns the best iterate seen.  O(1/√k): it rarely reaches high accuracy,
              which is the lesson it is here to teach.
smoothed:     replace ℓ by its smoothing ℓ_μ (error ≤ ½μ per unit weight, gradient
              1/μ-Lipschitz), run FISTA with warm starts while μ ← ρμ
              (Nesterov, Math. Program. 2005); stops when the certified duality gap of
              the *exact* objective passes the tolerance.
"""
from __future__ import annotations

import math

import torch

from mlopt.firstorder.accelerated import fista_loop
from mlopt.firstorder.base import Clock, Composite, Result, Stopper
from mlopt.firstorder.gradient import _reject


def run_subgradient(p: Composite, x0: torch.Tensor, *, tol: float, max_iter: int, clock: Clock, stopper: Stopper,
                    trace: list, step: float | None = None, **unused) -> Result:
    """Subgradient method; option ``step`` = t₀ (default 1/L of the μ=1 smoothing)."""
    _reject(unused, "subgradient")
    if step is None:
        smooth = Composite(p.obj, p.device, smoothing=None if p.smooth_loss else 1.0)
        step = 1.0 / smooth.lipschitz_guess(x0)
    x = best = x0
    best_val = p.value(x)
    status, k = "max_iterations", 0
    for k in range(1, max_iter + 1):
        _, g = p.f_grad(x)
        t = step / math.sqrt(k)
        x = p.prox(x - t * g, t)
        val = p.value(x)
        if val < best_val:
            best, best_val = x, val
        trace.append((clock.elapsed(), k, best_val))
        if stopper.done(k, best):
            status = "optimal"
            break
        if clock.expired():
            status = "time_limit"
            break
    return p.result(best, status, k, clock, "subgradient", trace, stopper.gap)


def run_smoothed(p: Composite, x0: torch.Tensor, *, tol: float, max_iter: int, clock: Clock, stopper: Stopper,
                 trace: list, mu0: float | None = None, rho: float = 0.1, mu_min: float = 1e-12, **unused) -> Result:
    """Smoothing + FISTA continuation; options ``mu0`` (default 1 for hinge, std(y) for
    regression), ``rho`` (μ factor per stage), ``mu_min``."""
    _reject(unused, "smoothed")
    if p.smooth_loss:
        raise ValueError(f"method='smoothed' is for kinked losses (hinge, absolute, quantile); loss "
                         f"{p.obj.loss.name!r} is already smooth: use 'fista', 'lbfgs' or 'newton'")
    if not 0 < rho < 1:
        raise ValueError(f"rho must lie in (0, 1), got {rho}")
    mu = mu0 if mu0 is not None else (1.0 if p.obj.loss.name == "hinge" else max(float(p.y.std()), 1e-8))
    x, k, status = x0, 0, "max_iterations"
    while k < max_iter:
        q = Composite(p.obj, p.device, smoothing=mu)
        q.X, q.y, q.s = p.X, p.y, p.s
        L = q.lipschitz_guess(x)
        _, g0 = q.f_grad(x)
        x, k, status, _ = fista_loop(q, x, L, max_iter=max_iter - k, clock=clock, stopper=stopper, trace=trace,
                                     k0=k, stage_tol=0.01 * max(float(g0.norm()), 1e-12) if mu > mu_min else None)
        if status != "stage":
            break
        mu = max(mu * rho, mu_min)
        status = "max_iterations"
    return p.result(x, status, k, clock, "smoothed", trace, stopper.gap)
