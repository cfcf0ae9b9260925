"""Barrier calculus of the exponential cone, evaluated without catastrophic cancellation.

Batched component-first: k points are a (3, k) tensor whose rows are the components
(contiguous length-k vectors, which elementwise kernels vectorise; a (k, 3) layout made
every operation several times slower).  Dual cone points z = (u, v, w), u < 0 < w; primal points
s = (x, y, z), y, z > 0.

Dual barrier  f*(z) = −log r − log(−u) − log w,  r = v − u − u·ℓ,  ℓ = log(−w/u).
With g = ∇r = (−ℓ, 1, −u/w) and G = ∇²r = [[1/u, 0, −1/w], [0, 0, 0], [−1/w, 0, u/w²]]
(rank one, negative semidefinite: −G = a aᵀ/(−u), a = (1, 0, −u/w)):

    ∇f*  = −g/r + (−1/u, 0, −1/w),
    ∇²f* = g gᵀ/r² + a aᵀ/(−u r) + diag(1/u², 0, 1/w²)        (a sum of PSD terms).

Near the boundary pairs met at the end of a solve, z → c(−1, −1, 1) with r ≈ 1e-8‖z‖, so
r = v − u − u·log(−w/u) cancels.  We evaluate ℓ = log1p((u + w)/(−u)) (u + w is exact
there) and r = (v − u) − u·ℓ, which keeps r relatively accurate, and never invert the
3×3 Hessian numerically (its condition number reaches 1e17): the v-row of ∇²f* q = p
reads gᵀq/r² = p_v, which leaves a well-conditioned 2×2 system in (q_u, q_w) solved by
Sherman–Morrison, see :func:`dual_hess_solve`.  The third-order term
η = ½∇³f*(z)[p, q] is then written analytically using gᵀq = r²p_v
(:func:`dual_third_order`).

Primal side: with ε = log(z/y) − x/y > 0 (ε = r_primal / y) the conjugate barrier uses
δ = ω(1 + ε) − 1, ω the Wright omega function; δ solves δ + log1p(δ) = ε and is refined
by Newton's method on that equation, so ∇f(s) = (1/(δy), (1 − 2δ − x/y)/(δy),
−(1 + δ)/(δz)) keeps full relative accuracy when δ → 0.
"""
from __future__ import annotations

import math

import torch


def wright_omega(t: torch.Tensor) -> torch.Tensor:
    """ω(t) solving ω + log ω = t, for t ≥ 0 (series start + two fourth-order steps)."""
    zm1 = t - 1
    # Horner form of 1 + x/2 + x²/16 − x³/192 − x⁴/3072 + 13x⁵/61440 (no pow kernels)
    w_small = 1 + zm1 * (1 / 2 + zm1 * (1 / 16 + zm1 * (-1 / 192 + zm1 * (-1 / 3072 + zm1 * (13 / 61440)))))
    tt = t.clamp(min=1.0)
    lz = torch.log(tt)
    w_big = (tt - lz + lz / tt + lz / tt ** 2 * (lz / 2 - 1)
             + lz / tt ** 3 * (lz * lz / 3 - 1.5 * lz + 1))
    w = torch.where(t < 1 + math.pi, w_small, w_big)
    r = t - w - torch.log(w)
    for _ in range(2):
        wp1 = w + 1
        tq = wp1 * (wp1 + 2 * r / 3)
        w = w * (1 + (r / wp1) * (tq - r / 2) / (tq - r))
        wp3, r2 = wp1 * wp1 * wp1, r * r
        r = (2 * w * w - 8 * w - 1) / (72 * wp3 * wp3) * (r2 * r2)
    return w


# ----------------------------------------------------------------------------- dual side
def dual_log_ratio(z: torch.Tensor) -> torch.Tensor:
    """ℓ = log(−w/u) = log1p((u + w)/(−u)), accurate when −w/u ≈ 1 (NaN-free for u < 0 < w)."""
    return torch.log1p((z[0] + z[2]) / (-z[0]))


def dual_r(z: torch.Tensor) -> torch.Tensor:
    """r(z) = (v − u) − u·ℓ; z ∈ int K* iff u < 0, w > 0 and r > 0."""
    return (z[1] - z[0]) - z[0] * dual_log_ratio(z)


