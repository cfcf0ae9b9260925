"""Mini-batch SGD and Adam with learning-rate schedules and growing batches.

Each step uses the unbiased mini-batch gradient of f,
    ∇̂f(x) = λ (n/|B|) Σ_{i∈B} sᵢ ∇ℓᵢ(x) + a₂ w,
transformed by an optax-style chain (:mod:`mlopt.firstorder.transforms`), then a
proximal step for g.  The batch grows geometrically by ``batch_growth`` per epoch
until it is the full data (Friedlander & Schmidt, SIAM J. Sci. Comput. 2012), so the
gradient noise vanishes and the iterates converge to the exact minimizer; with
``batch_growth=1`` they are classic constant-batch methods (they then stall at the
noise floor, which the compare table shows).  ``lr_backoff`` halves η whenever an
epoch ends with a higher objective.
"""
from __future__ import annotations

import torch

from mlopt.firstorder.base import Clock, Composite, Result, Stopper
from mlopt.firstorder.gradient import _reject
from mlopt.firstorder.transforms import chain, make_schedule, momentum, scale_by_adam, scale_by_schedule


def _run(p: Composite, x0, method: str, *, tol, max_iter, clock: Clock, stopper: Stopper, trace: list,
         lr: float | None, batch_size: int, batch_growth: float, schedule: str, decay: float, seed: int,
         lr_backoff: bool, max_epochs: int, beta: float = 0.0, b1=0.9, b2=0.999) -> Result:
    p.require_smooth(method)
    n = p.X.shape[0]
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    if method == "adam":
        if p.a1 and p.obj.penalty.name == "group":
            raise ValueError("method='adam' supports l1/elasticnet but not group penalties (its prox is per "
                             "coordinate); use method='sgd' or 'fista'")
        eta = lr if lr is not None else 1e-2 * max(1.0, float(x0.abs().max()))
    else:
        eta = lr if lr is not None else 1.0 / p.lipschitz_guess(x0)
    eta_box = [eta]
    gen = torch.Generator(device="cpu").manual_seed(seed)
    base = make_schedule(schedule, 1.0, decay, total=max_iter)
    sched = scale_by_schedule(lambda k: eta_box[0] * base(k))
    tx = chain(scale_by_adam(b1, b2), sched) if method == "adam" else (
        chain(momentum(beta), sched) if beta else chain(sched))
    state = tx.init(x0)
    x, k, status, bsz = x0, 0, "max_iterations", float(batch_size)
    last = p.value(x)
    for epoch in range(max_epochs):
        b = min(n, int(bsz))
        perm = torch.randperm(n, generator=gen).to(p.device)
        for start in range(0, n - b + 1, b):
            rows = perm[start:start + b] if b < n else None
            _, grad = p.f_grad(x, rows, scale=n / b)
            d, state = tx.update(grad, state, k)
            x = x - d
            if p.has_prox:
                t = eta_box[0] * base(k)
                if method == "adam":  # per-coordinate step η/(√v̂ + ε) in the diagonal metric
                    t = (eta_box[0] * base(k)) / (state[0][1] / (1 - b2 ** (k + 1))).sqrt().add(1e-8)
                    t = t[: p.n_coef].reshape(p.shape)
                x = p.prox(x, t)
            k += 1
            if k >= max_iter:
                break
        value = p.value(x)
        trace.append((clock.elapsed(), k, value))
        if lr_backoff and value > last:
            eta_box[0] *= 0.5
        last = value
        if stopper.done(epoch, x, force=True) if stopper.use_gap else False:
            status = "optimal"
            break
        if k >= max_iter:
            break
        if clock.expired():
            status = "time_limit"
            break
        bsz = min(float(n), bsz * batch_growth)
    return p.result(x, status, k, clock, method, trace, stopper.gap)


def run_sgd(p, x0, *, tol, max_iter, clock, stopper, trace, lr=None, batch_size=32, batch_growth=1.5,
            schedule="constant", decay=1e-3, momentum=0.0, seed=0, lr_backoff=True, max_epochs=100_000,
            **unused) -> Result:
    """Proximal mini-batch SGD (default η = 1/L from a secant estimate, optional heavy-ball ``momentum``)."""
    _reject(unused, "sgd")
    return _run(p, x0, "sgd", tol=tol, max_iter=max_iter, clock=clock, stopper=stopper, trace=trace, lr=lr,
                batch_size=batch_size, batch_growth=batch_growth, schedule=schedule, decay=decay, seed=seed,
                lr_backoff=lr_backoff, max_epochs=max_epochs, beta=momentum)


def run_adam(p, x0, *, tol, max_iter, clock, stopper, trace, lr=None, batch_size=32, batch_growth=1.5,
             schedule="constant", decay=1e-3, b1=0.9, b2=0.999, seed=0, lr_backoff=True, max_epochs=100_000,
             **unused) -> Result:
    """Adam with a proximal step in its diagonal metric (default η = 0.01)."""
    _reject(unused, "adam")
    return _run(p, x0, "adam", tol=tol, max_iter=max_iter, clock=clock, stopper=stopper, trace=trace, lr=lr,
                batch_size=batch_size, batch_growth=batch_growth, schedule=schedule, decay=decay, seed=seed,
                lr_backoff=lr_backoff, max_epochs=max_epochs, b1=b1, b2=b2)
