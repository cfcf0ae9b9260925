"""Direct API: input types, KKT backends, devices, result fields, statuses and settings."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from checks import check_kkt

from mlopt.ipm import (ExponentialCone, IPMResult, IPMSettings, NonnegativeCone,
                       SecondOrderCone, Status, ZeroCone, solve)

DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device")])]


def small_qp():
    """min ½‖x‖² + qᵀx s.t. x₀+x₁+x₂ = 1, x ≥ 0 — solution is the simplex projection of −q."""
    P = np.eye(3)
    q = np.array([-1.0, 0.2, -0.5])
    A = np.vstack([np.ones((1, 3)), -np.eye(3)])
    b = np.array([1.0, 0, 0, 0])
    return P, q, A, b, [ZeroCone(1), NonnegativeCone(3)]


def simplex_projection(v):
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1
    k = np.nonzero(u - css / np.arange(1, len(v) + 1) > 0)[0][-1]
    return np.maximum(v - css[k] / (k + 1), 0)


#: (backend, device) pairs: every backend on CPU, the torch ones on CUDA (qdldl is a CPU backend)
BACKEND_DEVICES = [("qdldl", "cpu"), ("dense", "cpu"), ("dense_normal", "cpu")] + [
    pytest.param(kkt, "cuda", marks=DEVICES[1].marks, id=f"{kkt}-cuda") for kkt in ("dense", "dense_normal")]


@pytest.mark.parametrize("kkt,device", BACKEND_DEVICES)
@pytest.mark.parametrize("kind", ["numpy", "scipy", "torch"])
def test_qp_input_types_backends_devices(kind, kkt, device):
    P, q, A, b, cones = small_qp()
    conv = {"numpy": lambda M: M, "scipy": sp.csc_matrix, "torch": torch.as_tensor}[kind]
    res = solve(conv(P), torch.as_tensor(q) if kind == "torch" else q, conv(A), b, cones,
                kkt_solver=kkt, device=device)
    assert isinstance(res, IPMResult) and res.status == Status.SOLVED
    assert np.allclose(res.x, simplex_projection(-q), atol=1e-7)
    check_kkt(P, q, A, b, cones, res.x, res.s, res.z, tol=1e-7)
    assert abs(res.primal_objective - res.dual_objective) < 1e-7
    assert res.kkt_solver == kkt and res.device.startswith(device)
    for attr in ("x", "s", "z", "status", "iterations", "primal_objective", "dual_objective",
                 "primal_residual", "dual_residual", "gap", "solve_time"):
        assert hasattr(res, attr)
    assert res.primal_residual < 1e-8 and res.dual_residual < 1e-8 and res.solve_time > 0


@pytest.mark.parametrize("device", DEVICES)
def test_many_cones_batched(device):
    """200 exp cones + SOCs of two sizes: log-sum-exp style problem vs closed form."""
    rng = np.random.default_rng(0)
    k = 200
    c = rng.standard_normal(k)
    # min t s.t. Σ exp(c_i − t) ≤ 1 ⇔ t ≥ logsumexp(c): u_i ≥ exp(c_i − t), Σu ≤ 1
    # variables (t, u_1..u_k); exp cone rows (c_i − t, 1, u_i): s = b − A x
    n = 1 + k
    q = np.zeros(n)
    q[0] = 1.0
    rows, b = [], []
    for i in range(k):
        r = np.zeros((3, n))
        r[0, 0] = 1.0  # s₀ = c_i − t
        r[2, 1 + i] = -1.0  # s₂ = u_i
        rows.append(r)
        b.extend([c[i], 1.0, 0.0])
    A_exp = np.vstack(rows)
    A_lin = np.concatenate([[0.0], np.ones(k)])[None, :]
    A = np.vstack([A_lin, A_exp])
    b = np.concatenate([[1.0], b])
    res = solve(None, q, sp.csc_matrix(A), b, [NonnegativeCone(1), ExponentialCone(k)],
                device=device)
    assert res.status == Status.SOLVED
    assert abs(res.x[0] - np.log(np.exp(c).sum())) < 1e-6 * np.log(np.exp(c).sum())


def test_soc_groups_by_dimension():
    # min Σ t_j s.t. ‖x_j − a_j‖ ≤ t_j for cones of sizes 2, 3, 3, 4 → optimum 0 at x = a
    rng = np.random.default_rng(1)
    sizes = [2, 3, 3, 4]
    n = sum(sizes) + len(sizes)
    blocks, b, q, off = [], [], np.zeros(n), 0
    for j, d in enumerate(sizes):
        a = rng.standard_normal(d - 1)
        r = np.zeros((d, n))
        t_col = sum(sizes) + j
        r[0, t_col] = -1.0
        r[1:, off:off + d - 1] = -np.eye(d - 1)
        b.extend([0.0, *(-a)])
        q[t_col] = 1.0
        off += d - 1
        blocks.append(r)
    A = np.vstack(blocks)
    res = solve(None, q, A, np.array(b), [SecondOrderCone(d) for d in sizes])
    assert res.status == Status.SOLVED and abs(res.primal_objective) < 1e-7


def test_infeasible_and_unbounded_certificates():
    # x ≥ 1 and x ≤ 0
    res = solve(None, np.array([1.0]), np.array([[-1.0], [1.0]]), np.array([-1.0, 0.0]),
                [NonnegativeCone(2)])
    assert res.status == Status.PRIMAL_INFEASIBLE
    z = res.certificate
    assert np.all(z >= -1e-9) and abs(z @ np.array([-1.0, 0.0]) + 1) < 1e-9
    assert abs(np.array([-1.0, 1.0]) @ z) < 1e-7 and np.isnan(res.x).all()
    # min −x s.t. x ≥ 0 (unbounded)
    res = solve(None, np.array([-1.0]), np.array([[-1.0]]), np.array([0.0]), [NonnegativeCone(1)])
    assert res.status == Status.DUAL_INFEASIBLE
    assert res.certificate[0] > 0 and abs(-res.certificate[0] + 1) < 1e-9
    assert np.isnan(res.z).all() and res.primal_objective == -np.inf


def test_max_iterations_and_almost():
    P, q, A, b, cones = small_qp()
    res = solve(P, q, A, b, cones, max_iter=2)
    assert res.status in (Status.MAX_ITERATIONS, Status.ALMOST_SOLVED)
    assert res.iterations == 2


def test_verbose_table(capsys):
    P, q, A, b, cones = small_qp()
    solve(P, q, A, b, cones, verbose=True)
    out = capsys.readouterr().out
    for col in ("iter", "pobj", "dobj", "gap", "pres", "dres", "step", "mu"):
        assert col in out
    assert "status: solved" in out


def test_settings_object_and_tol_alias():
    st = IPMSettings.from_kwargs(tol=1e-10, max_iter=50)
    assert st.tol_feas == 1e-10 and st.tol_gap_rel == 1e-10 and st.max_iter == 50
    P, q, A, b, cones = small_qp()
    res = solve(P, q, A, b, cones, settings=st)
    assert res.status == Status.SOLVED and res.primal_residual < 1e-10


def test_equilibration_off_gives_same_answer():
    P, q, A, b, cones = small_qp()
    r1 = solve(P, q, A, b, cones, equilibrate_enable=False)
    r2 = solve(P, q, A, b, cones)
    assert np.allclose(r1.x, r2.x, atol=1e-7)


def test_upper_triangular_P_is_read_as_symmetric():
    P_full = np.array([[2.0, 1.0], [1.0, 2.0]])
    A, b = -np.eye(2), np.zeros(2)
    q = np.array([-1.0, -1.0])
    r_full = solve(P_full, q, A, b, [NonnegativeCone(2)])
    r_triu = solve(np.triu(P_full), q, A, b, [NonnegativeCone(2)])
    assert np.allclose(r_full.x, r_triu.x, atol=1e-8) and np.allclose(r_full.x, [1 / 3, 1 / 3])


@pytest.mark.parametrize("threads", [1, 2, None])
def test_cpu_threads_setting_is_restored(threads):
    before = torch.get_num_threads()
    res = solve(None, np.array([1.0, 1.0]), -np.eye(2), np.zeros(2), [NonnegativeCone(2)], cpu_threads=threads)
    assert res.status.value == "solved" and abs(res.primal_objective) < 1e-8
    assert torch.get_num_threads() == before
