"""Methods for kinked losses (hinge, absolute, quantile): the (proximal) subgradient
method with a Polyak step, and Nesterov/Huber smoothing with continuation.

subgradient:  x_k+1 = prox_{t_k g}(x_k − t_k ĝ_k),  ĝ_k ∈ ∂f(x_k); returns the best iterate.
              Where a certificate exists, Polyak's step towards a target level,
                  t_k = (F(x_k) − F_lev) / ‖ĝ_k‖²,   F_lev = max(F_best − δ, D_best),
              with D_best ≤ F* the best certified dual value (so the target never drops
              below a proven lower bound) and δ grown ×1.5 when the target is reached,
              halved after ``patience`` misses (the target-level rule of Nedić &
              Bertsekas, 2001); otherwise t_k = t₀/√k.  O(1/√k) at best: it rarely
              reaches high accuracy, which is the lesson it is here to teach.
smoothed:     replace ℓ by its Nesterov/Huber smoothing ℓ_μ (error ≤ ½μ per unit weight,
              C¹ with piecewise-constant curvature) and decrease μ ← ρμ, warm-starting
              each stage (Nesterov, Math. Program. 2005).  With no nonsmooth penalty or
              constraint each stage is solved by (semismooth) Newton steps on the
              generalized Hessian, one (d+1)×(d+1) block per output column,
                  X̃_Zᵀ diag(λsᵢℓ_μ'') X̃_Z + a₂I,   Z = samples inside the smoothing zone,
              the step taken at the exact minimum along the direction (f_μ is piecewise
              quadratic along a line) and checked by Armijo backtracking; a stage ends
              when Z settles under a unit step (the step was then exact).  With an
              L1/group penalty or constraints each stage runs FISTA instead.  The
              certified duality gap of the *exact* objective is checked after each stage
              (Newton) or every 10 iterations (FISTA) and stops the method at ``tol``.
"""
from __future__ import annotations

import math

import torch

from mlopt.firstorder.accelerated import fista_loop
from mlopt.firstorder.base import Clock, Composite, Result, Stopper, armijo_backtracking
from mlopt.firstorder.gradient import _reject

def _dual_bound(p: Composite, x: torch.Tensor) -> float | None:
    """Certified lower bound D(θ(x)) ≤ F* (None when the objective has no certificate)."""
    from mlopt.certificates import dual_value

    w, b = p.split(x)
    try:
        return dual_value(p.obj, w, b)
    except ValueError:
        return None


def run_subgradient(p: Composite, x0: torch.Tensor, *, tol: float, max_iter: int, clock: Clock, stopper: Stopper,
                    trace: list, step: float | str | None = None, patience: int = 200,
                    **unused) -> Result:
    """Subgradient method.  Options: ``step`` — "polyak" (target-level Polyak step, see the
    module docstring; default for kinked losses with a certificate), "sqrt" or a number t₀
    (t₀/√k; default t₀ = 1/L of the μ=1 smoothing, and the default for smooth losses);
    ``patience`` (misses before the level gap δ is halved)."""
    _reject(unused, "subgradient")
    if not (isinstance(patience, int) and patience >= 1):
        raise ValueError(f"patience must be a positive integer, got {patience!r}")
    if step is None:
        step = "polyak" if not p.smooth_loss else "sqrt"
    numeric = isinstance(step, (int, float)) and not isinstance(step, bool)
    if not (step in ("polyak", "sqrt") if isinstance(step, str) else numeric and step > 0):
        raise ValueError(f"step must be 'polyak', 'sqrt' or a positive number t₀, got {step!r}")
    lower = _dual_bound(p, x0) if step == "polyak" and stopper.use_gap else None
    if not isinstance(step, (int, float)):
        smooth = Composite(p.obj, p.device, smoothing=None if p.smooth_loss else 1.0)
        step = 1.0 / smooth.lipschitz_guess(x0)
    x = best = x0
    best_val = val = p.value(x)
    delta = 0.5 * (best_val - lower) if lower is not None else 0.0
    misses, status, k = 0, "max_iterations", 0
    for k in range(1, max_iter + 1):
        _, g = p.f_grad(x)
        gg = float(g @ g)
        if gg == 0.0:  # x minimizes f; with g = 0 (smooth case) it is optimal
            status = "optimal" if stopper.done(k, best, force=True) or not p.has_prox else status
            break
        if lower is not None:
            level = max(best_val - delta, lower)
            t = max(val - level, 0.0) / gg  # val = F(x)
        else:
            level, t = -math.inf, step / math.sqrt(k)
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
        if lower is None:
            continue
        if val <= level:  # target reached: aim lower
            delta, misses = 1.5 * delta, 0
        else:
            misses += 1
            if misses >= patience:  # target looks unreachable: aim higher
                delta, misses = 0.5 * delta, 0
        if k % stopper.every == 0 and stopper.gap is not None:  # the stopper just certified `best`
            lower = max(lower, best_val - stopper.gap * max(abs(best_val), 1e-12))
        delta = min(delta, best_val - lower)
    return p.result(best, status, k, clock, "subgradient", trace, stopper.gap)