def dual_feasible(z: torch.Tensor) -> torch.Tensor:
    ok = (z[0] < 0) & (z[2] > 0)
    safe = torch.where(ok[None, :], z, torch.tensor([[-1.0], [1.0], [1.0]], dtype=z.dtype, device=z.device))
    return ok & (dual_r(safe) > 0)


def dual_barrier(z: torch.Tensor) -> torch.Tensor:
    return -torch.log(-z[0]) - torch.log(z[2]) - torch.log(dual_r(z))


def _dual_parts(z: torch.Tensor):
    u, w = z[0], z[2]
    l = dual_log_ratio(z)
    r = (z[1] - u) - u * l
    return u, w, l, r


def dual_grad_factor(z: torch.Tensor):
    """∇f*(z) (3, k) and a factor W (4, 3, k) with ∇²f*(z) = WᵀW: its rows are the four PSD
    terms, g/r, a/√(−ur), e_u/|u| and e_w/w (component-first, like every tensor here)."""
    u, w, l, r = _dual_parts(z)
    uw = u / w
    gr = torch.stack([-l / r, 1 / r, -uw / r])  # ∇r / r
    grad = -gr
    grad[0] -= 1 / u
    grad[2] -= 1 / w
    zero = torch.zeros_like(u)
    c = (-u * r).rsqrt()
    W = torch.stack([gr,
                     torch.stack([c, zero, -uw * c]),
                     torch.stack([-1 / u, zero, zero]),
                     torch.stack([zero, zero, 1 / w])])
    return grad, W


def factor_gram(W: torch.Tensor) -> torch.Tensor:
    """WᵀW for component-first factors W (r, d, k): the (d, d, k) blocks Σ_rows w wᵀ."""
    d = W.shape[1]
    # the d(d+1)/2 distinct entries, each a sum over the rows (no (r, d, d, k) temporary)
    entry = {(i, j): (W[:, i] * W[:, j]).sum(0) for i in range(d) for j in range(i + 1)}
    return torch.stack([torch.stack([entry[max(i, j), min(i, j)] for j in range(d)]) for i in range(d)])


def dual_hess_solve(z: torch.Tensor, p: torch.Tensor):
    """q = (∇²f*(z))⁻¹ p and θ = p_v = gᵀq/r², without forming or factoring the Hessian.

    The v-row of ∇²f* q = p is gᵀq/r² = p_v.  The (u, w) rows then read
    (D + a aᵀ/(−ur)) (q_u, q_w) = (p_u, p_w) − p_v (g_u, g_w) with D = diag(1/u², 1/w²),
    solved by Sherman–Morrison (denominator −ur + 2u² > 0); finally q_v = r²p_v − g_u q_u − g_w q_w.
    """
    u, w, l, r = _dual_parts(z)
    theta = p[1]
    yu = p[0] + theta * l
    yw = p[2] + theta * u / w
    sm = (u * u * yu - u * w * yw) / (2 * u * u - u * r)
    qu = u * u * (yu - sm)
    qw = w * w * yw + u * w * sm
    qv = theta * r * r + l * qu + (u / w) * qw
    return torch.stack([qu, qv, qw]), theta


