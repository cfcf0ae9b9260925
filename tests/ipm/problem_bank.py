"""Shared bank of small conic problems (CVXPY) for solver tests.

Each entry builds a fresh ``cvxpy.Problem``; ``FAMILY`` says which cones it exercises and
``EXPECTED`` the CVXPY status it has (checked against Clarabel in the tests).
"""
from __future__ import annotations

import cvxpy as cp
import numpy as np


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ----------------------------------------------------------------- LPs
def lp_basic():
    r = _rng(1)
    A = r.standard_normal((6, 4))
    x = cp.Variable(4)
    return cp.Problem(cp.Minimize(np.ones(4) @ x), [A @ x <= 1 + r.random(6), x >= -1])


def lp_equality():
    r = _rng(2)
    A = r.standard_normal((3, 6))
    x = cp.Variable(6)
    return cp.Problem(cp.Minimize(r.random(6) @ x), [A @ x == A @ np.ones(6), x >= 0])


def lp_degenerate():
    # duplicated rows and a degenerate optimal vertex
    x = cp.Variable(2)
    cons = [x[0] + x[1] <= 1, x[0] + x[1] <= 1, x[0] <= 1, x[1] <= 1, x >= 0,
            2 * x[0] + 2 * x[1] <= 2]
    return cp.Problem(cp.Maximize(x[0] + x[1]), cons)


def lp_badly_scaled():
    r = _rng(3)
    A = r.standard_normal((5, 3)) * np.array([1e4, 1.0, 1e-3])[None, :]
    x = cp.Variable(3)
    return cp.Problem(cp.Minimize(np.array([1e3, 1.0, 1e-2]) @ x),
                      [A @ x <= 1e2 * np.abs(r.standard_normal(5)) + 1, x >= -np.array([1e-3, 1, 1e3])])


def lp_infeasible():
    x = cp.Variable(3)
    return cp.Problem(cp.Minimize(cp.sum(x)), [x >= 1, cp.sum(x) <= 2])


def lp_unbounded():
    x = cp.Variable(3)
    return cp.Problem(cp.Minimize(x[0] - x[1]), [x >= -1, x[0] <= 5, x[2] == 1])


# ----------------------------------------------------------------- QPs
def qp_basic():
    r = _rng(4)
    M = r.standard_normal((8, 5))
    x = cp.Variable(5)
    return cp.Problem(cp.Minimize(cp.sum_squares(M @ x - r.standard_normal(8)) + np.ones(5) @ x),
                      [x >= -0.5, cp.sum(x) == 0.5])


def qp_degenerate_P():
    # P singular (only two variables penalised)
    x = cp.Variable(4)
    return cp.Problem(cp.Minimize(cp.sum_squares(x[:2]) + x[2] - x[3]),
                      [x[2] >= -1, x[3] <= 2, x[0] + x[1] == 1])


def qp_infeasible():
    x = cp.Variable(2)
    return cp.Problem(cp.Minimize(cp.sum_squares(x)), [x[0] + x[1] >= 3, x <= 1])


def qp_unbounded():
    x = cp.Variable(3)
    return cp.Problem(cp.Minimize(cp.sum_squares(x[:2]) - x[2]), [x[0] >= 0])


# ----------------------------------------------------------------- SOCPs
def socp_basic():
    r = _rng(5)
    M = r.standard_normal((6, 4))
    x = cp.Variable(4)
    return cp.Problem(cp.Minimize(cp.norm(M @ x - r.standard_normal(6))),
                      [cp.norm(x) <= 1, x[0] >= 0.1])


def socp_multi_size():
    r = _rng(6)
    x = cp.Variable(5)
    cons = [cp.norm(x[:2]) <= 1, cp.norm(x[2:]) <= 2, cp.norm(x) <= 1.5,
            cp.norm(r.standard_normal((2, 5)) @ x) <= 1]
    return cp.Problem(cp.Minimize(r.standard_normal(5) @ x), cons)


def socp_badly_scaled():
    r = _rng(7)
    M = r.standard_normal((5, 3)) * 1e3
    x = cp.Variable(3)
    return cp.Problem(cp.Minimize(cp.norm(M @ x - 1e3) + 1e-2 * cp.sum(x)), [cp.norm(x) <= 1e2])


def socp_infeasible():
    x, t = cp.Variable(3), cp.Variable()
    return cp.Problem(cp.Minimize(t), [cp.norm(x) <= t, t <= -1])


def socp_unbounded():
    x, t = cp.Variable(2), cp.Variable()
    return cp.Problem(cp.Minimize(-t + x[0]), [cp.norm(x) <= t, x[1] == 0.5])


# ----------------------------------------------------------------- exponential cone
def exp_entropy():
    r = _rng(8)
    A = r.random((2, 6))
    p = cp.Variable(6)
    return cp.Problem(cp.Maximize(cp.sum(cp.entr(p))), [cp.sum(p) == 1, A @ p <= 0.45])


def exp_logsumexp():
    r = _rng(9)
    M = r.standard_normal((7, 3))
    x = cp.Variable(3)
    return cp.Problem(cp.Minimize(cp.log_sum_exp(M @ x) + 0.1 * cp.sum_squares(x)), [x >= -2])


def exp_logistic():
    r = _rng(10)
    X = r.standard_normal((40, 4))
    y = np.sign(X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.3 * r.standard_normal(40))
    w = cp.Variable(4)
    return cp.Problem(cp.Minimize(cp.sum(cp.logistic(-cp.multiply(y, X @ w))) + 0.5 * cp.norm1(w)))


def exp_geometric():
    # max log-det-like: maximize sum log(x) subject to a budget
    x = cp.Variable(4)
    return cp.Problem(cp.Maximize(cp.sum(cp.log(x))), [np.array([1.0, 2, 3, 4]) @ x <= 10])


def exp_infeasible():
    # exp(x) ≥ 1 on x ≥ 0, so y ≤ 0.5 is impossible; the objective is bounded below
    x, y = cp.Variable(), cp.Variable()
    return cp.Problem(cp.Minimize(y), [cp.exp(x) <= y, x >= 0, y <= 0.5])


def exp_unbounded():
    x, y = cp.Variable(), cp.Variable()
    return cp.Problem(cp.Minimize(x), [cp.exp(x) <= y, y <= 1])


# ----------------------------------------------------------------- mixed cones
def mixed_cones():
    r = _rng(11)
    x = cp.Variable(4)
    obj = cp.sum_squares(x) + cp.log_sum_exp(x) - cp.sum(cp.log(x + 2))
    cons = [cp.norm(x[:3]) <= 2, x >= -1, cp.sum(x) == 0.3, r.standard_normal((2, 4)) @ x <= 1]
    return cp.Problem(cp.Minimize(obj), cons)


def mixed_infeasible():
    x = cp.Variable(3)
    return cp.Problem(cp.Minimize(cp.sum(cp.exp(x))), [cp.norm(x) <= 1, x[0] >= 2])


BANK = {f.__name__: f for f in [
    lp_basic, lp_equality, lp_degenerate, lp_badly_scaled, lp_infeasible, lp_unbounded,
    qp_basic, qp_degenerate_P, qp_infeasible, qp_unbounded,
    socp_basic, socp_multi_size, socp_badly_scaled, socp_infeasible, socp_unbounded,
    exp_entropy, exp_logsumexp, exp_logistic, exp_geometric, exp_infeasible, exp_unbounded,
    mixed_cones, mixed_infeasible,
]}

EXPECTED = {name: ("infeasible" if name.endswith("infeasible") else
                   "unbounded" if name.endswith("unbounded") else "optimal") for name in BANK}
