"""Damped Newton's method for smooth, unconstrained objectives.

    (∇²f(x) + εI) Δx = −∇f(x),   x ← x + t Δx   (t by Armijo backtracking)

The Hessian is p × p with p = (d + 1)·K — never n × n.  For losses that are
separable in z = Xw + b (squared, logistic, Huber, squared hinge, one-vs-rest) it is
formed in closed form as X̃ᵀ diag(λ sᵢ ℓ''(zᵢ)) X̃ + a₂ I_w with X̃ = [X 1]; for the
multinomial loss from its K(K+1)/2 class blocks X̃ᵀ diag(λ sᵢ Pᵢₖ(δₖₗ − Pᵢₗ)) X̃ (a sparse X stays sparse).  Stops when the certified gap
(or ‖∇f‖) passes the tolerance; quadratic convergence near the optimum.
"""
from __future__ import annotations

import torch

from mlopt.firstorder.base import Clock, Composite, Result, Stopper, armijo_backtracking
from mlopt.firstorder.gradient import _reject


def hessian(p: Composite, x: torch.Tensor) -> torch.Tensor:
    """∇²f(x) as a dense p × p matrix."""
    if p.obj.loss.name == "multinomial":
        return _multinomial_hessian(p, x)
    w, b = p.split(x)
    with torch.enable_grad():
        z = (p.X @ w + b).detach().requires_grad_(True)
        (g,) = torch.autograd.grad(p.obj.loss.value(z, p.y).sum(), z, create_graph=True)
        (curv,) = torch.autograd.grad(g.sum(), z)  # ℓ''(zᵢ): the loss is separable in z
    c = p.obj.loss_weight * (curv if p.s is None else curv * (p.s[:, None] if curv.ndim == 2 else p.s))
    C = c.reshape(p.X.shape[0], -1)
    H = torch.zeros(p.size, p.size, dtype=x.dtype, device=x.device)
    for k in range(C.shape[1]):  # one block per output column (K is small)
        idx = _column_index(p, k)
        H[idx[:, None], idx[None, :]] += p.weighted_gram(C[:, k])
    return _with_ridge(p, H)


def _multinomial_hessian(p: Composite, x: torch.Tensor) -> torch.Tensor:
    """∇²f for the softmax loss: block (k, l) of the coefficients of classes k and l is
    X̃ᵀdiag(cᵢ Pᵢₖ(δₖₗ − Pᵢₗ))X̃ (P the class probabilities, X̃ = [X 1]), plus a₂I on the weights;
    K(K+1)/2 weighted Gram products (sparse X stays sparse)."""
    w, b = p.split(x)
    with torch.no_grad():
        P = torch.softmax(p.X @ w + b, dim=1)
    c = p.obj.loss_weight * (torch.ones(P.shape[0], dtype=x.dtype, device=x.device) if p.s is None else p.s)
    K = p.n_out
    H = torch.zeros(p.size, p.size, dtype=x.dtype, device=x.device)
    index = [_column_index(p, k) for k in range(K)]
    for k in range(K):
        for j in range(k, K):
            G = p.weighted_gram(c * P[:, k] * (float(k == j) - P[:, j]))
            H[index[k][:, None], index[j][None, :]] += G
            if j != k:
                H[index[j][:, None], index[k][None, :]] += G.T
    return _with_ridge(p, H)


def _with_ridge(p: Composite, H: torch.Tensor) -> torch.Tensor:
    """H + a₂I on the coefficients (the ½a₂‖w‖² part of f)."""
    if p.a2:
        H[: p.n_coef, : p.n_coef] += p.a2 * torch.eye(p.n_coef, dtype=H.dtype, device=H.device)
    return H


def _column_index(p: Composite, k: int) -> torch.Tensor:
    """Positions in x of output column k: coefficients (j, k) at j·K + k (j·1 + 0 for one output),
    then its intercept after all coefficients."""
    dev = p.device
    idx = torch.arange(p.X.shape[1], device=dev) * (p.n_out if len(p.shape) == 2 else 1) + k
    return torch.cat([idx, torch.tensor([p.n_coef + k], device=dev)]) if p.n_icpt else idx


def run(p: Composite, x0: torch.Tensor, *, tol: float, max_iter: int, clock: Clock, stopper: Stopper,
        trace: list, c1: float = 1e-4, damping: float = 1e-12, **unused) -> Result:
    """Newton's method; options: ``c1`` (Armijo constant), ``damping`` ε (relative to ‖H‖)."""
    _reject(unused, "newton")
    p.require_smooth("newton")
    p.require_unconstrained("newton")
    x = x0
    status, k = "max_iterations", 0
    fx, g = p.f_grad(x)
    for k in range(1, max_iter + 1):
        H = hessian(p, x)
        H = H + damping * float(H.diagonal().abs().max()) * torch.eye(p.size, dtype=H.dtype, device=H.device)
        L, info = torch.linalg.cholesky_ex(H)
        dx = -torch.cholesky_solve(g[:, None], L)[:, 0] if int(info) == 0 else -torch.linalg.lstsq(H, g[:, None]).solution[:, 0]
        slope = float(g @ dx)
        if slope >= 0:
            dx, slope = -g, -float(g @ g)
        x_new, f_new, g_new, _ = armijo_backtracking(p.f_grad, x, fx, dx, slope, 1.0, c1)
        x, fx, g = x_new, f_new, g_new
        trace.append((clock.elapsed(), k, p.value(x)))
        if stopper.done(k, x, float(g.norm()), force=True):
            status = "optimal"
            break
        if clock.expired():
            status = "time_limit"
            break
    return p.result(x, status, k, clock, "newton", trace, stopper.gap)
