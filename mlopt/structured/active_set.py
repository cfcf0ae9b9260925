"""Active-set start of the batched Gram-form solver: block principal pivoting (members it certifies skip the IPM).

For the ℓ₁ forms of :mod:`mlopt.structured.batched_ipm` (Jacobi-scaled, unit diagonal G) with
F(θ) = ½θᵀGθ − gᵀθ + ½λ₂‖w‖² and v = −∇_w F(θ), a point is optimal exactly when

    ∇_β F(θ) = 0 (intercept),   vⱼ = λ₁ⱼ·sign(wⱼ) where wⱼ ≠ 0,   |vⱼ| ≤ λ₁ⱼ where wⱼ = 0

(w ≥ 0: wⱼ ≥ 0, vⱼ = λ₁ⱼ where wⱼ > 0, vⱼ ≤ λ₁ⱼ where wⱼ = 0) — a linear complementarity problem.
Given a support S and signs σ, the equalities define one point (:func:`restricted_solve`):

    (G + diag(λ₂))_SS θ_S = (g − λ₁σ)_S,   wⱼ = 0 off S   (the intercept always in S).

Block principal pivoting starts from S = ∅ (the screening point w = 0 with its optimal
intercept) and at each step moves every violation: j in S whose wⱼ has the wrong sign leaves S,
j off S with |vⱼ| > λ₁ⱼ enters with σⱼ = sign vⱼ.  Block exchanges can cycle; when the number of
violations has not dropped for ``_BLOCK_TRIES`` steps, only the violation of largest index is
moved (Júdice & Pires 1994; Murty's rule, finite for P-matrix problems) until it drops below
its best again.  A point without violations is optimal; each member is accepted only when the
primal–dual point built from its gradient (:func:`~mlopt.structured.batched_ipm.dual_for`) meets
the IPM's own stopping rule at ``tol`` (duality gap and residuals), so an accepted answer is
certified exactly as an IPM answer.

Members not certified within ``max_steps`` restricted solves, or whose (G + λ₂)_SS does not
factor (collinear columns both in S, |S| > n on wide data), go on to the IPM.  Each step is one
masked batched Cholesky of a (B, p, p) stack, as one IPM iteration; on ML data 2–6 steps
certify a member where the IPM needs 6–15 iterations.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
import torch

from mlopt.structured.batched_ipm import (ACTIVE_SET, SOLVED, Outputs, Scaled, dual_for, measure, merit, qnorm,
                                         record, restricted_solve)

__all__ = ["ACTIVE_SET_STEPS", "active_set_solve"]

#: restricted solves (block-pivoting steps) tried per member before it is handed to the IPM
ACTIVE_SET_STEPS = 24
#: block exchanges allowed without fewer violations before single exchanges (Júdice & Pires)
_BLOCK_TRIES = 3


def _violations(sc: Scaled, theta: torch.Tensor, support: torch.Tensor, sign: torch.Tensor, L1: torch.Tensor,
                L2: torch.Tensor, positive: bool, slack: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Complementarity violations of a restricted solution: j in S whose wⱼ has the wrong sign (it
    leaves S), j off S with |vⱼ| > λ₁ⱼ, v = −∇_w F (it enters S with σⱼ = sign vⱼ; w ≥ 0: vⱼ > λ₁ⱼ).
    Returns (violations, sign of v)."""
    d = sc.d
    w = theta[:, :d]
    v = -((theta @ sc.G - sc.g)[:, :d] + L2 * w)
    bound = L1 * (1.0 + 1e-10) + slack[:, None]
    excess = (v if positive else v.abs()) - bound
    bad = (support & (sign * w < 0)) | (~support & (excess > 0))
    return bad, torch.sign(v)


def active_set_solve(sc: Scaled, const: float, theta0: torch.Tensor, L1: torch.Tensor, L2: torch.Tensor,
                      positive: bool, tol: float, rows: np.ndarray, out: Outputs,
                      max_steps: int = ACTIVE_SET_STEPS) -> Tuple[torch.Tensor, np.ndarray]:
    """Run block principal pivoting on members (L1, L2) from the point ``theta0`` (p,) (w = 0, S
    empty), at most ``max_steps`` restricted solves each; write the members it certifies at ``tol``
    into ``out`` (status solved, iterations = restricted solves) and return the mask of the others,
    which the caller solves by the IPM, with the restricted solves spent on each member."""
    Bn, d = L1.shape[0], sc.d
    dev = L1.device
    left = torch.ones(Bn, dtype=torch.bool, device=dev)
    spent = np.zeros(Bn, dtype=np.int64)
    q_norm = qnorm(sc, L1)
    # the members still pivoting, compacted together: original index, point, (S, σ), λ's, safeguard
    live = torch.arange(Bn, device=dev)
    theta = theta0.expand(Bn, -1).clone()
    support = torch.zeros((Bn, d), dtype=torch.bool, device=dev)
    sign = torch.zeros((Bn, d), dtype=theta.dtype, device=dev)
    lam1, lam2, slack = L1, L2, 1e-14 * q_norm
    best = torch.full((Bn,), d + 1, dtype=torch.int64, device=dev)
    tries = torch.full((Bn,), _BLOCK_TRIES, dtype=torch.int64, device=dev)
    for step in range(max_steps + 1):
        bad, vsign = _violations(sc, theta, support, sign, lam1, lam2, positive, slack)
        ninf = bad.sum(dim=1)
        fixed = ninf == 0
        if bool(fixed.any()):
            k = fixed.nonzero().squeeze(1)
            members = live[k]
            cand = dual_for(sc, theta[k], lam1[k], lam2[k], positive, rows[members.cpu().numpy()])
            _, ms = measure(sc, cand, positive, const, q_norm[members])
            good = merit(ms) <= tol
            if bool(good.any()):
                g = good.nonzero().squeeze(1)
                record(cand.take(good), torch.full((len(g),), SOLVED, device=dev), np.full(len(g), step),
                       ms.take(g), out, ACTIVE_SET)
                left[members[g]] = False
            # a point without violations that fails the certificate will not move: IPM
            going = ~fixed
            if step == max_steps or not bool(going.any()):
                break
            live, theta, support, sign, lam1, lam2, slack, best, tries, bad, vsign, ninf = (
                x[going] for x in (live, theta, support, sign, lam1, lam2, slack, best, tries, bad, vsign, ninf))
        elif step == max_steps:
            break
        # Júdice–Pires safeguard: exchange every violation while their number drops (or for a few
        # more tries), then only the violation of largest index (Murty's finite rule)
        fewer = ninf < best
        best = torch.minimum(best, ninf)
        tries = torch.where(fewer, torch.full_like(tries, _BLOCK_TRIES), tries - 1)
        single = tries < 0
        if bool(single.any()):
            position = torch.arange(1, d + 1, device=dev)
            last = torch.nn.functional.one_hot((bad * position).argmax(dim=1), d).to(torch.bool)
            bad = torch.where(single[:, None], bad & last, bad)
        support = support ^ bad
        sign = torch.where(bad, vsign * support, sign)
        theta, ok = restricted_solve(sc, support, sign, lam1, lam2)
        spent[live.cpu().numpy()] += 1
        if not bool(ok.all()):  # a singular restricted matrix: IPM
            if not bool(ok.any()):
                break
            live, theta, support, sign, lam1, lam2, slack, best, tries = (
                x[ok] for x in (live, theta, support, sign, lam1, lam2, slack, best, tries))
    return left, spent
