"""Exponential-cone barrier quantities near the boundary, against 60-digit mpmath references.

At the end of a logistic-regression solve the exp-cone pairs approach s → (0, a, a),
z → c(−1, −1, 1) with r(z) = v − u − u·log(−w/u) ≈ 1e-9‖z‖ and cond ∇²f*(z) ≈ 1e17.
A 3×3 inverse or a difference of rank-one matrices computed there in float64 loses
every digit; the closed forms in ``exp_barrier`` must keep (nearly) full accuracy.
The references evaluate the textbook formulas at the same float64 points in high
precision (exact inputs, so only the float64 evaluation error is measured).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from exp_rows import (dual_barrier, dual_feasible, dual_grad_hess, dual_hess_inv_quad, dual_hess_solve,
                      dual_r, dual_third_order, primal_barrier, primal_feasible, primal_grad, scaling_rows)
from mlopt.ipm.cones.exp import ExponentialGroup

mp = pytest.importorskip("mpmath")
mp.mp.dps = 60
f64 = torch.float64


def _near_boundary(k: int = 12, seed: int = 0):
    """Interior pairs with r/‖z‖ and the primal margin in [1e-10, 1e-6]."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.3, 2.0, k)
    u = -a
    w = a * (1 + rng.uniform(-1e-3, 1e-3, k))
    l = np.log1p((u + w) / (-u))
    r = a * 10.0 ** rng.uniform(-10, -6, k)
    v = u + u * l + r
    z = np.stack([u, v, w], 1)
    y = rng.uniform(0.3, 2.0, k)
    zz = y * (1 + rng.uniform(-1e-3, 1e-3, k))
    x = y * np.log1p((zz - y) / y) - y * 10.0 ** rng.uniform(-10, -6, k)
    s = np.stack([x, y, zz], 1)
    return torch.tensor(s, dtype=f64), torch.tensor(z, dtype=f64)


def _mp_hess_exact(z):
    """∇²f*(z) from the textbook entry formulas, z a list of mpf."""
    u, v, w = z
    l = mp.log(-w / u)
    r = v - u - u * l
    H = mp.matrix(3, 3)
    H[0, 0] = (r * r - u * r + l * l * u * u) / (r * r * u * u)
    H[0, 1] = H[1, 0] = -l / (r * r)
    H[1, 1] = 1 / (r * r)
    H[0, 2] = H[2, 0] = (v - u) / (r * r * w)
    H[1, 2] = H[2, 1] = -u / (r * r * w)
    H[2, 2] = (r * r - u * r + u * u) / (r * r * w * w)
    return H


def _mp_hess(z):
    """(∇f*, ∇²f*, r) at the float64 point z, evaluated at 60 digits."""
    u, v, w = (mp.mpf(float(t)) for t in z)
    l = mp.log(-w / u)
    r = v - u - u * l
    grad = mp.matrix([l / r - 1 / u, -1 / r, (u / r - 1) / w])
    return grad, _mp_hess_exact([u, v, w]), r


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def _np(m) -> np.ndarray:
    return np.array(m.tolist(), dtype=float).ravel()


def test_points_are_interior_and_hard():
    s, z = _near_boundary()
    assert primal_feasible(s).all() and dual_feasible(z).all()
    assert (dual_r(z) / torch.linalg.vector_norm(z, dim=1)).max() < 1e-5
    _, H = dual_grad_hess(z)
    ev = torch.linalg.eigvalsh(H)
    assert (ev[:, -1] / ev[:, 0].abs()).max() > 1e14  # ill-conditioned as in a real solve


def test_dual_r_gradient_hessian_match_mpmath():
    _, z = _near_boundary()
    g, H = dual_grad_hess(z)
    r = dual_r(z)
    assert torch.equal(H, H.transpose(1, 2))  # symmetric by construction
    for k in range(z.shape[0]):
        gm, Hm, rm = _mp_hess(z[k].tolist())
        # log(−w/u) with −w/u ≈ 1 loses ~1e-8 relative in r; log1p keeps ≤ 1e-9 here
        assert abs(float(r[k]) - float(rm)) <= 2e-9 * float(rm)
        assert _rel(g[k].numpy(), _np(gm)) < 2e-9
        assert _rel(H[k].numpy().ravel(), _np(Hm)) < 2e-9


