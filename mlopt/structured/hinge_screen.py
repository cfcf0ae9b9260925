"""Sample screening for the linear SVM (ℓ₂-regularized hinge loss, binary, dense X, n ≫ d).

    F(w, b) = ½α‖w‖² + Σᵢ cᵢ max(0, 1 − mᵢ),   mᵢ = yᵢ(xᵢᵀw + b),  yᵢ = ±1,  cᵢ = loss_weight·sᵢ.

At the optimum the samples split into N = {m > 1} (dual aᵢ = 0), B = {m < 1} (aᵢ = cᵢ) and the
margin samples {m = 1} (0 ≤ aᵢ ≤ cᵢ); w = Σ aᵢyᵢxᵢ/α and Σ aᵢyᵢ = 0 (with an intercept).  Given a guess of N and B, only the rest W needs hinge rows:

    F_W(w, b) = ½α‖w‖² + Σ_W cᵢ max(0, 1 − mᵢ) + Σ_B cᵢ (1 − mᵢ),

a program of |W| samples plus a linear term (−Σ_B cᵢyᵢ[xᵢ; 1] in q, Σ_B cᵢ as objective constant).

1. **Predictor** (:func:`huber_hinge_newton`): the Huberized hinge h_δ(r) = 0 (r ≤ 0), r²/2δ (0 < r < δ),
   r − δ/2 (r ≥ δ) of r = 1 − m, minimized by Newton's method with backtracking for δ = 2, 0.3, 0.1
   in turn (each from the previous solution).  Its Hessian αI + Σ_Q (cᵢ/δ)φᵢφᵢᵀ (φ = [x; 1]) sums
   over the samples Q with 0 < r < δ only, and is updated by the rows that entered or left Q.
2. **Reduced solve**: W = {|m − 1| ≤ :data:`BAND`} (at least d + 1 samples: the closest to the margin),
   B = {m < 1 − BAND}, N the rest; the structured IPM solves F_W on the W rows.
3. **Check on all samples**: the IPM's dual point extended by a_B = c_B, a_N = 0 is dual feasible
   for F, so F(w, b) − D (D: the IPM's dual objective, constant included) bounds the suboptimality
   on the full problem; it exceeds the reduced gap by Σ_B cᵢ max(0, mᵢ − 1) + Σ_N cᵢ max(0, 1 − mᵢ),
   i.e. only if a screened sample is on the wrong side of the margin.  Accepted when it meets the
   IPM's gap tolerance; otherwise those samples, and the screened ones now within BAND of the margin,
   join W and the IPM runs again (at most :data:`MAX_ROUNDS` solves), else the caller solves the
   full program.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Dict, Optional, Tuple

import numpy as np
import scipy.sparse as sp
import torch

from mlopt.ipm import IPMSettings, solve
from mlopt.ipm.solver import torch_compute
from mlopt.ipm.kkt.sample_structure import gram_matrix
from mlopt.objective import Objective
from mlopt.structured.assemble import assemble

__all__ = ["hinge_screen_applicable", "huber_hinge_newton", "fit_hinge_screened"]

#: Huber widths δ of the predictor, and the Newton-decrement tolerance of each stage (λ²/2 ≤ tol·max(1, F_δ))
DELTAS = (2.0, 0.3, 0.1)
STAGE_TOLS = (1e-2, 1e-3, 1e-6)
#: Newton steps per stage at most
STAGE_MAX_STEPS = 25
#: samples with |m − 1| ≤ BAND at the predictor's point keep their hinge rows
BAND = 0.15
#: reduced IPM solves at most (each after moving misplaced samples into W)
MAX_ROUNDS = 3
#: "auto" screens from this many samples on, and where n ≥ SCREEN_MIN_RATIO·(d + 1)
SCREEN_MIN_SAMPLES = 500
SCREEN_MIN_RATIO = 5


def hinge_screen_applicable(objective: Objective) -> bool:
    """Binary hinge loss, a pure ℓ₂ penalty with positive weight, dense X, no ``positive`` / ``bounds``."""
    if not isinstance(objective, Objective) or objective.loss.name != "hinge" or np.ndim(objective.y) != 1:
        return False
    return objective.pure_ridge and not sp.issparse(objective.X)


def screen_pays(objective: Objective) -> bool:
    """Whether "auto" screens: enough samples per coefficient for the reduced program to be much smaller."""
    n, d = objective.X.shape
    return n >= SCREEN_MIN_SAMPLES and n >= SCREEN_MIN_RATIO * (d + 1)


class _RowsGram:
    """Σ_{i ∈ idx} vᵢ φᵢφᵢᵀ, φᵢ = [xᵢ; 1] (the 1 only when nb = 1), vᵢ ≥ 0: one syrk of a column-major
    (k, d + nb) block of √vᵢ-scaled rows, written into a workspace reused by every call (a fresh block per
    call costs more in page faults than the product), grown to the largest block asked for.  All n rows
    with equal weights: one syrk of X itself, no copy."""

    def __init__(self, X: torch.Tensor, nb: int) -> None:
        self.X, self.nb = X, nb
        self.p = X.shape[1] + nb
        self.work = torch.empty(0, dtype=X.dtype, device=X.device)

    def all_rows(self, v: float) -> torch.Tensor:
        """The sum over all rows with one weight v."""
        X, d = self.X, self.X.shape[1]
        G = torch.empty(self.p, self.p, dtype=X.dtype, device=X.device)
        G[:d, :d] = gram_matrix(X) * v
        if self.nb:
            G[d, :d] = G[:d, d] = X.sum(dim=0) * v
            G[d, d] = X.shape[0] * v
        return G

    def __call__(self, idx: torch.Tensor, v: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """The sum for the rows ``idx``; ``offset``: first workspace entry to use (two blocks side by side)."""
        d, k = self.X.shape[1], idx.shape[0]
        if self.work.numel() < offset + self.p * k:
            self.work = torch.empty(2 * (offset + self.p * k), dtype=self.X.dtype, device=self.X.device)
        root = v.sqrt()
        B = self.work[offset:offset + self.p * k].view(self.p, k).T
        torch.mul(self.X.index_select(0, idx), root[:, None], out=B[:, :d])
        if self.nb:
            B[:, d] = root
        return gram_matrix(B)


def _huber(r: torch.Tensor, delta: float) -> torch.Tensor:
    """h_δ(r) elementwise (module docstring)."""
    return torch.where(r <= 0, 0.0, torch.where(r < delta, r * r / (2 * delta), r - delta / 2))


def huber_hinge_newton(X: torch.Tensor, y: torch.Tensor, c: torch.Tensor, alpha: float, fit_intercept: bool,
                       deltas=DELTAS, tols=STAGE_TOLS, max_steps: int = STAGE_MAX_STEPS
                       ) -> Optional[Tuple[torch.Tensor, float, torch.Tensor, int]]:
    """Minimize ½α‖w‖² + Σ cᵢ h_δ(1 − mᵢ) for each δ of ``deltas`` in turn (module docstring, step 1).

    Returns (w, b, m, steps) — the margins m = y∘(Xw + b) at the last stage's point — or None when a
    Hessian is not positive definite or a stage ends without meeting its tolerance."""
    n, d = X.shape
    nb = int(bool(fit_intercept))
    p = d + nb
    f64 = dict(dtype=torch.float64, device=X.device)
    theta = torch.zeros(p, **f64)
    m = torch.zeros(n, **f64)
    in_q = torch.zeros(n, dtype=torch.bool, device=X.device)
    G = torch.zeros(p, p, **f64)  # Σ_Q cᵢφᵢφᵢᵀ
    ridge = torch.full((p,), float(alpha), **f64)
    if nb:
        ridge[d] = 0.0
    floor_b = 1e-12 * float(c.sum())  # keeps the intercept pivot positive when Q is empty
    rows_gram = _RowsGram(X, nb)
    c0 = float(c[0]) if n else 1.0
    uniform = bool((c == c0).all())
    steps = 0
    for delta, tol in zip(deltas, tols):
        def value(th: torch.Tensor, marg: torch.Tensor) -> float:
            return 0.5 * alpha * float(th[:d] @ th[:d]) + float(c @ _huber(1.0 - marg, delta))

        converged = False
        for _ in range(max_steps + 1):
            r = 1.0 - m
            q_new = (r > 0) & (r < delta)
            changed = q_new ^ in_q
            n_changed, n_q = int(changed.sum()), int(q_new.sum())
            if n_changed < n_q:  # update G by the rows that entered (+) or left (−) Q
                enter = (changed & q_new).nonzero()[:, 0]
                leave = (changed & in_q).nonzero()[:, 0]
                G = G + rows_gram(enter, c[enter]) - rows_gram(leave, c[leave], offset=p * enter.shape[0])
            elif n_q == n and uniform:
                G = rows_gram.all_rows(c0)
            else:
                rows = q_new.nonzero()[:, 0]
                G = rows_gram(rows, c[rows])
            in_q = q_new
            weight = (r / delta).clamp_(0.0, 1.0) * c * y  # −∂F/∂(Xw + b)
            grad = ridge * theta
            grad[:d] -= X.T @ weight
            if nb:
                grad[d] -= weight.sum()
            H = G / delta
            H.diagonal().add_(ridge)
            if nb:
                H[d, d] += floor_b
            L, info = torch.linalg.cholesky_ex(H)
            if int(info) != 0:
                return None
            step = -torch.cholesky_solve(grad[:, None], L)[:, 0]
            slope = float(grad @ step)  # −λ²
            f0 = value(theta, m)
            if -slope <= 2 * tol * max(1.0, f0):
                converged = True
                break
            dm = X @ step[:d]
            if nb:
                dm += step[d]
            dm *= y
            t = 1.0
            while value(theta + t * step, m + t * dm) > f0 + 1e-4 * t * slope:
                t *= 0.5
                if t < 1e-10:
                    return None
            theta = theta + t * step
            m = m + t * dm
            steps += 1
        if not converged:
            return None
    return theta[:d], float(theta[d]) if nb else 0.0, m, steps


def _reduced_objective(objective: Objective, rows: np.ndarray) -> Objective:
    """The same objective on the samples ``rows`` only."""
    sw = objective.sample_weight
    return dataclasses.replace(objective, X=objective.X[rows], y=objective.y[rows],
                               sample_weight=None if sw is None else np.asarray(sw)[rows], _cache={})


def fit_hinge_screened(objective: Objective, device, ipm_settings: Dict[str, Any], band: float = BAND,
                       max_rounds: int = MAX_ROUNDS) -> Optional[Tuple[np.ndarray, np.ndarray, Dict[str, Any]]]:
    """Solve the SVM by screening (module docstring); None when the predictor fails or the rounds end
    without a certified solution (the caller then solves the full program).  ``ipm_settings`` go to
    each reduced IPM solve.  The returned ``info`` has the keys of :func:`mlopt.structured.fit_objective`,
    with gap / primal and dual objectives of the full problem, and ``screening`` = dict(rounds,
    samples (|W| of the last round), bound (|B|), newton_steps)."""
    settings = IPMSettings.from_kwargs(**ipm_settings)
    with torch_compute(settings.cpu_threads):  # one thread count for the predictor and every IPM run
        return _screened(objective, device, ipm_settings, settings, band, max_rounds)


def _screened(objective: Objective, device, ipm_settings: Dict[str, Any], settings: IPMSettings, band: float,
              max_rounds: int):
    t0 = time.perf_counter()
    X, y, s = objective.tensors(device)
    n, d = X.shape
    nb = int(bool(objective.fit_intercept))
    c = objective.loss_weight * (torch.ones_like(y) if s is None else s)
    alpha = objective.penalty_weights[1]
    predicted = huber_hinge_newton(X, y, c, alpha, objective.fit_intercept)
    t_predict = time.perf_counter() - t0
    if predicted is None:
        return None
    _, _, m, newton_steps = predicted
    near = (m - 1.0).abs()
    keep = near <= band
    if int(keep.sum()) < min(n, d + nb):  # at least d + nb samples: the closest ones to the margin
        keep[torch.topk(near, min(n, d + nb), largest=False).indices] = True
    bound = (m < 1.0) & ~keep
    free = ~keep & ~bound
    iterations, setup, solve_time, rounds = 0, 0.0, 0.0, 0
    timings: Dict[str, float] = {"screen": t_predict}
    res = None
    for rounds in range(1, max_rounds + 1):
        t1 = time.perf_counter()
        rows = keep.nonzero()[:, 0]
        fixed = bound.nonzero()[:, 0]
        try:
            problem = assemble(_reduced_objective(objective, rows.cpu().numpy()))
        except ValueError:  # no kept sample with a positive weight
            return None
        lin = c[fixed] * y[fixed]
        q = problem.q.copy()
        q[:d] -= (X.index_select(0, fixed).T @ lin).cpu().numpy()
        if nb:
            q[d] -= float(lin.sum())
        constant = float(c[fixed].sum())
        setup += time.perf_counter() - t1
        opts = dict(ipm_settings, objective_constant=constant)
        opts.setdefault("kkt_solver", "structured")  # a given backend solves the reduced program too
        opts.pop("kkt_structure", None)  # (a given structure describes the full program's samples)
        if opts["kkt_solver"] in ("structured", "structured_wide"):
            opts["kkt_structure"] = problem.structure
        res = solve(problem.P, q, problem.A, problem.b, problem.cones, device=device, **opts)
        solve_time += res.solve_time
        iterations += res.iterations
        for k, v in res.timings.items():
            timings[k] = timings.get(k, 0.0) + v
        if not res.status.is_optimal:
            return None
        coef, intercept = problem.unpack(res.x)
        w = torch.as_tensor(coef, dtype=torch.float64, device=X.device)
        m = y * (X @ w + float(intercept))
        value = 0.5 * alpha * float(w @ w) + float(c @ (1.0 - m).clamp(min=0.0))
        dual = res.dual_objective
        gap_abs = abs(value - dual)
        if gap_abs <= max(settings.tol_gap_abs, settings.tol_gap_rel * max(1.0, abs(value))):
            break
        misplaced = (bound & (m > 1.0)) | (free & (m < 1.0))
        if not bool(misplaced.any()):
            return None
        misplaced |= ~keep & ((m - 1.0).abs() <= band)  # and the screened samples near the new margin
        keep |= misplaced
        bound &= ~misplaced
        free &= ~misplaced
    else:
        return None
    info = dict(status=res.status.value, iterations=iterations, objective=value,
                primal_objective=value, dual_objective=dual, gap=gap_abs / max(1.0, abs(value)), gap_abs=gap_abs,
                primal_residual=res.primal_residual, dual_residual=res.dual_residual, solve_time=solve_time,
                setup_time=setup, wall_time=time.perf_counter() - t0, kkt_solver=res.kkt_solver, device=res.device,
                form="samples", start="default", newton_steps=None, timings=timings, attempts=res.attempts,
                screening=dict(rounds=rounds, samples=int(keep.sum()), bound=int(bound.sum()),
                               newton_steps=newton_steps))
    return coef, intercept, info
