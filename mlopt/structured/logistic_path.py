"""A whole regularization path (C or α grid) of binary ℓ₂-logistic regression by Newton's method, every
member certified by its duality gap.

Members b = 1..B share the data (X, y = ±1, sample weights s) and differ in the loss weight λ_b
(``C``) and the ridge weight α_b:

    F_b(w, β) = λ_b Σᵢ sᵢ log(1 + e^{−yᵢ(xᵢᵀw + β)}) + ½α_b‖w‖²,   λ_b > 0, α_b > 0.

1. Newton's method (:mod:`mlopt.structured.batched_newton`) to the rounding floor of F_b.  On a GPU all
   members at once from w = 0, β = 0 (per step one weighted Gram matrix per member, one batched
   Cholesky, the products with X shared by the batch: kernel launches, not flops, bound a step there).
   On the CPU, where every member costs its own Gram matrices whatever the batching, one member after
   the other, each from the previous member's solution (warm start: 33 instead of 54 Newton steps for
   the 10 C values of ``LogisticRegressionCV`` at 5000×200).
2. Each member that converged is *certified*: its duality gap P − D, with D the value of a feasible
   point of the Fenchel dual built from its gradient (:func:`mlopt.certificates.certificate`), must be
   ≤ ``tol``·max(1, |P|) — the relative gap the IPM stops at.  The dual point is feasible by
   construction (Σθᵢ = 0 restored exactly; the ridge conjugate has no domain constraint), so its
   residuals are zero.  Such a member has method "newton" and status "solved".
3. Members that Newton did not bring there (a step limit, a failed factorization, a gap above tol)
   are solved one by one by the structured IPM (:func:`mlopt.structured.fit_objective`, its Newton
   start beginning at the previous member's solution); method "ipm", with that IPM's status, gap
   and residuals.
"""
from __future__ import annotations

import time
from typing import Optional, Sequence, Union

import numpy as np
import scipy.sparse as sp
import torch

from mlopt.certificates import certificate
from mlopt.ipm.solver import torch_compute
from mlopt.ipm.upload import to_device
from mlopt.objective import Objective, ScaledHuberObjective
from mlopt.structured.assemble import prepare_data
from mlopt.structured.batched_newton import NEWTON_MAX_STEPS, newton_logistic_batch
from mlopt.structured.batched_path import BatchedPathResult, _check_device, check_solve_options
from mlopt.structured.gram import GRAM_MAX_FEATURES

__all__ = ["fit_logistic_path_batched", "logistic_batched_applicable"]

#: bytes allowed for the (n, chunk) per-sample arrays of one batched Newton solve
_CHUNK_BYTES = 1 << 30
#: (n, chunk) float64 arrays alive at once in a Newton step (u, c, σ, h, Δu, a trial, temporaries)
_ARRAYS_PER_MEMBER = 10


def logistic_batched_applicable(objective: Objective) -> bool:
    """Whether :func:`fit_logistic_path_batched` covers ``objective``'s structure: the binary logistic
    loss (targets ±1), dense X, penalty l2 (or elasticnet with l1_ratio = 0), no ``positive`` /
    ``bounds``, d ≤ GRAM_MAX_FEATURES."""
    if not isinstance(objective, Objective) or isinstance(objective, ScaledHuberObjective):
        return False
    if objective.loss.name != "logistic" or np.ndim(objective.y) != 1 or sp.issparse(objective.X):
        return False
    if objective.positive or objective.bounds is not None:
        return False
    if objective.penalty.name not in ("l2", "elasticnet"):
        return False
    c1, c2 = objective.penalty.weights(objective.l1_ratio)
    if c1 != 0 or not c2 > 0:
        return False
    return objective.n_features <= GRAM_MAX_FEATURES and bool(np.all(np.abs(np.asarray(objective.y)) == 1))