def dual_hess_inv_quad(z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """xᵀ(∇²f*(z))⁻¹x = yᵀB⁻¹y + r²x_v² ≥ 0 (y = (x_u, x_w) − x_v (g_u, g_w), B the (u, w)
    block of :func:`dual_hess_solve`): a sum of two nonnegative terms, no cancellation."""
    u, w, l, r = _dual_parts(z)
    xv = x[1]
    yu = x[0] + xv * l
    yw = x[2] + xv * u / w
    sm = u * u * yu - u * w * yw
    # yᵀB⁻¹y = yᵀD⁻¹y − (aᵀD⁻¹y)²/(2u² − ur) with D⁻¹ = diag(u², w²), written as a sum
    # of nonnegative parts: yᵀD⁻¹y − (aᵀD⁻¹y)²/(2u²) = (u y_u + w y_w)²/2 and the rest
    rest = sm * sm * (-u * r) / (2 * u * u * (2 * u * u - u * r))
    return 0.5 * (u * yu + w * yw) ** 2 + rest + (r * xv) ** 2


def dual_third_order(z: torch.Tensor, p: torch.Tensor, q: torch.Tensor, theta: torch.Tensor):
    """η = ½∇³f*(z)[p, q] for q = (∇²f*)⁻¹(·) with θ = gᵀq/r² (from :func:`dual_hess_solve`).

    Differentiating ∇²f* = g gᵀ/r² − G/r + diag(1/u², 0, 1/w²) along p (∇g = G):
    ∇³f*[p, q] = θ Gp + (gᵀp/r²) Gq + g (pᵀGq/r² − 2θ gᵀp/r) − ∇³r[p, q]/r
                 + (−2p_u q_u/u³, 0, −2p_w q_w/w³),
    ∇³r[p, q] = (−p_u q_u/u² + p_w q_w/w², 0, (p_u q_w + p_w q_u)/w² − 2u p_w q_w/w³).
    Only q_u, q_w and θ enter (G has a zero v row), never the cancelling q_v.
    """
    u, w, l, r = _dual_parts(z)
    pu, pv, pw = p[0], p[1], p[2]
    qu, qw = q[0], q[2]
    uw = u / w
    gp = -l * pu + pv - uw * pw
    Gp_u, Gp_w = pu / u - pw / w, (-pu + uw * pw) / w
    Gq_u, Gq_w = qu / u - qw / w, (-qu + uw * qw) / w
    pGq = pu * Gq_u + pw * Gq_w
    c_g = pGq / (r * r) - 2 * theta * gp / r
    c_q = gp / (r * r)
    w2 = w * w
    t3_u = -pu * qu / (u * u) + pw * qw / w2
    t3_w = (pu * qw + pw * qu) / w2 - 2 * u * pw * qw / (w2 * w)
    eta_u = theta * Gp_u + c_q * Gq_u - l * c_g - t3_u / r - 2 * pu * qu / (u * u * u)
    eta_v = c_g
    eta_w = theta * Gp_w + c_q * Gq_w - uw * c_g - t3_w / r - 2 * pw * qw / (w2 * w)
    return 0.5 * torch.stack([eta_u, eta_v, eta_w])


# --------------------------------------------------------------------------- primal side
def primal_eps(s: torch.Tensor) -> torch.Tensor:
    """ε(s) = log(z/y) − x/y = log1p((z − y)/y) − x/y; s ∈ int K iff y, z > 0 and ε > 0."""
    y = s[1]
    return torch.log1p((s[2] - y) / y) - s[0] / y


def primal_feasible(s: torch.Tensor) -> torch.Tensor:
    ok = (s[1] > 0) & (s[2] > 0)
    safe = torch.where(ok[None, :], s, torch.tensor([[0.0], [1.0], [1.0]], dtype=s.dtype, device=s.device))
    return ok & (primal_eps(safe) > 0)


def primal_delta(s: torch.Tensor) -> torch.Tensor:
    """δ = ω(1 + ε) − 1 > 0, refined on δ + log1p(δ) = ε for full relative accuracy."""
    eps = primal_eps(s)
    d = wright_omega(1 + eps) - 1
    d = torch.where(d > 0, d, eps / 2)
    for _ in range(2):
        d = d - (d + torch.log1p(d) - eps) / (1 + 1 / (1 + d))
    return d


def primal_grad(s: torch.Tensor) -> torch.Tensor:
    """∇f(s) of the primal barrier f = (f*)^conjugate."""
    d = primal_delta(s)
    y, zz = s[1], s[2]
    g0 = 1 / (d * y)
    g1 = (1 - 2 * d - s[0] / y) * g0
    g2 = -(1 + d) / (d * zz)
    return torch.stack([g0, g1, g2])


def primal_barrier(s: torch.Tensor) -> torch.Tensor:
    """f(s) = −log((ω − 1)²/ω) − 2 log y − log z − 3 with ω − 1 = δ."""
    d = primal_delta(s)
    return -2 * torch.log(d) + torch.log1p(d) - 2 * torch.log(s[1]) - torch.log(s[2]) - 3
