"""Unit tests of the batched cone operations against their defining identities."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from exp_rows import (dual_barrier, dual_feasible, dual_grad_hess, primal_barrier, primal_feasible,
                      primal_grad, scaling_rows, wright_omega)
from mlopt.ipm.cones.exp import ExponentialGroup
from mlopt.ipm.cones.soc import SecondOrderGroup, soc_step

f64 = torch.float64


def test_wright_omega():
    t = torch.tensor([0.0, 1e-6, 0.3, 1.0, 3.0, 10.0, 1e3, 1e8], dtype=f64)
    w = wright_omega(t)
    assert torch.allclose(w + torch.log(w), t, rtol=1e-13, atol=1e-12)


def _random_soc(k, d, g):
    x = torch.randn(k, d, dtype=f64, generator=g)
    x[:, 0] = torch.linalg.vector_norm(x[:, 1:], dim=1) + torch.rand(k, dtype=f64, generator=g) + 0.1
    return x


def test_soc_nt_scaling_identities():
    g = torch.Generator().manual_seed(0)
    s, z = _random_soc(7, 4, g), _random_soc(7, 4, g)
    grp = SecondOrderGroup(torch.arange(28).reshape(7, 4))
    assert grp.update_scaling(s, z, 1.0, False)
    H = grp.H_blocks()
    assert torch.allclose(torch.einsum("kij,kj->ki", H, z), s, atol=1e-12)  # H z = s
    assert torch.allclose(grp.mul_W(z), grp.mul_Winv(s), atol=1e-12)  # W z = W⁻¹ s = λ
    assert torch.allclose(grp.mul_H(z), s, atol=1e-12)


def test_soc_step_to_boundary():
    g = torch.Generator().manual_seed(1)
    x = _random_soc(50, 5, g)
    dx = torch.randn(50, 5, dtype=f64, generator=g) * 5
    alpha = soc_step(x, dx, 1e6)
    y = x + alpha * dx
    det = y[:, 0] ** 2 - (y[:, 1:] ** 2).sum(1)
    assert det.min().abs() < 1e-8 * (1 + y.abs().max() ** 2)  # one cone reaches the boundary
    assert (y[:, 0] >= -1e-10).all() and (det >= -1e-8).all()


def test_exp_barrier_gradients_and_central_path():
    z = torch.tensor([[-1.0, 0.5, 1.5], [-0.3, 0.2, 2.0], [-2.0, 1.0, 3.0]], dtype=f64)
    assert dual_feasible(z).all()
    g, H = dual_grad_hess(z)
    zz = z.clone().requires_grad_(True)
    (ga,) = torch.autograd.grad(dual_barrier(zz).sum(), zz)
    assert torch.allclose(g, ga, atol=1e-13)
    Ha = torch.func.vmap(torch.func.hessian(lambda x: dual_barrier(x[None])[0]))(z)
    assert torch.allclose(H, Ha, atol=1e-12)
    # central path: s = −μ∇f*(z) is primal interior, −μ∇f(s) = z, f(s) + f*(z) = −3 − 3 log μ
    mu = 0.7
    s = -mu * g
    assert primal_feasible(s).all()
    assert torch.allclose(-mu * primal_grad(s), z, atol=1e-10)
    assert torch.allclose(primal_barrier(s) + dual_barrier(z),
                          torch.full((3,), -3 - 3 * np.log(mu), dtype=f64), atol=1e-10)


@pytest.mark.parametrize("dual_only", [False, True])
def test_exp_scaling_maps_z_to_s(dual_only):
    z = torch.tensor([[-1.0, 0.5, 1.5], [-0.3, 0.2, 2.0], [-0.5, -0.2, 1.0]], dtype=f64)
    s = torch.tensor([[-0.5, 0.8, 1.5], [0.1, 1.0, 2.0], [0.3, 1.0, 3.0]], dtype=f64)
    grp = ExponentialGroup(torch.arange(9).reshape(3, 3))
    mu = float((s * z).sum() / 9)
    assert grp.update_scaling(s.T, z.T, mu, dual_only)  # the group works component-first
    Hs, _ = scaling_rows(grp)
    assert (torch.linalg.eigvalsh(Hs) > 0).all()
    if not dual_only:  # primal–dual scaling: H z = s and H z̃ = s̃
        assert torch.allclose(grp.mul_H(z.T).T, s, atol=1e-12)
        Hzt = torch.einsum("kij,kj->ki", Hs, primal_grad(s))
        assert torch.allclose(Hzt, dual_grad_hess(z)[0], atol=1e-12)
    else:
        assert torch.allclose(Hs, mu * dual_grad_hess(z)[1])

def test_exp_backtracking_grid_then_bisection_toward_the_boundary():
    """Cones with interior {α < bᵢ} along the ray: the grid gives the largest α_max·0.8ᵏ below min bᵢ;
    bisection then brackets min bᵢ to (α/0.8 − α)/2ᵏ and steps boundary_fraction of the way."""
    from mlopt.ipm.cones.base import LineSearch
    from mlopt.ipm.cones.exp import backtrack

    bounds = torch.tensor([[0.9, 0.37, 2.0, 0.5]], dtype=torch.float64)  # cone i interior iff α < bᵢ
    x, dx = torch.zeros(1, 4, dtype=torch.float64), torch.ones(1, 4, dtype=torch.float64)
    tested = []

    def interior(pts):
        tested.append(pts.shape[1])
        return pts[0] < bounds[0, : pts.shape[1]] if pts.shape[1] == 4 else pts[0] < 0.37

    grid = backtrack(x, dx, 1.0, LineSearch(0.8, 0, 0.95), 1e-4, interior)
    assert grid == pytest.approx(0.8 ** 5)  # 0.32768 < 0.37 < 0.8⁴
    tested.clear()
    a = backtrack(x, dx, 1.0, LineSearch(0.8, 3, 0.95), 1e-4, interior)
    lo, hi = 0.8 ** 5, 0.8 ** 4
    last = max(lo + j * (hi - lo) / 8 for j in range(8) if lo + j * (hi - lo) / 8 < 0.37)
    assert a == pytest.approx(0.95 * last)
    assert 0.37 - (hi - lo) / 8 < last < 0.37  # within one eighth of the bracket of the boundary
    assert tested[0] == 4 and max(tested[1:]) < 4  # only the failing cones are tested again
    assert backtrack(x, dx, 0.3, LineSearch(0.8, 3, 0.95), 1e-4, interior) == 0.3  # α_max interior: kept