def test_hessian_solve_and_inverse_quadratic_form_match_mpmath():
    _, z = _near_boundary()
    p = torch.randn(z.shape[0], 3, dtype=f64, generator=torch.Generator().manual_seed(1))
    q, theta = dual_hess_solve(z, p)
    quad = dual_hess_inv_quad(z, p)
    for k in range(z.shape[0]):
        _, Hm, rm = _mp_hess(z[k].tolist())
        qm = mp.lu_solve(Hm, mp.matrix([mp.mpf(float(t)) for t in p[k]]))
        qm_np = _np(qm)
        # q_u, q_w carry the information (q_v = r²θ − g_u q_u − g_w q_w cancels by nature)
        assert abs(q[k, 0] - qm_np[0]) <= 1e-9 * np.abs(qm_np).max()
        assert abs(q[k, 2] - qm_np[2]) <= 1e-9 * np.abs(qm_np).max()
        quad_m = float(sum(mp.mpf(float(p[k, i])) * qm[i] for i in range(3)))
        assert quad[k] > 0
        assert abs(float(quad[k]) - quad_m) <= 1e-9 * quad_m
    assert torch.equal(theta, p[:, 1])


def test_third_order_correction_matches_mpmath_derivative():
    _, z = _near_boundary()
    gen = torch.Generator().manual_seed(2)
    dz, ds = torch.randn(z.shape[0], 3, dtype=f64, generator=gen), torch.randn(z.shape[0], 3, dtype=f64, generator=gen)
    q, theta = dual_hess_solve(z, ds)
    eta = dual_third_order(z, dz, q, theta)
    h = mp.mpf("1e-30")
    for k in range(z.shape[0]):
        _, Hm, _ = _mp_hess(z[k].tolist())
        qm = mp.lu_solve(Hm, mp.matrix([mp.mpf(float(t)) for t in ds[k]]))
        zk = [mp.mpf(float(t)) for t in z[k]]
        zp = [zk[i] + h * float(dz[k, i]) for i in range(3)]
        zm = [zk[i] - h * float(dz[k, i]) for i in range(3)]
        # the reference needs z ± h·Δz at 60 digits: evaluate the Hessian formula directly
        Hp, Hn = _mp_hess_exact(zp), _mp_hess_exact(zm)
        ref = (Hp - Hn) * qm / (4 * h)  # ½ d/dt ∇²f*(z + tΔz) q
        assert _rel(eta[k].numpy(), _np(ref)) < 1e-6


def test_third_order_matches_autodiff_at_moderate_points():
    z = torch.tensor([[-1.0, 0.5, 1.5], [-0.3, 0.2, 2.0], [-2.0, 1.0, 3.0]], dtype=f64)
    gen = torch.Generator().manual_seed(3)
    dz, ds = torch.randn(3, 3, dtype=f64, generator=gen), torch.randn(3, 3, dtype=f64, generator=gen)
    H = dual_grad_hess(z)[1]
    q = torch.linalg.solve(H, ds)
    hess = torch.func.vmap(torch.func.hessian(lambda x: dual_barrier(x[None])[0]))
    _, dH = torch.func.jvp(hess, (z,), (dz,))
    ref = 0.5 * torch.einsum("kij,kj->ki", dH, q)
    q2, theta = dual_hess_solve(z, ds)
    assert torch.allclose(q2, q, rtol=1e-12, atol=1e-12)
    assert torch.allclose(dual_third_order(z, dz, q2, theta), ref, rtol=1e-10, atol=1e-12)


def test_primal_gradient_and_barrier_match_mpmath():
    s, _ = _near_boundary()
    g = primal_grad(s)
    f = primal_barrier(s)
    for k in range(s.shape[0]):
        x, y, zz = (mp.mpf(float(t)) for t in s[k])
        om = mp.lambertw(mp.exp(1 - x / y - mp.log(y / zz))).real  # ω + log ω = t
        g0 = 1 / ((om - 1) * y)
        ref = np.array([float(g0), float(g0 + g0 * mp.log(om * y / zz) - 1 / y),
                        float(om / ((1 - om) * zz))])
        assert _rel(g[k].numpy(), ref) < 1e-8
        fm = -mp.log((om - 1) ** 2 / om) - 2 * mp.log(y) - mp.log(zz) - 3
        assert abs(float(f[k]) - float(fm)) < 1e-8 * abs(float(fm))


