"""The batched interior-point method behind :func:`mlopt.structured.fit_path_batched`.

QP forms solved (slacks s ≥ 0, multipliers z ≥ 0):

* ℓ₁ part, w free:  variables (θ, t);  ½θᵀGθ − gᵀθ + ½λ₂‖w‖² + λ₁1ᵀt
  s.t.  s₁ = t − w ≥ 0,  s₂ = t + w ≥ 0      (the epigraph |w| ≤ t).
* ``positive``:      variables θ;  ½θᵀGθ − gᵀθ + ½λ₂‖w‖² + λ₁1ᵀw   s.t.  s = w ≥ 0.
* λ₁ = 0, w free (ridge / least squares): no IPM, one batched Cholesky of
  G + diag(λ₂, …, λ₂, 0) (λ₂ = 0 on a singular G: the minimizer of smallest ‖w‖, β free).

Newton step (Mehrotra predictor–corrector).  Eliminating s, z and t leaves for every
member one p × p system (p = d + 1 with an intercept):

    (G + diag([λ₂ + h; 0])) Δθ = r,     h = 4 / (s₁/z₁ + s₂/z₂)  (ℓ₁),   h = z / s  (positive),

so each step is ONE batched Cholesky of a (B, p, p) stack (``torch.linalg.cholesky_ex``)
plus O(B·p²) work; Δt, Δz, Δs follow elementwise.  Steps use the fraction-to-boundary
rule (0.99 of the largest step keeping s, z > 0), one step length per member.

Scaling: θ = Dθ̃ with D = diag(G)^(−½) (Jacobi), so diag(G̃) = 1 and λ₁, λ₂ become
per-feature weights λ₁δⱼ, λ₂δⱼ²; objective values are unchanged.  Members whose
factorization fails get a minimal diagonal shift (10⁻¹⁴ relative, raised ×100 while
needed) and one step of iterative refinement against the exact matrix.

Stopping rule, per member (objective values include ``const``):

    |P − D| ≤ tol·max(1, |f(θ)|),   ‖r_p‖∞ ≤ tol·max(1, ‖x‖∞ + ‖s‖∞),
    ‖r_d‖∞ ≤ tol·max(1, ‖q‖∞ + ‖x‖∞ + ‖z‖∞)

(P, D the QP's primal and dual objectives, f the model's objective at θ, residuals in
the scaled variables).  Members that stop are removed from the active batch (masking by
compaction), so later steps factor only the members still running.  A member also stops
when its merit max(gap, residuals), once ≤ √tol, has not improved by 10% in 5 iterations
(the rounding floor, e.g. α = α_max on the kink) or at ``max_iter``; it then returns its
best iterate.

Screening: members with w = 0 optimal (|∇_w f(0, β*)| ≤ λ₁, e.g. α ≥ α_max) skip the
IPM; (0, Σcy/Σc) is exact (iterations 0).  Before the IPM every other member with an ℓ₁ part
runs the active-set start of :mod:`mlopt.structured.active_set` (block principal
pivoting on the same KKT equations as the polish below, certified by the same stopping rule);
only the members it does not certify within its step limit come to this IPM.

Polish: an IPM point is only √gap-accurate in w.  For every stopped member the support S
and signs σ are read off the IPM point and the KKT equations on S are solved exactly,
(G + diag(λ₂))_SS θ_S = (g − λ₁σ)_S (one masked batched Cholesky); the result replaces the
IPM point only if its duality gap and residuals are no worse (measured as above, with the
dual point built from its gradient).  A member whose polish is rejected iterates on (at
most 3 more times, polishing again).  Lasso paths then match coordinate descent to ~1e-10.

No warm start between members: all members are solved simultaneously, and an IPM
started from a neighbour's solution (on the boundary of the cone) is not faster.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional, Tuple

import numpy as np
import torch

from mlopt.ipm.status import Status

if TYPE_CHECKING:  # batched_path imports this module
    from mlopt.structured.batched_path import GramData

__all__ = ["ACTIVE_SET", "MAXIT", "METHOD_NAMES", "Outputs", "SOLVED", "STATUS_NAMES", "Scaled", "dual_for", "ipm",
           "measure", "merit", "qnorm", "record", "restricted_solve", "ridge", "scale", "sync", "write_exact"]

_STEP_FRACTION = 0.99
_REDUCED_GAP, _REDUCED_FEAS = 5e-5, 1e-4  # "almost_solved" (as mlopt.ipm.IPMSettings)
_MIN_STEP = 1e-10
_PATIENCE = 5  # iterations without a 10% better merit (once it is ≤ √tol) before a member stops
_POLISH_RETRIES = 3  # extra IPM iterations for a member whose polish was rejected

# status codes used inside the solver
_UNSOLVED, _SOLVED, _ALMOST, _MAXIT, _NUMERR = 0, 1, 2, 3, 4
#: how a member was solved (``Outputs.method``): screening or ridge closed form, active-set start, IPM
METHOD_NAMES = ("closed_form", "active_set", "ipm")
_CLOSED_FORM, _ACTIVE_SET, _IPM = range(3)
_STATUS_NAMES = {_UNSOLVED: Status.UNSOLVED.value, _SOLVED: Status.SOLVED.value, _ALMOST: Status.ALMOST_SOLVED.value,
                 _MAXIT: Status.MAX_ITERATIONS.value, _NUMERR: Status.NUMERICAL_ERROR.value}




def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


@dataclass
class _Scaled:
    G: torch.Tensor  # D G D, unit diagonal (where G has a nonzero diagonal)
    g: torch.Tensor  # D g
    delta: torch.Tensor  # (p,) Jacobi factors
    d: int
    nb: int


class _Outputs:
    """Per-member results (numpy, scaled θ̃), written chunk by chunk."""

    def __init__(self, B: int, p: int):
        self.theta = np.zeros((B, p))
        self.status = np.zeros(B, dtype=np.int64)
        self.iters = np.zeros(B, dtype=np.int64)
        self.pobj, self.dobj, self.gap = np.zeros(B), np.zeros(B), np.zeros(B)
        self.resp, self.resd = np.zeros(B), np.zeros(B)
        self.method = np.zeros(B, dtype=np.int64)  # index into METHOD_NAMES


def _scale(data: GramData) -> _Scaled:
    diag = data.G.diagonal().clone()
    top = float(diag.abs().max()) if diag.numel() else 1.0
    floor = max(top, 1e-300) * 1e-14
    # all-zero columns keep δ = 1/√max diag (their coefficient is fixed by the penalty alone)
    fallback = torch.full_like(diag, 1.0 / math.sqrt(max(top, 1e-300)))
    delta = torch.where(diag > floor, diag.clamp(min=floor).rsqrt(), fallback)
    Gs = data.G * delta[:, None] * delta[None, :]
    Gs = 0.5 * (Gs + Gs.T)
    return _Scaled(G=Gs, g=data.g * delta, delta=delta, d=data.n_features, nb=int(data.fit_intercept))


def _factor(G: torch.Tensor, diag_w: torch.Tensor, d: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cholesky factors of M_b = G + diag([diag_w_b; 0]) for the batch; returns (L, ok, shift).

    A member whose factorization fails (or has a pivot below 10⁻¹⁴ of its diagonal) is
    shifted by ε·I, ε = 10⁻¹⁴·max diag, ×100 until it factors (at most ε = 10⁻⁴·max diag).
    """
    Bn, p = diag_w.shape[0], G.shape[0]
    M = G.expand(Bn, p, p).clone()
    M.diagonal(dim1=-2, dim2=-1)[:, :d] += diag_w
    L, info = torch.linalg.cholesky_ex(M)
    scale = M.diagonal(dim1=-2, dim2=-1).amax(dim=1).clamp(min=1e-300)
    shift = torch.zeros(Bn, dtype=G.dtype, device=G.device)
    bad = (info != 0) | ~torch.isfinite(L.diagonal(dim1=-2, dim2=-1)).all(dim=1)
    bad |= (L.diagonal(dim1=-2, dim2=-1).amin(dim=1) ** 2 <= 1e-14 * scale) & (info == 0)
    eps = 1e-14
    while bool(bad.any()) and eps <= 1e-4:
        idx = bad.nonzero().squeeze(1)
        Mi = M[idx]
        Mi.diagonal(dim1=-2, dim2=-1).add_((eps * scale[idx])[:, None])
        Li, infoi = torch.linalg.cholesky_ex(Mi)
        L[idx] = Li
        shift[idx] = eps * scale[idx]
        still = (infoi != 0) | ~torch.isfinite(Li.diagonal(dim1=-2, dim2=-1)).all(dim=1)
        bad = torch.zeros_like(bad)
        bad[idx] = still
        eps *= 100.0
    return L, ~bad, shift