def _derivatives(q: Composite, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(λsᵢ ℓ_μ'(zᵢ), λsᵢ ℓ_μ''(zᵢ)) of the smoothed loss, per sample (and output column)."""
    name, mu, y = q.obj.loss.name, q.mu, q.y
    if name == "hinge":
        m = (1 - y * z) / mu
        d1, d2 = -y * m.clamp(0.0, 1.0), ((m > 0) & (m < 1)).to(z.dtype) / mu
    else:
        r = (y - z) / mu
        d1, d2 = -r.clamp(-1.0, 1.0), (r.abs() < 1).to(z.dtype) / mu
        if name == "quantile":
            d1, d2 = 0.5 * d1 - (q.obj.loss.quantile - 0.5), 0.5 * d2
    c = q.obj.loss_weight if q.s is None else q.obj.loss_weight * (q.s[:, None] if z.ndim == 2 else q.s)
    return c * d1, c * d2


def _zone_weights(q: Composite, x: torch.Tensor) -> torch.Tensor:
    """λ sᵢ ℓ_μ''(zᵢ) as an (n, K) matrix: nonzero exactly inside the smoothing zone."""
    w, b = q.split(x)
    z = q.X @ w + b
    return _derivatives(q, z)[1].reshape(z.shape[0], -1)


def _newton_direction(q: Composite, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Solve (∂²f_μ(x) + εI) Δ = −∇f_μ(x) one output column at a time (blocks of size d(+1))."""
    C = _zone_weights(q, x)
    d = q.X.shape[1]
    K = C.shape[1]
    dx = torch.empty_like(g)
    gw = g[: q.n_coef].reshape(d, K)
    for k in range(K):
        H = q.weighted_gram(C[:, k], C[:, k] > 0)
        H.diagonal()[:d] += q.a2
        H.diagonal().add_(1e-12 * max(float(H.diagonal().max()), 1.0))
        rhs = gw[:, k]
        if q.n_icpt:
            rhs = torch.cat([rhs, g[q.n_coef + k].reshape(1)])
        L, info = torch.linalg.cholesky_ex(H)
        sol = torch.cholesky_solve(rhs[:, None], L)[:, 0] if int(info) == 0 else \
            torch.linalg.lstsq(H, rhs[:, None]).solution[:, 0]
        dx[: q.n_coef].view(d, K)[:, k] = -sol[:d]
        if q.n_icpt:
            dx[q.n_coef + k] = -sol[d]
    return dx


def _line_minimum(q: Composite, x: torch.Tensor, dx: torch.Tensor, iters: int = 60) -> float:
    """argmin_t f_μ(x + t·dx) for t > 0: φ' is continuous, nondecreasing and piecewise linear,
    so safeguarded 1-D Newton on φ' (bisection inside a bracket) ends in a few O(n) steps."""
    w, b = q.split(x)
    dw, db = q.split(dx)
    z, dz = q.X @ w + b, q.X @ dw + db
    ww, dd = float((w * dw).sum()), float((dw * dw).sum())

    def phi(t: float) -> tuple[float, float]:
        d1, d2 = _derivatives(q, z + t * dz)
        return float((d1 * dz).sum()) + q.a2 * (ww + t * dd), float((d2 * dz * dz).sum()) + q.a2 * dd

    lo, hi, t = 0.0, None, 1.0
    slope0 = phi(0.0)[0]
    for _ in range(iters):
        s1, s2 = phi(t)
        if abs(s1) <= 1e-12 * abs(slope0):
            return t
        if s1 < 0:
            lo = t
        else:
            hi = t
        nxt = t - s1 / s2 if s2 > 0 else float("inf")
        if hi is None:
            t = nxt if math.isfinite(nxt) and nxt > t else 2.0 * t
        else:
            t = nxt if lo < nxt < hi else 0.5 * (lo + hi)
    return t if hi is None else lo if lo > 0 else t


def _newton_stage(q: Composite, x: torch.Tensor, *, k: int, max_iter: int, clock: Clock, trace: list,
                  stage_iters: int, stage_eps: float) -> tuple[torch.Tensor, int, str]:
    """Newton steps on f_μ (step from the exact line minimum, checked by Armijo) until the
    zone pattern settles under a unit step (then the step was exact: f_μ is quadratic on
    that piece), ‖∇f_μ‖ ≤ ``stage_eps``, or ``stage_iters`` steps.
    Returns (x, k, status) with status "stage" when the stage is done."""
    fx, g = q.f_grad(x)
    if float(g.norm()) <= stage_eps:
        return x, k, "stage"
    for _ in range(stage_iters):
        dx = _newton_direction(q, x, g)
        size, cap = float(dx.norm()), 1e3 * (1.0 + float(x.norm()))
        if size > cap:  # an empty zone leaves the intercept direction almost flat
            dx = dx * (cap / size)
        slope = float(g @ dx)
        if slope >= 0:
            dx, slope = -g, -float(g @ g)
        if k >= max_iter:
            return x, k, "max_iterations"
        k += 1
        before = _zone_weights(q, x)
        x, fx, g, t = armijo_backtracking(q.f_grad, x, fx, dx, slope, step=_line_minimum(q, x, dx))
        trace.append((clock.elapsed(), k, q.value(x)))
        if clock.expired():
            return x, k, "time_limit"
        if abs(t - 1.0) <= 1e-9 and torch.equal(before, _zone_weights(q, x)) or float(g.norm()) <= stage_eps:
            break
    return x, k, "stage"


def run_smoothed(p: Composite, x0: torch.Tensor, *, tol: float, max_iter: int, clock: Clock, stopper: Stopper,
                 trace: list, mu0: float | None = None, rho: float = 0.1, mu_min: float = 1e-12,
                 inner: str = "auto", stage_iters: int = 50, **unused) -> Result:
    """Smoothing + continuation; options ``mu0`` (default 1 for hinge, std(y) for
    regression), ``rho`` (μ factor per stage), ``mu_min``, ``inner`` ("auto": Newton
    stages where g = 0 and there are no constraints, else FISTA; "newton"; "fista"),
    ``stage_iters`` (Newton steps per stage at most)."""
    _reject(unused, "smoothed")
    if p.smooth_loss:
        raise ValueError(f"method='smoothed' is for kinked losses (hinge, absolute, quantile); loss "
                         f"{p.obj.loss.name!r} is already smooth: use 'fista', 'lbfgs' or 'newton'")
    if inner not in ("auto", "newton", "fista"):
        raise ValueError(f"inner must be 'auto', 'newton' or 'fista', got {inner!r}")
    if inner == "newton" and p.has_prox:
        raise ValueError("inner='newton' needs an unconstrained objective without an L1/group penalty; "
                         "use inner='fista' (or 'auto')")
    use_newton = inner == "newton" or (inner == "auto" and not p.has_prox)
    if not 0 < rho < 1:
        raise ValueError(f"rho must lie in (0, 1), got {rho}")
    if not (isinstance(stage_iters, int) and stage_iters >= 1):
        raise ValueError(f"stage_iters must be a positive integer, got {stage_iters!r}")
    if (mu0 is not None and not mu0 > 0) or not mu_min > 0:
        raise ValueError(f"mu0 and mu_min must be positive, got mu0={mu0!r}, mu_min={mu_min!r}")
    mu = mu0 if mu0 is not None else (1.0 if p.obj.loss.name == "hinge" else max(float(p.y.std()), 1e-8))
    gscale = max(float(Composite(p.obj, p.device, smoothing=mu).f_grad(x0)[1].norm()), 1e-300)
    x, k, status = x0, 0, "max_iterations"
    while k < max_iter:
        q = Composite(p.obj, p.device, smoothing=mu)
        q.X, q.y, q.s = p.X, p.y, p.s
        if use_newton:
            eps = 1e-12 * gscale
            x, k, status = _newton_stage(q, x, k=k, max_iter=max_iter, clock=clock, trace=trace,
                                         stage_iters=stage_iters, stage_eps=eps)
            if stopper.done(k, x, force=True):  # the certificate is checked once per stage
                status = "optimal"
        else:
            L = q.lipschitz_guess(x)
            _, g0 = q.f_grad(x)
            x, k, status, _ = fista_loop(q, x, L, max_iter=max_iter - k, clock=clock, stopper=stopper, trace=trace,
                                         k0=k, stage_tol=0.01 * max(float(g0.norm()), 1e-12) if mu > mu_min else None)
        if status != "stage":
            break
        if mu <= mu_min and use_newton:  # nothing left to refine
            status = "max_iterations"
            break
        mu = max(mu * rho, mu_min)
        status = "max_iterations"
    return p.result(x, status, k, clock, "smoothed", trace, stopper.gap)