def test_primal_dual_scaling_accurate_near_boundary():
    """Hs from the closed-form t against the Dahl–Andersen formula evaluated in mpmath."""
    s, z = _near_boundary()
    z = -0.999 * primal_grad(s) * 1e-8  # z near −μ∇f(s): a pair close to the central path
    z = z + 1e-3 * z.abs().max(1, keepdim=True).values * torch.tensor([[-1e-3, 0.0, 2e-3]], dtype=f64)
    assert dual_feasible(z).all()
    grp = ExponentialGroup(torch.arange(3 * s.shape[0]).reshape(-1, 3))
    assert grp.update_scaling(s.T, z.T, 1e-8, False)  # the group works component-first
    Hs_rows, Hdual_rows = scaling_rows(grp)
    mu_c = (s * z).sum(1) / 3
    assert not torch.allclose(Hs_rows, mu_c[:, None, None] * Hdual_rows)  # primal–dual branch taken
    # H z = s per cone, normwise: s has components ~1e-3‖s‖, whose elementwise relative error
    # (1e-7 to 3e-6 over seeds, before and after the component-first rewrite) is rounding
    # amplified by cond H; normwise the error is 2.7e-10 at worst over 30 seeds
    err = (grp.mul_H(z.T).T - s).abs().max(1).values / s.abs().max(1).values
    assert err.max() < 1e-9
    for k in range(s.shape[0]):
        S = mp.matrix([mp.mpf(float(t)) for t in s[k]])
        Z = mp.matrix([mp.mpf(float(t)) for t in z[k]])
        st, Hm, _ = _mp_hess(z[k].tolist())
        x, y, zz = S[0], S[1], S[2]
        om = mp.lambertw(mp.exp(1 - x / y - mp.log(y / zz))).real
        g0 = 1 / ((om - 1) * y)
        zt = mp.matrix([g0, g0 + g0 * mp.log(om * y / zz) - 1 / y, om / ((1 - om) * zz)])
        dot = (S.T * Z)[0]
        mu, mut = dot / 3, (st.T * zt)[0] / 3
        dS, dZ = S + mu * st, Z + mu * zt
        tmp = mut * st - Hm * zt
        de2 = (zt.T * Hm * zt)[0] - 3 * mut * mut
        t = mu * mp.mnorm(Hm - st * st.T / 3 - tmp * tmp.T / de2, "f")
        ax = mp.matrix([Z[1] * zt[2] - Z[2] * zt[1], Z[2] * zt[0] - Z[0] * zt[2], Z[0] * zt[1] - Z[1] * zt[0]])
        ax = ax / mp.norm(ax)
        Hs = S * S.T / dot + dS * dS.T / (dS.T * dZ)[0] + t * ax * ax.T
        assert _rel(Hs_rows[k].numpy().ravel(), _np(Hs)) < 1e-5


def test_scaling_products_through_the_factor_keep_the_small_eigenvalue():
    """H = WᵀW near the boundary has cond ~1e16: rounded to float64, H has lost its smallest eigenvalue,
    so the energy vᵀHv along that eigenvector is wrong by O(1) when taken with the rounded H, while
    vᵀWᵀ(Wv) through the factor (``mul_H``) keeps ~1e-10 relative accuracy."""
    from mlopt.ipm.cones.exp_barrier import factor_gram

    s, z = _near_boundary()
    z = -0.999 * primal_grad(s) * 1e-8
    z = z + 1e-3 * z.abs().max(1, keepdim=True).values * torch.tensor([[-1e-3, 0.0, 2e-3]], dtype=f64)
    grp = ExponentialGroup(torch.arange(3 * s.shape[0]).reshape(-1, 3))
    assert grp.update_scaling(s.T, z.T, 1e-8, False)
    assert torch.equal(grp.Hs, factor_gram(grp.W))  # the H handed to factorising backends is WᵀW
    W = grp.W.permute(2, 0, 1)  # (k, 4, 3)
    k = s.shape[0]
    v = torch.zeros(3, k, dtype=f64)
    energy, ratio = np.zeros(k), np.zeros(k)
    for i in range(k):
        Wm = mp.matrix(W[i].tolist())
        H = Wm.T * Wm  # exact: float64 inputs, 60 digits
        evals, evecs = mp.eigsy(H)
        v[:, i] = torch.tensor([float(evecs[j, 0]) for j in range(3)], dtype=f64)  # smallest eigenvalue
        vm = mp.matrix([mp.mpf(float(t)) for t in v[:, i]])
        energy[i] = float((vm.T * H * vm)[0])
        ratio[i] = float(evals[0] / evals[2])
    by_factor = (v * grp.mul_H(v)).sum(0).numpy()
    by_rounded_H = (v * (grp.Hs * v[None]).sum(1)).sum(0).numpy()  # H v with the rounded (3, 3, k) blocks
    assert ratio.max() < 1e-12  # the blocks are that ill-conditioned
    assert np.max(np.abs(by_factor - energy) / energy) < 1e-8
    assert np.max(np.abs(by_rounded_H - energy) / energy) > 1e-2  # what the rounded H would give