def _solve(G: torch.Tensor, diag_w: torch.Tensor, d: int, L: torch.Tensor, shift: torch.Tensor,
           rhs: torch.Tensor) -> torch.Tensor:
    """Solve (G + diag([diag_w; 0])) x = rhs per member with the factor; refine once if a member was shifted."""
    x = torch.cholesky_solve(rhs.unsqueeze(-1), L).squeeze(-1)
    if bool((shift > 0).any()):
        r = rhs - _matvec(G, diag_w, d, x)
        x = x + torch.cholesky_solve(r.unsqueeze(-1), L).squeeze(-1)
    return x


def _matvec(G: torch.Tensor, diag_w: torch.Tensor, d: int, x: torch.Tensor) -> torch.Tensor:
    y = x @ G  # G symmetric
    y[:, :d] += diag_w * x[:, :d]
    return y


def _objectives(sc: _Scaled, theta: torch.Tensor, L1: torch.Tensor, L2: torch.Tensor, Gtheta: torch.Tensor,
                t: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """(model objective f(θ) − const, ½θᵀGθ + ½λ₂‖w‖² and the QP's P − D when ``t`` is given)."""
    d = sc.d
    w = theta[:, :d]
    quad = (theta * Gtheta).sum(dim=1)
    lin = theta @ sc.g
    ridge = (L2 * w * w).sum(dim=1)
    l1 = (L1 * w.abs()).sum(dim=1)
    f = 0.5 * quad - lin + 0.5 * ridge + l1
    if t is None:
        return f, 0.5 * quad + 0.5 * ridge
    return f, quad - lin + ridge + (L1 * t).sum(dim=1)


def _write_exact(sc: _Scaled, theta: torch.Tensor, L1, L2, rows: np.ndarray, out: _Outputs) -> None:
    """Store screened members: θ = (0, β*) with |∇_w f| ≤ λ₁ is optimal; the QP dual value
    D = −½θᵀGθ (z from ∇_w, feasible by the screening test) equals f there, so the gap is rounding."""
    Gtheta = theta @ sc.G
    f, half_quad = _objectives(sc, theta, L1, L2, Gtheta)
    dobj = -half_quad
    out.theta[rows] = theta.cpu().numpy()
    out.status[rows] = _SOLVED
    out.iters[rows] = 0
    out.pobj[rows] = f.cpu().numpy()
    out.dobj[rows] = dobj.cpu().numpy()
    out.gap[rows] = (f - dobj).abs().cpu().numpy()
    out.resp[rows] = 0.0
    out.resd[rows] = 0.0


def _ridge(sc: _Scaled, L2: torch.Tensor, rows: np.ndarray, out: _Outputs) -> None:
    """λ₁ = 0, w free: (G + diag(λ₂)) θ = g by batched Cholesky; pseudo-inverse for singular members."""
    d, p = sc.d, sc.G.shape[0]
    Bn = L2.shape[0]
    M = sc.G.expand(Bn, p, p).clone()
    M.diagonal(dim1=-2, dim2=-1)[:, :d] += L2
    Lc, info = torch.linalg.cholesky_ex(M)
    dmax = M.diagonal(dim1=-2, dim2=-1).amax(dim=1).clamp(min=1e-300)
    piv = Lc.diagonal(dim1=-2, dim2=-1)
    ok = (info == 0) & torch.isfinite(piv).all(dim=1) & (piv.amin(dim=1) ** 2 > 1e-12 * dmax)
    rhs = sc.g.expand(Bn, p)
    theta = torch.zeros((Bn, p), dtype=torch.float64, device=sc.G.device)
    if bool(ok.any()):
        k = ok.nonzero().squeeze(1)
        theta[k] = torch.cholesky_solve(rhs[k].unsqueeze(-1), Lc[k]).squeeze(-1)
    if bool((~ok).any()):
        k = (~ok).nonzero().squeeze(1)
        theta[k] = _min_norm(sc, M[k])
    Gtheta = theta @ sc.G
    f, half_quad = _objectives(sc, theta, torch.zeros_like(L2), L2, Gtheta)
    res = Gtheta - sc.g
    res[:, :d] += L2 * theta[:, :d]
    out.theta[rows] = theta.cpu().numpy()
    out.status[rows] = _SOLVED
    out.iters[rows] = 0
    out.pobj[rows] = f.cpu().numpy()
    out.dobj[rows] = (-half_quad).cpu().numpy()
    out.gap[rows] = (f + half_quad).abs().cpu().numpy()
    out.resp[rows] = 0.0
    out.resd[rows] = (res.abs().amax(dim=1) / sc.g.abs().max().clamp(min=1.0)).cpu().numpy()


def _min_norm(sc: _Scaled, M: torch.Tensor) -> torch.Tensor:
    """Singular members (λ₂ = 0, rank-deficient G): the minimizer with the smallest ‖w‖ in the
    original units, intercept free (as least squares on centred data).  With M = D⁻¹M̃D⁻¹ and the
    intercept eliminated, w = (M_ww − M_wβM_βw/M_ββ)⁺(g_w − M_wβ g_β/M_ββ), β = (g_β − M_βw w)/M_ββ."""
    d = sc.d
    delta = sc.delta
    Mo = M / (delta[:, None] * delta[None, :])
    go = (sc.g / delta).expand(M.shape[0], -1)
    if sc.nb:
        mb = Mo[:, :d, d]
        mbb = Mo[:, d, d]
        Mc = Mo[:, :d, :d] - mb[:, :, None] * mb[:, None, :] / mbb[:, None, None]
        gc = go[:, :d] - mb * (go[:, d] / mbb)[:, None]
    else:
        Mc, gc = Mo, go
    w = (torch.linalg.pinv(Mc, hermitian=True, rtol=1e-12) @ gc.unsqueeze(-1)).squeeze(-1)
    theta = torch.zeros_like(go)
    theta[:, :d] = w
    if sc.nb:
        theta[:, d] = (go[:, d] - (mb * w).sum(dim=1)) / mbb
    return theta / delta


def _max_step(v: torch.Tensor, dv: torch.Tensor) -> torch.Tensor:
    """Largest α ≤ ∞ with v + α·dv ≥ 0, per member (v > 0; (Bn, K, d))."""
    ratio = torch.where(dv < 0, -v / torch.where(dv < 0, dv, -torch.ones_like(dv)), torch.full_like(v, math.inf))
    return ratio.flatten(1).amin(dim=1)


class _State:
    """IPM iterate of the active members (scaled variables); s, z have shape (Bn, K, d)."""

    def __init__(self, theta, t, s, z, L1, L2, rows):
        self.theta, self.t, self.s, self.z = theta, t, s, z
        self.L1, self.L2, self.rows = L1, L2, rows

    def take(self, keep: torch.Tensor) -> "_State":
        t = None if self.t is None else self.t[keep]
        return _State(self.theta[keep], t, self.s[keep], self.z[keep], self.L1[keep], self.L2[keep],
                      self.rows[keep.cpu().numpy()])

    def where(self, mask: torch.Tensor, other: "_State") -> "_State":
        """Members in ``mask`` from ``self``, the others from ``other`` (same rows)."""
        m1, m2 = mask[:, None], mask[:, None, None]
        t = None if self.t is None else torch.where(m1, self.t, other.t)
        return _State(torch.where(m1, self.theta, other.theta), t, torch.where(m2, self.s, other.s),
                      torch.where(m2, self.z, other.z), self.L1, self.L2, self.rows)

    @staticmethod
    def cat(states: List["_State"]) -> "_State":
        t = None if states[0].t is None else torch.cat([x.t for x in states])
        return _State(torch.cat([x.theta for x in states]), t, torch.cat([x.s for x in states]),
                      torch.cat([x.z for x in states]), torch.cat([x.L1 for x in states]),
                      torch.cat([x.L2 for x in states]), np.concatenate([x.rows for x in states]))


def _initial_point(sc: _Scaled, L1, L2, positive: bool, rows: np.ndarray) -> _State:
    """θ from (G + diag(λ₂ + AᵀA)) θ = g − [λ₁ if positive] (one batched Cholesky), then s, z > 0:

    ℓ₁: t = |w| + τ, s₁ = t − w, s₂ = t + w (primal feasible), z₁ = z₂ = λ₁/2 (t-stationary),
    τ = max(1, ‖w‖∞).  positive: s = max(w, 0) + 0.1·max(1, ‖s‖∞), z = max(∇_w f + λ₁, 0) + 0.1·max(‖z‖∞, ‖λ₁‖∞).
    """
    d, p = sc.d, sc.G.shape[0]
    Bn = L1.shape[0]
    extra = 1.0 if positive else 2.0
    diag_w = L2 + extra
    Lc, ok, shift = _factor(sc.G, diag_w, d)
    rhs = sc.g.expand(Bn, p).clone()
    if positive:
        rhs[:, :d] -= L1
    theta = _solve(sc.G, diag_w, d, Lc, shift, rhs)
    theta = torch.where(torch.isfinite(theta), theta, torch.zeros_like(theta))
    w = theta[:, :d]
    if positive:
        grad = (theta @ sc.G - sc.g)[:, :d] + L2 * w + L1  # z at dual feasibility
        s = w.clamp(min=0)
        z = grad.clamp(min=0)
        tau_s = torch.maximum(s.amax(dim=1), torch.ones(Bn, dtype=s.dtype, device=s.device))
        tau_z = torch.maximum(z.amax(dim=1), L1.amax(dim=1)).clamp(min=1e-8)
        s = s + 0.1 * tau_s[:, None]
        z = z + 0.1 * tau_z[:, None]
        return _State(theta, None, s.unsqueeze(1), z.unsqueeze(1), L1, L2, rows)
    tau = torch.maximum(w.abs().amax(dim=1), torch.ones(Bn, dtype=w.dtype, device=w.device))
    t = w.abs() + tau[:, None]
    s = torch.stack([t - w, t + w], dim=1)
    z = (0.5 * L1).unsqueeze(1).expand(Bn, 2, d).clone()
    return _State(theta, t, s, z, L1, L2, rows)


def _residuals(sc: _Scaled, st: _State, positive: bool):
    """(Gθ, r_d over θ, r_d over t (ℓ₁) or None, r_p (Bn, K, d))."""
    d = sc.d
    Gtheta = st.theta @ sc.G
    w = st.theta[:, :d]
    rd = Gtheta - sc.g
    if positive:
        rd[:, :d] += st.L2 * w + st.L1 - st.z[:, 0]
        rp = (st.s[:, 0] - w).unsqueeze(1)
        return Gtheta, rd, None, rp
    z1, z2 = st.z[:, 0], st.z[:, 1]
    rd[:, :d] += st.L2 * w + z1 - z2
    rdt = st.L1 - z1 - z2
    rp = torch.stack([st.s[:, 0] - st.t + w, st.s[:, 1] - st.t - w], dim=1)
    return Gtheta, rd, rdt, rp


def _direction(sc: _Scaled, st: _State, positive: bool, Lc, shift, diag_w, rd, rdt, rp, rc):
    """Newton direction (Δθ, Δt, Δs, Δz) for complementarity residual ``rc`` (Bn, K, d)."""
    d = sc.d
    s, z = st.s, st.z
    if positive:
        W = z[:, 0] / s[:, 0]
        rhs = -rd.clone()
        rhs[:, :d] += W * rp[:, 0] - rc[:, 0] / s[:, 0]
        dth = _solve(sc.G, diag_w, d, Lc, shift, rhs)
        dw = dth[:, :d]
        dz = (W * (rp[:, 0] - dw) - rc[:, 0] / s[:, 0]).unsqueeze(1)
        ds = (dw - rp[:, 0]).unsqueeze(1)
        return dth, None, ds, dz
    s1, s2, z1, z2 = s[:, 0], s[:, 1], z[:, 0], z[:, 1]
    W1, W2 = z1 / s1, z2 / s2
    Wsum = W1 + W2
    c1, c2 = rc[:, 0] / s1, rc[:, 1] / s2
    rho = W1 * rp[:, 0] + W2 * rp[:, 1] - c1 - c2 - rdt
    ratio = (W1 - W2) / Wsum
    cw = W1 * rp[:, 0] - W2 * rp[:, 1] - c1 + c2 - ratio * rho
    rhs = -rd.clone()
    rhs[:, :d] -= cw
    dth = _solve(sc.G, diag_w, d, Lc, shift, rhs)
    dw = dth[:, :d]
    dt = ratio * dw + rho / Wsum
    dz1 = W1 * (dw - dt + rp[:, 0]) - c1
    dz2 = W2 * (-dw - dt + rp[:, 1]) - c2
    ds1 = dt - dw - rp[:, 0]
    ds2 = dt + dw - rp[:, 1]
    return dth, dt, torch.stack([ds1, ds2], dim=1), torch.stack([dz1, dz2], dim=1)


@dataclass
class _Measure:
    f: torch.Tensor  # model objective − const
    dobj: torch.Tensor  # QP dual objective − const
    gap: torch.Tensor  # P − D of the QP
    resp: torch.Tensor
    resd: torch.Tensor
    gap_rel: torch.Tensor
    finite: torch.Tensor

    def take(self, k: torch.Tensor) -> "_Measure":
        return _Measure(*(getattr(self, f.name)[k] for f in dataclasses.fields(self)))


def _measure(sc: _Scaled, st: _State, positive: bool, const: float, qnorm: torch.Tensor):
    """Residuals (for the Newton step) and the stopping measures of the module docstring."""
    d = sc.d
    Gtheta, rd, rdt, rp = _residuals(sc, st, positive)
    w = st.theta[:, :d]
    # P_QP − D = θᵀGθ − gᵀθ + λ₂‖w‖² + λ₁ᵀt  (t = w in the positive form)
    f, gap = _objectives(sc, st.theta, st.L1, st.L2, Gtheta, w if positive else st.t)
    dobj = -0.5 * (st.theta * Gtheta).sum(dim=1) - 0.5 * (st.L2 * w * w).sum(dim=1)
    xnorm = st.theta.abs().amax(dim=1)
    if st.t is not None:
        xnorm = torch.maximum(xnorm, st.t.abs().amax(dim=1))
    snorm = st.s.flatten(1).abs().amax(dim=1)
    znorm = st.z.flatten(1).abs().amax(dim=1)
    resp = rp.flatten(1).abs().amax(dim=1) / (xnorm + snorm).clamp(min=1.0)
    resd = rd.abs().amax(dim=1)
    if rdt is not None:
        resd = torch.maximum(resd, rdt.abs().amax(dim=1))
    resd = resd / (qnorm + xnorm + znorm).clamp(min=1.0)
    gap_rel = gap.abs() / (f + const).abs().clamp(min=1.0)
    finite = (torch.isfinite(gap_rel) & torch.isfinite(resp) & torch.isfinite(resd)
              & torch.isfinite(st.theta).all(dim=1))
    return (rd, rdt, rp), _Measure(f, dobj, gap, resp, resd, gap_rel, finite)


def _qnorm(sc: _Scaled, L1: torch.Tensor) -> torch.Tensor:
    """‖q‖∞ of each member's QP, max(‖g‖∞, ‖λ₁‖∞): the scale of the dual residual's tolerance."""
    return torch.maximum(sc.g.abs().max().expand(L1.shape[0]), L1.abs().amax(dim=1))


def _almost(ms: _Measure) -> torch.Tensor:
    return (ms.gap_rel <= _REDUCED_GAP) & (ms.resp <= _REDUCED_FEAS) & (ms.resd <= _REDUCED_FEAS) & ms.finite


def _merit(ms: _Measure) -> torch.Tensor:
    m = torch.maximum(torch.maximum(ms.gap_rel, ms.resp), ms.resd)
    return torch.where(ms.finite, m, torch.full_like(m, math.inf))


def _ipm(sc: _Scaled, const: float, L1: torch.Tensor, L2: torch.Tensor, positive: bool, tol: float, max_iter: int,
         rows: np.ndarray, out: _Outputs) -> None:
    """Batched Mehrotra predictor–corrector IPM; members leave the batch when they stop.

    A member that meets ``tol`` is polished (:func:`_polish`) at once; if the polish is rejected it
    keeps iterating (a sharper support estimate) and is polished again, at most ``_POLISH_RETRIES``
    times, then stops with its IPM point (status solved).  A member also stops, with the best
    iterate seen, when its merit max(gap_rel, res_p, res_d) is ≤ √tol but has not dropped below
    0.9× its best for ``_PATIENCE`` iterations (rounding floor, e.g. on the kink α = α_max), at
    ``max_iter``, or on a non-finite iterate; these are polished too.
    """
    d = sc.d
    st = _initial_point(sc, L1, L2, positive, rows)
    qnorm = _qnorm(sc, L1)
    m = st.s.shape[1] * d
    Bn = L1.shape[0]
    dev = L1.device
    best, best_ms = st, None
    best_merit = torch.full((Bn,), math.inf, dtype=torch.float64, device=dev)
    since = torch.zeros(Bn, dtype=torch.int64, device=dev)
    retries = torch.zeros(Bn, dtype=torch.int64, device=dev)
    stalled = torch.zeros(Bn, dtype=torch.bool, device=dev)
    floor = math.sqrt(tol)
    for it in range(max_iter + 1):
        (rd, rdt, rp), ms = _measure(sc, st, positive, const, qnorm)
        merit = _merit(ms)
        improved = merit < best_merit
        best = st.where(improved, best)
        best_ms = ms if best_ms is None else _Measure(*(torch.where(improved, getattr(ms, f.name),
                                                                    getattr(best_ms, f.name))
                                                        for f in dataclasses.fields(ms)))
        progress = (merit < 0.9 * best_merit) | (best_merit > floor)
        since = torch.where(progress, torch.zeros_like(since), since + 1)
        best_merit = torch.minimum(best_merit, merit)
        done = merit <= tol
        failed = (~ms.finite | stalled | (since >= _PATIENCE)) & ~done
        last = it == max_iter
        ending = done | failed | torch.full_like(done, last)
        keep = ~ending
        if bool(ending.any()):
            k = ending.nonzero().squeeze(1)
            fin = st.where(done, best).take(k)
            fin_ms = _Measure(*(torch.where(done, getattr(ms, f.name), getattr(best_ms, f.name))[k]
                                for f in dataclasses.fields(ms)))
            fin, fin_ms, polished = _polish(sc, fin, fin_ms, positive, const, qnorm[k], tol)
            dk, fk = done[k], failed[k]
            code = torch.full_like(k, _MAXIT)
            code[fk] = _NUMERR
            code[dk] = _SOLVED
            code[_merit(fin_ms) <= tol] = _SOLVED  # a polished point that meets tol is solved
            code = torch.where((code >= _MAXIT) & _almost(fin_ms), torch.full_like(code, _ALMOST), code)
            # met tol, polish rejected, retries left: iterate on for a sharper support estimate
            again = dk & ~polished & (retries[k] < _POLISH_RETRIES) & (not last)
            stop = ~again
            if bool(stop.any()):
                _record(fin.take(stop), code[stop], np.full(int(stop.sum()), it), fin_ms.take(stop), out)
            keep[k[again]] = True
            retries[k[again]] += 1
            if not bool(keep.any()):
                return
            st, best = st.take(keep), best.take(keep)
            best_ms = best_ms.take(keep)
            best_merit, since, stalled, retries = best_merit[keep], since[keep], stalled[keep], retries[keep]
            rd, rp = rd[keep], rp[keep]
            rdt = None if rdt is None else rdt[keep]
            qnorm = qnorm[keep]
        # ---- Newton system: one batched Cholesky of (Bn, p, p)
        s, z = st.s, st.z
        if positive:
            diag_w = st.L2 + z[:, 0] / s[:, 0]
        else:
            diag_w = st.L2 + 4.0 / (s[:, 0] / z[:, 0] + s[:, 1] / z[:, 1])
        Lc, ok, shift = _factor(sc.G, diag_w, d)
        mu = (s * z).flatten(1).sum(dim=1) / m
        # predictor (affine scaling direction)
        rc = s * z
        _, _, ds, dz = _direction(sc, st, positive, Lc, shift, diag_w, rd, rdt, rp, rc)
        a_aff = torch.minimum(_max_step(s, ds), _max_step(z, dz)).clamp(max=1.0)
        ab = a_aff[:, None, None]
        mu_aff = ((s + ab * ds) * (z + ab * dz)).flatten(1).sum(dim=1) / m
        sigma = (mu_aff / mu).clamp(min=0.0, max=1.0) ** 3
        # corrector (combined direction, same factor)
        rc = s * z + ds * dz - (sigma * mu)[:, None, None]
        dth, dt, ds, dz = _direction(sc, st, positive, Lc, shift, diag_w, rd, rdt, rp, rc)
        a_max = torch.minimum(_max_step(s, ds), _max_step(z, dz))
        alpha = (_STEP_FRACTION * a_max).clamp(max=1.0)
        stalled = (alpha < _MIN_STEP) | ~ok | ~torch.isfinite(alpha)
        alpha = torch.where(stalled, torch.zeros_like(alpha), alpha)
        st = _State(st.theta + alpha[:, None] * dth, None if st.t is None else st.t + alpha[:, None] * dt,
                    st.s + alpha[:, None, None] * ds, st.z + alpha[:, None, None] * dz, st.L1, st.L2, st.rows)


def _polish(sc: _Scaled, fin: _State, ms: _Measure, positive: bool, const: float, qnorm: torch.Tensor,
            tol: float) -> Tuple[_State, _Measure, torch.Tensor]:
    """Active-set polish: guess the support S and signs σ of w from the IPM point, solve the KKT
    equations of the model restricted to S exactly,

        (G + diag(λ₂))_SS θ_S = (g − λ₁σ)_S,   w_j = 0 off S   (the intercept always in S),

    build the matching dual point (z from the gradient, clipped to the dual feasible set) and keep
    the polished point for a member only if its gap and dual residual are no worse than the IPM's.
    Support guess: |w̃ⱼ| > κ·(distance of the dual from its bound) in the Jacobi-scaled variables
    (2·min(z₁, z₂) for ℓ₁, z for w ≥ 0), κ = 1, 10, 0.1 tried in turn on the members not yet accepted.
    """
    d = sc.d
    w = fin.theta[:, :d]
    if positive:
        mag, dual_gap, sign = w, fin.z[:, 0], torch.ones_like(w)
    else:
        mag, dual_gap, sign = w.abs(), 2.0 * torch.minimum(fin.z[:, 0], fin.z[:, 1]), torch.sign(w)
    ok_rows = ms.finite & torch.isfinite(fin.theta).all(dim=1)
    accepted = ~ok_rows  # members without a finite point are not polished
    polished = torch.zeros_like(accepted)
    for kappa in (1.0, 10.0, 0.1):
        todo = (~accepted).nonzero().squeeze(1)
        if todo.numel() == 0:
            break
        support = (mag[todo] > kappa * dual_gap[todo]) & (mag[todo] > 0)
        L1, L2 = fin.L1[todo], fin.L2[todo]
        th, good = _restricted_solve(sc, support, sign[todo] * support, L1, L2)
        cand = _dual_for(sc, th, L1, L2, positive, fin.rows[todo.cpu().numpy()])
        if positive:
            good &= (th[:, :d] >= 0).all(dim=1)
        _, cms = _measure(sc, cand, positive, const, qnorm[todo])
        better = (good & cms.finite & (cms.gap_rel <= ms.gap_rel[todo])
                  & (cms.resd <= torch.maximum(ms.resd[todo], torch.full_like(cms.resd, 1e-2 * tol)))
                  & (cms.resp <= torch.maximum(ms.resp[todo], torch.full_like(cms.resp, 1e-2 * tol))))
        if not bool(better.any()):
            continue
        k = todo[better]
        fin = _replace_rows(fin, k, cand.take(better))
        ms = _Measure(*(_scatter(getattr(ms, f.name), k, getattr(cms, f.name)[better]) for f in dataclasses.fields(ms)))
        accepted[k] = True
        polished[k] = True
    return fin, ms, polished


def _restricted_solve(sc: _Scaled, support: torch.Tensor, sign: torch.Tensor, L1: torch.Tensor,
                      L2: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """The KKT equations of the model restricted to the support S (Bn, d) with signs σ of w:

        (G + diag(λ₂))_SS θ_S = (g − λ₁σ)_S,   w_j = 0 off S   (the intercept always in S),

    one masked batched Cholesky and one refinement step.  Returns (θ, ok); θ = 0 where the
    restricted matrix does not factor (ok False)."""
    d, p = sc.d, sc.G.shape[0]
    mask = torch.ones((support.shape[0], p), dtype=sc.G.dtype, device=sc.G.device)
    mask[:, :d] = support
    M = sc.G * (mask[:, :, None] * mask[:, None, :])
    # diagonal: λ₂ on S, 1 off S (the unknowns fixed at 0), G's own entries for the intercept
    M.diagonal(dim1=-2, dim2=-1)[:, :d] += torch.where(support, L2, 1.0)
    rhs = sc.g * mask
    rhs[:, :d] -= L1 * sign  # σ = 0 off S
    Lc, info = torch.linalg.cholesky_ex(M)
    th = torch.cholesky_solve(rhs.unsqueeze(-1), Lc)
    th = (th + torch.cholesky_solve(rhs.unsqueeze(-1) - M @ th, Lc)).squeeze(-1) * mask
    ok = (info == 0) & torch.isfinite(th).all(dim=1)
    return torch.where(ok[:, None], th, torch.zeros_like(th)), ok


def _dual_for(sc: _Scaled, theta: torch.Tensor, L1, L2, positive: bool, rows: np.ndarray) -> _State:
    """The primal–dual point of the QP matching θ: t = |w|, s from the constraints, z from stationarity
    (clipped into z ≥ 0, z₁ + z₂ = λ₁)."""
    d = sc.d
    w = theta[:, :d]
    grad = (theta @ sc.G - sc.g)[:, :d] + L2 * w
    if positive:
        z = (grad + L1).clamp(min=0.0)
        return _State(theta, None, w.unsqueeze(1).clone(), z.unsqueeze(1), L1, L2, rows)
    v = torch.maximum(torch.minimum(-grad, L1), -L1)  # z₁ − z₂ = −∇_w, |v| ≤ λ₁
    z = torch.stack([0.5 * (L1 + v), 0.5 * (L1 - v)], dim=1)
    t = w.abs()
    s = torch.stack([t - w, t + w], dim=1)
    return _State(theta, t, s, z, L1, L2, rows)


def _scatter(base: torch.Tensor, k: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    out = base.clone()
    out[k] = values
    return out


def _replace_rows(st: _State, k: torch.Tensor, new: _State) -> _State:
    t = None if st.t is None else _scatter(st.t, k, new.t)
    return _State(_scatter(st.theta, k, new.theta), t, _scatter(st.s, k, new.s), _scatter(st.z, k, new.z),
                  st.L1, st.L2, st.rows)


def _record(st: _State, code: torch.Tensor, iters: np.ndarray, ms: _Measure, out: _Outputs,
            method: int = _IPM) -> None:
    rows = st.rows
    out.method[rows] = method
    out.theta[rows] = st.theta.cpu().numpy()
    out.status[rows] = code.cpu().numpy()
    out.iters[rows] = iters
    out.pobj[rows] = ms.f.cpu().numpy()
    out.dobj[rows] = ms.dobj.cpu().numpy()
    out.gap[rows] = ms.gap.abs().cpu().numpy()
    out.resp[rows] = ms.resp.cpu().numpy()
    out.resd[rows] = ms.resd.cpu().numpy()


# the names batched_path and active_set use
Outputs, Scaled, scale, sync = _Outputs, _Scaled, _scale, _sync
STATUS_NAMES, MAXIT, SOLVED, ACTIVE_SET = _STATUS_NAMES, _MAXIT, _SOLVED, _ACTIVE_SET
ipm, ridge, write_exact, restricted_solve, dual_for, measure, merit, qnorm, record = (
    _ipm, _ridge, _write_exact, _restricted_solve, _dual_for, _measure, _merit, _qnorm, _record)
