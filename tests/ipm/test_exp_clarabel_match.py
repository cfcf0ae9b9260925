"""Exponential-cone iterates against Clarabel (same data, equilibration off in both).

With unit initialisation, no equilibration and the same step rules (``linesearch_bisections=0``: the
backtracking grid alone, no bisection toward the boundary), mlopt's IPM and
Clarabel perform the same arithmetic, so the first iterates (returned as x/τ, z/τ after
``max_iter`` iterations) must agree to rounding.  This pins down the step-length rule
for mixed cones (symmetric cones first, cap 1 − √ε, exp-cone backtracking from the
symmetric limit) and the exp-cone dual-scaling fallback with the cone's own μᵢ.
"""
from __future__ import annotations

import clarabel
import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp

import mlopt
from mlopt.ipm import ExponentialCone, NonnegativeCone, ZeroCone, solve


def _conic_data(prob: cp.Problem):
    d = prob.get_problem_data(cp.CLARABEL)[0]
    n = d["c"].size
    P = d.get("P")
    P = sp.csc_matrix((n, n)) if P is None else sp.triu(sp.csc_matrix(P)).tocsc()
    dims = d["dims"]
    assert not dims.soc
    cc, mc = [], []
    if dims.zero:
        cc.append(clarabel.ZeroConeT(dims.zero))
        mc.append(ZeroCone(dims.zero))
    if dims.nonneg:
        cc.append(clarabel.NonnegativeConeT(dims.nonneg))
        mc.append(NonnegativeCone(dims.nonneg))
    cc += [clarabel.ExponentialConeT() for _ in range(dims.exp)]
    mc.append(ExponentialCone(dims.exp))
    return P, d["c"], sp.csc_matrix(d["A"]), d["b"], cc, mc


def _tiny_logistic(seed: int = 0) -> cp.Problem:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((6, 2))
    y = np.sign(X[:, 0] + 0.3 * rng.standard_normal(6))
    w = cp.Variable(2)
    return cp.Problem(cp.Minimize(cp.sum(cp.logistic(-cp.multiply(y, X @ w)))
                                  + 0.5 * cp.sum_squares(w)))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_first_iterates_match_clarabel(seed: int, k: int) -> None:
    P, q, A, b, cc, mc = _conic_data(_tiny_logistic(seed))
    st = clarabel.DefaultSettings()
    st.equilibrate_enable, st.verbose, st.max_iter = False, False, k
    ref = clarabel.DefaultSolver(P, q, A, b, cc, st).solve()
    res = solve(P, q, A, b, mc, equilibrate_enable=False, max_iter=k, linesearch_bisections=0)  # Clarabel's grid
    assert res.iterations == k
    np.testing.assert_allclose(res.x, np.array(ref.x), rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.z, np.array(ref.z), rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.s, np.array(ref.s), rtol=0, atol=1e-9)


def test_tiny_logistic_solves_like_clarabel() -> None:
    prob = _tiny_logistic(0)
    prob.solve(solver=cp.CLARABEL)
    it_ref, v_ref = prob.solver_stats.num_iters, prob.value
    prob.solve(solver=mlopt.IPM(equilibrate_enable=False))
    assert prob.status == cp.OPTIMAL
    assert abs(prob.value - v_ref) <= 1e-7 * max(1.0, abs(v_ref))
    assert prob.solver_stats.num_iters <= 1.5 * it_ref


def test_breast_cancer_logistic_optimal_within_clarabel_budget() -> None:
    from mlopt.datasets import load_dataset

    c = load_dataset("breast_cancer")
    prob = mlopt.LogisticRegression(C=1.0).get_problem(c.X, c.y).problem
    prob.solve(solver=cp.CLARABEL)
    it_ref, v_ref = prob.solver_stats.num_iters, prob.value
    prob.solve(solver=mlopt.IPM())
    assert prob.status == cp.OPTIMAL
    assert abs(prob.value - v_ref) <= 1e-6 * max(1.0, abs(v_ref))
    assert prob.solver_stats.num_iters <= 1.5 * it_ref
