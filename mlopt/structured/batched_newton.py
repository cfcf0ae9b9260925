"""Newton's method for binary ℓ₂-regularized logistic regression, for a batch of members at once.

Members b = 1..B share the data (X, y), yᵢ = ±1, and differ in the sample weights and the ridge weight:

    F_b(w, β) = Σᵢ c_bᵢ log(1 + e^{u_bᵢ}) + ½α_b‖w‖²,   u_bᵢ = −yᵢ(xᵢᵀw + β),   α_b > 0.

Per step, for the members still running: the products X·W and Xᵀ·R of all members are one GEMM
each; the Hessians Xᵀdiag(h_b)X + α_b I (bordered by the intercept row) are one weighted Gram
matrix per member (:func:`~mlopt.ipm.kkt.sample_structure.gram_matrix`: a BLAS syrk on CPU) and
one batched Cholesky of the (B, p, p) stack.  Each member takes its own step length: the full
step in the quadratic region (λ²/2 ≤ :data:`NEWTON_FULL_STEPS`·max(1, F), when it does not raise F
beyond rounding), else Armijo backtracking on F (u is affine in the step: one product X·ΔW per
Newton step, none per trial).  A member stops at λ²/2 ≤ :data:`NEWTON_TOL`·max(1, F) (λ² = gᵀH⁻¹g,
F − min F to second order), or, after a full step in the quadratic region, when λ² no longer falls
tenfold (the rounding floor); after such a step λ² is first estimated with the previous step's
factor, so the last step needs no new Hessian.  A member fails when a Hessian is not positive
definite, when backtracking finds no decrease, or after ``max_steps``.  Stopped members leave the batch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import torch

from mlopt.ipm.kkt.sample_structure import gram_matrix

__all__ = ["NEWTON_FULL_STEPS", "NEWTON_MAX_STEPS", "NEWTON_TOL", "NewtonBatch", "newton_logistic_batch"]

#: Newton stops at λ²/2 ≤ NEWTON_TOL·max(1, F) (1e-14 left coefficients 1e-6 off after a warm-started
#: path step, so Newton goes on to the rounding floor)
NEWTON_TOL = 1e-24
#: below λ²/2 = NEWTON_FULL_STEPS·max(1, F) Newton takes full steps (λ ≲ 1e-3√F: the quadratic region)
NEWTON_FULL_STEPS = 1e-6
#: default step limit
NEWTON_MAX_STEPS = 50


@dataclass
class NewtonBatch:
    """Per-member results: ``coefs`` (B, d), ``intercepts`` (B,), ``values`` F_b at the returned point,
    ``steps`` Newton steps taken, ``converged`` whether the stopping test was met (coefficients of the
    other members are their last iterate)."""

    coefs: torch.Tensor
    intercepts: torch.Tensor
    values: torch.Tensor
    steps: torch.Tensor
    converged: torch.Tensor


def _mm(A: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    """A @ M for a (k, B) M: a matrix-vector product when B = 1 (a GEMM with one column is 3-5×
    slower in MKL on CPU, measured at 5000×200)."""
    return torch.mv(A, M[:, 0])[:, None] if M.shape[1] == 1 else A @ M


def _values(c: torch.Tensor, u: torch.Tensor, alpha: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """F_b for the columns of (c, u) (n, B) and rows of W (B, d): Σᵢ c log(1 + eᵘ) + ½α‖w‖²."""
    return (c * torch.logaddexp(torch.zeros_like(u), u)).sum(dim=0) + 0.5 * alpha * (W * W).sum(dim=1)


def _hessians(X: torch.Tensor, h: torch.Tensor, alpha: torch.Tensor, fit_intercept: bool,
              buf: torch.Tensor) -> torch.Tensor:
    """(B, p, p): Xᵀdiag(h_b)X + α_b I, bordered by Xᵀh_b and Σh_b for the intercept (h: (n, B))."""
    B, d = h.shape[1], X.shape[1]
    p = d + int(fit_intercept)
    H = torch.empty((B, p, p), dtype=X.dtype, device=X.device)
    for k in range(B):  # one weighted Gram per member (a syrk on CPU), into one shared buffer
        H[k, :d, :d] = gram_matrix(torch.mul(X, h[:, k].sqrt()[:, None], out=buf))
    H[:, :d, :d].diagonal(dim1=1, dim2=2).add_(alpha[:, None])
    if fit_intercept:
        Xh = _mm(X.T, h).T
        H[:, :d, d], H[:, d, :d], H[:, d, d] = Xh, Xh, h.sum(dim=0)
    return H


def newton_logistic_batch(X: torch.Tensor, y: torch.Tensor, c: torch.Tensor, alpha: torch.Tensor,
                          fit_intercept: bool, max_steps: int = NEWTON_MAX_STEPS,
                          init: Optional[Tuple[torch.Tensor, torch.Tensor]] = None) -> NewtonBatch:
    """Minimize every F_b (module docstring) by Newton's method.

    X (n, d), y (n,) with entries ±1, c (B, n) ≥ 0, alpha (B,) > 0, all float64 on one device;
    ``init`` = (W (B, d), β (B,)) starts there instead of at 0."""
    n, d = X.shape
    B = c.shape[0]
    f64 = dict(dtype=torch.float64, device=X.device)
    W = torch.zeros((B, d), **f64) if init is None else init[0].to(**f64).reshape(B, d).clone()
    beta = torch.zeros(B, **f64)
    if init is not None and fit_intercept:
        beta = init[1].to(**f64).reshape(B).clone()
    C = c.T.contiguous()  # per-sample arrays are (n, B): products with X are then GEMVs for one member
    yc = y[:, None]
    U = -yc * (_mm(X, W.T) + beta)  # u_bᵢ
    F = _values(C, U, alpha, W)
    floor_test = torch.full((B,), math.inf, **f64)  # λ² after the last full step in the quadratic region
    steps = torch.zeros(B, dtype=torch.long, device=X.device)
    converged = torch.zeros(B, dtype=torch.bool, device=X.device)
    running = torch.arange(B, device=X.device)  # members still iterating
    buf = torch.empty_like(X)  # the weighted rows √h xᵢ of one member's Gram matrix
    p = d + int(fit_intercept)
    factors = torch.empty((B, p, p), **f64)  # each member's last Hessian factor
    for step in range(max_steps + 1):
        if running.numel() == 0:
            break
        r_ = running
        if r_.numel() == B:  # every member runs (always, for one): no gathers
            Wr, br, Ur, Fr, Cr, ar = W, beta, U, F, C, alpha
        else:
            Wr, br, Ur, Fr, Cr, ar = W[r_], beta[r_], U[:, r_], F[r_], C[:, r_], alpha[r_]
        sig = torch.sigmoid(Ur)
        R = Cr * yc * sig
        g = ar[:, None] * Wr - _mm(X.T, R).T  # ∇_w F
        if fit_intercept:
            g = torch.cat([g, -R.sum(dim=0)[:, None]], dim=1)
        scale = Fr.abs().clamp(min=1.0)
        steps[r_] = step
        quick = torch.isfinite(floor_test[r_])
        if bool(quick.any()):
            # after a full step in the quadratic region the last factor gives λ² at the new point to a
            # factor 1 + O(‖step‖) (H hardly changes there): a member that passes the stopping tests
            # with it stops without a new Hessian
            k = quick.nonzero().squeeze(1)
            est = (g[k] * torch.cholesky_solve(g[k][:, :, None], factors[r_[k]])[:, :, 0]).sum(dim=1)
            stop = (est / 2 <= NEWTON_TOL * scale[k]) | (est > 0.1 * floor_test[r_[k]])
            if bool(stop.any()):
                converged[r_[k[stop]]] = True
                go = torch.ones_like(quick)
                go[k[stop]] = False
                if not bool(go.any()):
                    break
                r_, g, scale, sig = r_[go], g[go], scale[go], sig[:, go]
                Wr, br, Ur, Fr, Cr, ar = Wr[go], br[go], Ur[:, go], Fr[go], Cr[:, go], ar[go]
        h = Cr * sig * torch.sigmoid(-Ur)  # (y² = 1)
        L, info = torch.linalg.cholesky_ex(_hessians(X, h, ar, fit_intercept, buf))
        ok = info == 0
        direction = -torch.cholesky_solve(g[:, :, None], L)[:, :, 0]
        decrement = -(g * direction).sum(dim=1)  # λ² ≥ 0
        done = ok & ((decrement / 2 <= NEWTON_TOL * scale) | (decrement > 0.1 * floor_test[r_]))
        converged[r_[done]] = True
        go = ok & ~done
        if step == max_steps or not bool(go.any()):
            break
        if not bool(go.all()):
            r_, direction, decrement, scale, L = r_[go], direction[go], decrement[go], scale[go], L[go]
            Wr, br, Ur, Fr, Cr, ar = Wr[go], br[go], Ur[:, go], Fr[go], Cr[:, go], ar[go]
        factors[r_] = L
        dW = direction[:, :d]
        db = direction[:, d] if fit_intercept else torch.zeros_like(br)
        dU = -yc * (_mm(X, dW.T) + db)  # u is affine in the step: one product per Newton step, none per trial
        quadratic = decrement / 2 <= NEWTON_FULL_STEPS * scale
        t = torch.ones_like(Fr)
        F_new = Fr.clone()
        searching = torch.ones_like(quadratic)
        while bool(searching.any()):
            k = searching.nonzero().squeeze(1)
            tk = t[k]
            trial = _values(Cr[:, k], Ur[:, k] + tk * dU[:, k], ar[k], Wr[k] + tk[:, None] * dW[k])
            accept = (trial <= Fr[k] - 0.25 * tk * decrement[k]) | (
                quadratic[k] & (tk == 1.0) & (trial <= Fr[k] + 1e-12 * scale[k]))
            F_new[k[accept]] = trial[accept]
            searching[k[accept]] = False
            t[k[~accept]] *= 0.5
            searching &= t >= 1e-12
        floor_test[r_] = torch.where(quadratic & (t == 1.0), decrement, torch.full_like(decrement, math.inf))
        moved = t >= 1e-12  # the others found no decrease: they stop unconverged, where they are
        if not bool(moved.all()):
            r_, t, Wr, br, Ur, dW, db, dU, F_new = (r_[moved], t[moved], Wr[moved], br[moved], Ur[:, moved],
                                                    dW[moved], db[moved], dU[:, moved], F_new[moved])
        W[r_] = Wr + t[:, None] * dW
        beta[r_] = br + t * db
        U[:, r_] = Ur + t * dU
        F[r_] = F_new
        steps[r_] = step + 1
        running = r_
    return NewtonBatch(coefs=W, intercepts=beta, values=F, steps=steps, converged=converged)
