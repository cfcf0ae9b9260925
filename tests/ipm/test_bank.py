"""Every bank problem: IPM status agrees with Clarabel, objective to 1e-6, KKT / certificates."""
from __future__ import annotations

import cvxpy as cp
import pytest
from checks import check_dual_certificate, check_kkt, check_primal_certificate
from problem_bank import BANK, EXPECTED

from mlopt.ipm import IPM, Status
from mlopt.ipm.cvxpy_interface import dims_to_cones


def solve_both(name, **settings):
    ref = BANK[name]()
    ref.solve(solver=cp.CLARABEL)
    prob = BANK[name]()
    solver = IPM(**settings)
    data, _, _ = prob.get_problem_data(solver=solver)
    prob.solve(solver=solver)
    return ref, prob, data, prob.solver_stats.extra_stats


@pytest.mark.parametrize("kkt", ["qdldl", "dense"])
@pytest.mark.parametrize("name", sorted(BANK))
def test_bank_against_clarabel(name, kkt):
    ref, prob, data, res = solve_both(name, kkt_solver=kkt)
    assert ref.status == EXPECTED[name]
    assert prob.status == ref.status
    assert prob.solver_stats.num_iters == res.iterations > 0
    cones = dims_to_cones(data["dims"])
    P, q, A, b = data.get("P"), data["c"], data["A"], data["b"]
    if ref.status == cp.OPTIMAL:
        assert res.status == Status.SOLVED
        assert abs(prob.value - ref.value) <= 1e-6 * (1 + abs(ref.value))
        check_kkt(P, q, A, b, cones, res.x, res.s, res.z, tol=1e-6)
        for c_ref, c in zip(ref.constraints, prob.constraints):
            assert c.dual_value is not None
    elif ref.status == cp.INFEASIBLE:
        assert res.status == Status.PRIMAL_INFEASIBLE
        check_primal_certificate(A, b, cones, res.certificate)
        assert abs(b @ res.z + 1) < 1e-9
    else:
        assert res.status == Status.DUAL_INFEASIBLE
        check_dual_certificate(P, q, A, cones, res.x, res.s)
        assert abs(q @ res.x + 1) < 1e-9
