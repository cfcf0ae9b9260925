"""A centered warm start for the structured logistic IPM (binary loss, ℓ₂ penalty, dense X).

    F(w, b) = Σᵢ cᵢ log(1 + e^{uᵢ}) + ½α‖w‖²,   uᵢ = −yᵢ(xᵢᵀw + b),  yᵢ = ±1.

1. Newton's method with backtracking on F — one weighted Gram XᵀDX and one (d+1)×(d+1)
   Cholesky per step, as scikit-learn's ``newton-cholesky`` — to a Newton decrement
   λ²/2 ≤ 1e-24·max(1, F) (:mod:`mlopt.structured.batched_newton`, one member): the point (w⁰, b⁰).
2. The point of the conic program (:mod:`mlopt.structured.templates`: locals t, v₁, v₂;
   v₁ + v₂ ≤ 1, (u − t, 1, v₁), (−t, 1, v₂) ∈ K_exp) on its central path at
   μ = :data:`START_GAP`·F/ν for the fixed (w⁰, b⁰).  Per sample, with η solving
   η + (2μ/c) sinh η = u (odd and increasing in η; η → u as μ → 0):

       duals   exp₁ (−cσ(η), ·, λ),  exp₂ (−cσ(−η), ·, λ),  orthant λ = c + 3μ, the middle
               components chosen so that r(z) = μ (dual barrier of :mod:`mlopt.ipm.cones.exp_barrier`);
       slacks  s = −μ∇f*(z): exp₁ = (u − t, 1, v₁), exp₂ = (−t, 1, v₂), orthant μ/λ;
       locals  t = softplus(η) + log(λ/c) + (μ/c)(1 + e^η),  vₖ = (μ + cσ(±η))/λ.

   The point is primal feasible (rz = 0), dual feasible in the local columns, centered (each
   cone's sᵀz is its degree times μ, and τκ = μ), so its relative gap is START_GAP; its dual
   residual on (w, b) is ∇F(w⁰, b⁰) + O(μ).  The IPM (:func:`mlopt.ipm.solve`,
   ``initial_point``) then only closes that gap: 3 iterations instead of 11 at 5000×200.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np
import torch

from mlopt.ipm.block_matrix import BlockMatrix
from mlopt.ipm.start import StartPoint
from mlopt.structured.batched_newton import NEWTON_MAX_STEPS, newton_logistic_batch

#: the start's relative duality gap μν/F (measured at 5000×200: 1e-3 → 5 iterations, 1e-4 → 3, 1e-5 → 3)
START_GAP = 1e-4


def newton_logistic(X: torch.Tensor, y: torch.Tensor, c: torch.Tensor, alpha: float, fit_intercept: bool,
                    max_steps: int = NEWTON_MAX_STEPS, init: Optional[Tuple[torch.Tensor, float]] = None
                    ) -> Optional[Tuple[torch.Tensor, float, float, int]]:
    """Minimize F (module docstring) by Newton's method from ``init`` = (w, b) (default (0, 0); a path
    passes its previous solution): :func:`~mlopt.structured.batched_newton.newton_logistic_batch` with
    one member (its steps and stopping tests).

    Returns (w, b, F(w, b), steps), or None when it did not converge (a Hessian not positive definite,
    no decrease found, or the tests not met within ``max_steps``)."""
    f64 = dict(dtype=torch.float64, device=X.device)
    start = None
    if init is not None:
        start = (init[0].to(**f64).reshape(1, -1), torch.tensor([float(init[1]) if fit_intercept else 0.0], **f64))
    res = newton_logistic_batch(X, y, c.reshape(1, -1), torch.tensor([float(alpha)], **f64), fit_intercept,
                                max_steps, init=start)
    if not bool(res.converged[0]):
        return None
    return res.coefs[0], float(res.intercepts[0]), float(res.values[0]), int(res.steps[0])


def central_eta(u: torch.Tensor, k: torch.Tensor, iters: int = 100) -> torch.Tensor:
    """η solving η + k·sinh η = u (k > 0), elementwise: Newton's method on |u| from
    min(|u|, asinh(|u|/k)), a point right of the root of this convex increasing function, so the
    iterates decrease monotonically to it."""
    a = u.abs()
    eta = torch.minimum(a, torch.asinh(a / k))
    for _ in range(iters):
        step = (eta + k * torch.sinh(eta) - a) / (1.0 + k * torch.cosh(eta))
        eta = (eta - step).clamp(min=0.0)
        if float(step.abs().max()) <= 4e-16 * max(1.0, float(eta.max())):
            break
    return torch.sign(u) * eta


def central_point(problem, X: torch.Tensor, y: torch.Tensor, c: torch.Tensor, w: torch.Tensor, b: float,
                  mu: float, n_var: int, n_rows: int) -> StartPoint:
    """The centered point of the module docstring (step 2) in the layout of ``problem``
    (a :class:`~mlopt.structured.assemble.StructuredProblem` of the binary logistic loss)."""
    f64 = dict(dtype=torch.float64, device=X.device)
    d = problem.n_features
    u = -y * (X @ w + b)
    eta = central_eta(u, 2.0 * mu / c)
    sp_, sm = torch.sigmoid(eta), torch.sigmoid(-eta)
    lam = c + 3.0 * mu
    log_ratio = torch.log(lam / c)
    l1 = log_ratio + torch.logaddexp(torch.zeros_like(eta), -eta)  # log(λ/(cσ(η)))
    l2 = log_ratio + torch.logaddexp(torch.zeros_like(eta), eta)  # log(λ/(cσ(−η)))
    a1, a2 = -c * sp_, -c * sm
    t = l2 + (mu / c) * (1.0 + torch.exp(eta))
    v1, v2 = (mu - a1) / lam, (mu - a2) / lam
    x = torch.zeros(n_var, **f64)
    x[:d] = w
    if problem.fit_intercept:
        x[d] = b
    cols = torch.as_tensor(problem.structure.local_cols, device=X.device)
    x[cols[:, 0]], x[cols[:, 1]], x[cols[:, 2]] = t, v1, v2
    rows = torch.as_tensor(problem.structure.sample_rows, device=X.device)  # [orthant, exp₁ (3), exp₂ (3)]
    one = torch.ones_like(t)
    s_cols = (mu / lam, -l1 + mu / a1, one, v1, -t, one, v2)  # exp₁'s first slack: u − t, cancellation-free
    z_cols = (lam, a1, mu + a1 * (1.0 + l1), lam, a2, mu + a2 * (1.0 + l2), lam)
    s, z = torch.zeros(n_rows, **f64), torch.zeros(n_rows, **f64)
    for j in range(7):  # the template's seven rows (a loop over rows, not samples)
        s[rows[:, j]] = s_cols[j]
        z[rows[:, j]] = z_cols[j]
    return StartPoint(x, s, z, 1.0, mu)


class LogisticStart:
    """``initial_point`` for :func:`mlopt.ipm.solve`: Newton's (w⁰, b⁰), then the centered point
    at relative gap :data:`START_GAP`; None (the IPM's own start) if Newton does not converge.
    ``init`` = (coef, intercept) starts Newton there instead of at 0.  ``info`` records the Newton steps."""

    def __init__(self, problem, alpha: float, device, init=None) -> None:
        self.problem, self.alpha, self.device = problem, float(alpha), torch.device(device)
        self.init = init
        self.info: dict = {}

    def __call__(self, data) -> Optional[StartPoint]:
        A = data.A
        if not isinstance(A, BlockMatrix) or A.x_sparse:
            return None
        X = A.device_X(self.device)
        f64 = dict(dtype=torch.float64, device=self.device)
        y = torch.as_tensor(self.problem.sample_y, **f64)
        c = torch.as_tensor(self.problem.sample_c, **f64)
        init = None if self.init is None else (torch.as_tensor(self.init[0], **f64), self.init[1])
        try:
            found = newton_logistic(X, y, c, self.alpha, self.problem.fit_intercept, init=init)
        except (RuntimeError, MemoryError) as exc:  # its n×d buffer may not fit where the IPM still does
            if "memory" not in str(exc).lower():  # (CUDA: OutOfMemoryError; CPU: "can't allocate memory")
                raise
            found = None
        self.info["newton_steps"] = None if found is None else found[3]
        if found is None:
            return None
        w, b, F, _ = found
        nu = data.m + 1  # every row adds 1 to the degree (orthant rows; exp cones: 3 per 3 rows), and τκ
        mu = START_GAP * max(F, 1e-300) / nu
        if not math.isfinite(mu) or mu <= 0:
            return None
        return central_point(self.problem, X, y, c, w, b, mu, data.n, data.m)


def logistic_start(objective, problem, device, init=None) -> Optional[LogisticStart]:
    """A :class:`LogisticStart` (Newton from ``init`` = (coef, intercept), or from 0) where it applies —
    binary logistic loss, a pure ℓ₂ penalty with a positive weight (F strongly convex), no ``positive`` /
    ``bounds`` rows, dense X with n ≥ d — else None."""
    if objective.loss.name != "logistic" or problem.sample_y is None:
        return None
    if not objective.pure_ridge:
        return None
    if problem.A.x_sparse or problem.A.X.shape[0] < problem.A.X.shape[1]:
        return None
    if not np.all(np.abs(problem.sample_y) == 1):
        return None
    if init is not None:
        coef = np.asarray(init[0], dtype=np.float64)
        b = float(np.asarray(init[1], dtype=np.float64).reshape(-1)[0]) if np.size(init[1]) else 0.0
        if coef.shape != (problem.n_features,) or not (np.all(np.isfinite(coef)) and np.isfinite(b)):
            raise ValueError(f"newton_init: coef must be a finite ({problem.n_features},) array and the intercept a "
                             f"finite number, got shape {coef.shape}")
        init = (coef, b)
    return LogisticStart(problem, objective.penalty_weights[1], device, init)
