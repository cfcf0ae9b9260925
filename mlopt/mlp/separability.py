"""Linear separability as an LP feasibility problem, with a Farkas certificate when it fails.

Labels y_i in {-1, +1} are linearly separable iff there are w, b with

    y_i (w . x_i + b) >= 1   for all i            (the perceptron's problem; scale makes 1 = any margin > 0).

Writing a_i = y_i [x_i; 1], this is A z >= 1.  By Farkas' lemma exactly one of
these holds: A z >= 1 is feasible, or there is lambda >= 0 with A^T lambda = 0 and
sum lambda = 1, i.e.

    sum_i lambda_i y_i x_i = 0,   sum_i lambda_i y_i = 0,   lambda >= 0, lambda != 0:

a convex combination of the positives equals a convex combination of the
negatives -- their convex hulls meet, so no hyperplane separates them.  Both
systems are LPs; :func:`check_separability` solves the first and, when it is
infeasible, the second, and verifies the certificate numerically.
"""
from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np

__all__ = ["SeparabilityResult", "check_separability", "perceptron"]


@dataclass
class SeparabilityResult:
    """``separable``; the hyperplane (w, b) if so, else the Farkas multipliers ``certificate``."""

    separable: bool
    w: np.ndarray | None = None
    b: float | None = None
    certificate: np.ndarray | None = None
    residual: float = 0.0  # certificate check: ||A^T lambda||_inf, or max violation of y(w.x + b) >= 1


def _pm_labels(y) -> np.ndarray:
    y = np.asarray(y)
    classes = np.unique(y)
    if len(classes) != 2:
        raise ValueError(f"y must have exactly two classes, found {len(classes)}")
    if set(classes.tolist()) == {-1, 1}:
        return y.astype(np.float64)
    return np.where(y == classes[1], 1.0, -1.0)


def check_separability(X, y, solver: str = "CLARABEL", tol: float = 1e-7) -> SeparabilityResult:
    """Decide linear separability of (X, y) by LP; return the hyperplane or the Farkas certificate."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X must be 2-D with one row per label, got X {X.shape} and {len(y)} labels")
    ypm = _pm_labels(y)
    A = ypm[:, None] * np.column_stack([X, np.ones(len(X))])
    z = cp.Variable(A.shape[1])
    primal = cp.Problem(cp.Minimize(0), [A @ z >= 1])
    primal.solve(solver=solver)
    if primal.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        zv = z.value
        violation = float(np.max(1.0 - A @ zv, initial=0.0))
        return SeparabilityResult(True, w=zv[:-1], b=float(zv[-1]), residual=violation)
    lam = cp.Variable(len(X), nonneg=True)
    alternative = cp.Problem(cp.Minimize(cp.norm(A.T @ lam, "inf")), [cp.sum(lam) == 1])
    alternative.solve(solver=solver)
    lv = np.maximum(lam.value, 0.0)
    lv /= lv.sum()
    residual = float(np.max(np.abs(A.T @ lv)))
    if residual > tol:
        raise RuntimeError(f"primal LP reported {primal.status!r} but no Farkas certificate found (residual {residual:.2e})")
    return SeparabilityResult(False, certificate=lv, residual=residual)


def perceptron(X, y, max_epochs: int = 1000) -> tuple[np.ndarray, float, bool]:
    """Rosenblatt's perceptron: ``(w, b, converged)``; converges iff the data are separable."""
    X = np.asarray(X, dtype=np.float64)
    ypm = _pm_labels(y)
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(max_epochs):
        mistakes = 0
        for xi, yi in zip(X, ypm):
            if yi * (xi @ w + b) <= 0:
                w, b, mistakes = w + yi * xi, b + yi, mistakes + 1
        if mistakes == 0:
            return w, b, True
    return w, b, False