def _check_weights(values, name: str, size: Optional[int]) -> np.ndarray:
    try:
        v = np.atleast_1d(np.asarray(values, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a 1-d sequence of positive numbers, got {values!r}") from exc
    if v.ndim != 1 or v.size == 0 or (size is not None and v.size != size):
        want = "a non-empty 1-d sequence" if size is None else f"{size} values (one per member)"
        raise ValueError(f"{name} must be {want}, got shape {v.shape}")
    if not np.all(np.isfinite(v)) or not np.all(v > 0):
        raise ValueError(f"{name} must be finite and > 0 (a strongly convex, weighted problem), got {v.tolist()}")
    return v


def _member_objective(objective: Objective, loss_weight: float, ridge: float) -> Objective:
    """``objective`` with member b's weights: loss weight λ_b and ½α_b‖w‖² (alpha = α_b / c₂)."""
    c2 = objective.penalty.weights(objective.l1_ratio)[1]
    objective.loss_weight = float(loss_weight)
    objective.alpha = float(ridge) / c2
    return objective


def fit_logistic_path_batched(objective: Objective, loss_weights: Sequence[float], ridge_weights: Sequence[float], *,
                              device: Union[str, torch.device] = "cpu", tol: float = 1e-8, max_iter: int = 100,
                              cpu_threads: Optional[int] = 1,
                              chunk_size: Optional[int] = None) -> BatchedPathResult:
    """Solve F_b (module docstring) for every member b by Newton's method (batched on a GPU, warm-started
    member after member on the CPU), each certified by its duality gap (else solved by the IPM).

    Parameters
    ----------
    objective : binary logistic :class:`~mlopt.objective.Objective` (see :func:`logistic_batched_applicable`);
        its data and sample weights are used, its own weights are replaced per member and restored.
    loss_weights : (B,) λ_b > 0 (``C`` for :class:`mlopt.LogisticRegression`).
    ridge_weights : (B,) α_b > 0, the weights of ½‖w‖² (the objective's ``penalty_weights[1]``).
    device : "cpu" or "cuda".  tol : relative duality gap a member must be certified to.
    max_iter : IPM iteration limit of the members solved by the IPM (step 3).
    cpu_threads : torch intra-op threads during the Newton solve on CPU (None: torch's setting).
    chunk_size : members per batched Newton solve (None: on CPU 1, each member from the previous one's
        solution; on a GPU as many as fit in 1 GiB, all from 0).

    Returns
    -------
    :class:`~mlopt.structured.batched_path.BatchedPathResult` in the order given (``alphas`` holds the
    ridge weights, ``l1_ratios`` zeros; ``methods`` "newton" or "ipm"; ``iterations`` Newton steps or IPM
    iterations).
    """
    t0 = time.perf_counter()
    dev = _check_device(device)
    if not logistic_batched_applicable(objective):
        raise ValueError("objective: the batched logistic path needs the binary logistic loss (targets ±1), dense X, "
                         "an l2 penalty (elasticnet with l1_ratio=0) without positive/bounds, and at most "
                         f"{GRAM_MAX_FEATURES} features")
    lam = _check_weights(loss_weights, "loss_weights", None)
    ridge = _check_weights(ridge_weights, "ridge_weights", lam.size)
    check_solve_options(tol, max_iter, chunk_size, cpu_threads)
    saved = (objective.loss_weight, objective.alpha)
    try:
        return _solve(objective, lam, ridge, dev, tol, int(max_iter), cpu_threads, chunk_size, t0)
    finally:
        objective.loss_weight, objective.alpha = saved


def _solve(objective: Objective, lam: np.ndarray, ridge: np.ndarray, dev: torch.device, tol: float, max_iter: int,
           cpu_threads: Optional[int], chunk_size: Optional[int], t0: float) -> BatchedPathResult:
    """Steps 1–3 of the module docstring (``objective``'s weights are changed: the caller restores them)."""
    from mlopt.structured.fit import fit_objective  # (fit imports the batched modules)

    objective.loss_weight = 1.0
    X_np, y_np, s_np = prepare_data(objective)  # rows of positive weight; s = the sample weights
    f64 = dict(dtype=torch.float64, device=dev)
    X = to_device(X_np, dev)  # (pinned staging buffers for a large X on CUDA, any layout)
    y, s = torch.as_tensor(y_np, **f64), torch.as_tensor(s_np, **f64)
    setup = time.perf_counter() - t0

    t1 = time.perf_counter()
    B, d = lam.size, objective.n_features
    p = d + int(objective.fit_intercept)
    if chunk_size is not None:
        chunk = int(chunk_size)
    elif dev.type == "cpu":
        chunk = 1  # one member at a time, each Newton solve from the previous member's solution
    else:
        chunk = max(1, _CHUNK_BYTES // (8 * (_ARRAYS_PER_MEMBER * X.shape[0] + 2 * p * p)))
    coefs, intercepts = np.zeros((B, d)), np.zeros(B)
    steps, converged = np.zeros(B, dtype=int), np.zeros(B, dtype=bool)
    with torch_compute(cpu_threads if dev.type == "cpu" else None):
        for a in range(0, B, chunk):
            sl = slice(a, min(a + chunk, B))
            c = torch.as_tensor(lam[sl], **f64)[:, None] * s[None, :]
            init = None
            if chunk == 1 and a > 0 and converged[a - 1]:
                init = (torch.as_tensor(coefs[a - 1:a], **f64), torch.as_tensor(intercepts[a - 1:a], **f64))
            res = newton_logistic_batch(X, y, c, torch.as_tensor(ridge[sl], **f64), objective.fit_intercept,
                                        NEWTON_MAX_STEPS, init=init)
            coefs[sl], intercepts[sl] = res.coefs.cpu().numpy(), res.intercepts.cpu().numpy()
            steps[sl], converged[sl] = res.steps.cpu().numpy(), res.converged.cpu().numpy()

    statuses, methods = ["solved"] * B, ["newton"] * B
    pobj, dobj, gaps = np.full(B, np.nan), np.full(B, np.nan), np.full(B, np.nan)
    resp, resd = np.zeros(B), np.zeros(B)
    iters = steps.copy()
    for k in range(B):
        obj = _member_objective(objective, lam[k], ridge[k])
        if converged[k]:
            cert = certificate(obj, coefs[k], intercepts[k], device=dev)
            pobj[k], dobj[k], gaps[k] = cert.primal, cert.dual, cert.gap
            if cert.gap <= tol * max(1.0, abs(cert.primal)):
                continue
        # step 3: the structured IPM, its Newton start at the previous member's solution
        init = (coefs[k - 1], intercepts[k - 1]) if k > 0 and statuses[k - 1] == "solved" else None
        coef, intercept, info = fit_objective(obj, device=str(dev), newton_init=init, tol=tol, max_iter=max_iter,
                                              cpu_threads=cpu_threads)
        methods[k], statuses[k], iters[k] = "ipm", info["status"], int(info["iterations"])
        coefs[k], intercepts[k] = coef, float(np.asarray(intercept).reshape(-1)[0]) if np.size(intercept) else 0.0
        pobj[k], dobj[k], gaps[k] = info["objective"], info["dual_objective"], info["gap_abs"]
        resp[k], resd[k] = info["primal_residual"], info["dual_residual"]
    solve_time = time.perf_counter() - t1
    bad = np.array([st not in ("solved", "almost_solved") for st in statuses])
    coefs[bad], intercepts[bad] = np.nan, np.nan
    if not objective.fit_intercept:
        intercepts[~bad] = 0.0
    return BatchedPathResult(
        alphas=ridge, l1_ratios=np.zeros(B), coefs=coefs, intercepts=intercepts, statuses=statuses,
        iterations=iters, primal_objectives=pobj, dual_objectives=dobj, gaps=gaps,
        relative_gaps=gaps / np.maximum(1.0, np.abs(pobj)), primal_residuals=resp, dual_residuals=resd,
        time=time.perf_counter() - t0, setup_time=setup, solve_time=solve_time, device=str(dev), methods=methods)
