"""Iteration counts of mlopt.ipm.IPM vs Clarabel on ML problems (n = 1000, d = 50).

Not a test: run ``python tests/ipm/iteration_report.py``.  Data are generated with a
fixed seed and known structure (sparse true coefficients, Gaussian features).
Target: IPM iterations ≤ 1.5 × Clarabel's.
"""
from __future__ import annotations

import time

import cvxpy as cp
import numpy as np

from mlopt.ipm import IPM


def make_data(n: int = 1000, d: int = 50, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_true = np.zeros(d)
    w_true[:10] = rng.standard_normal(10)
    y_reg = X @ w_true + 0.5 * rng.standard_normal(n)
    y_cls = np.sign(X @ w_true + 0.5 * rng.standard_normal(n))
    return X, y_reg, y_cls


def problems(X, y_reg, y_cls):
    n, d = X.shape
    w, b = cp.Variable(d), cp.Variable()
    yield "ridge", cp.Problem(cp.Minimize(cp.sum_squares(X @ w - y_reg) / n + 0.1 * cp.sum_squares(w)))
    w, b = cp.Variable(d), cp.Variable()
    yield "lasso", cp.Problem(cp.Minimize(cp.sum_squares(X @ w - y_reg) / (2 * n) + 0.05 * cp.norm1(w)))
    w, b = cp.Variable(d), cp.Variable()
    yield "svm", cp.Problem(cp.Minimize(cp.sum(cp.pos(1 - cp.multiply(y_cls, X @ w + b))) / n
                                        + 0.01 * cp.sum_squares(w)))
    w, b = cp.Variable(d), cp.Variable()
    yield "logistic", cp.Problem(cp.Minimize(
        cp.sum(cp.logistic(-cp.multiply(y_cls, X @ w + b))) / n + 0.01 * cp.sum_squares(w)))


def main() -> None:
    X, y_reg, y_cls = make_data()
    print(f"{'problem':10s} {'clarabel it':>11s} {'ipm it':>7s} {'ratio':>6s} "
          f"{'|Δobj|/|obj|':>12s} {'clarabel s':>10s} {'ipm s':>7s}")
    for name, prob in problems(X, y_reg, y_cls):
        t = time.perf_counter()
        prob.solve(solver=cp.CLARABEL)
        t_ref, it_ref, v_ref = time.perf_counter() - t, prob.solver_stats.num_iters, prob.value
        t = time.perf_counter()
        prob.solve(solver=IPM())
        t_ipm, it_ipm, v_ipm = time.perf_counter() - t, prob.solver_stats.num_iters, prob.value
        print(f"{name:10s} {it_ref:11d} {it_ipm:7d} {it_ipm / max(it_ref, 1):6.2f} "
              f"{abs(v_ipm - v_ref) / max(1, abs(v_ref)):12.1e} {t_ref:10.3f} {t_ipm:7.3f}  "
              f"({prob.status})")


if __name__ == "__main__":
    main()
