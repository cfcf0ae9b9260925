"""Least squares and logistic regression are convex: every method finds the same optimum.

Least squares        min_w  1/2 ||X w - y||^2                               (closed form X^T X w = X^T y)
Logistic regression  min_w  sum_i log(1 + exp(-y_i x_i . w)) + (lam/2) ||w||^2,  y_i in {-1, +1}

Both objectives are convex (Hessians X^T X and X^T S X + lam I with S = diag(s_i (1 - s_i))
are positive semidefinite), so any stationary point is a global minimum and, with
a positive definite Hessian, the unique one.  The functions below reach it by
closed form, gradient descent, Newton's method, L-BFGS (SciPy) and CVXPY; the
starting point does not matter -- the contrast to :mod:`mlopt.mlp.landscape`.
"""
from __future__ import annotations

import cvxpy as cp
import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

__all__ = ["least_squares_solutions", "logistic_regression_solutions", "logistic_objective"]


def _gradient_descent(grad, w0: np.ndarray, step: float, tol: float, max_iter: int) -> np.ndarray:
    w = w0.copy()
    for _ in range(max_iter):
        g = grad(w)
        if np.linalg.norm(g) <= tol:
            break
        w -= step * g
    return w


def least_squares_solutions(
    X: np.ndarray, y: np.ndarray, solver: str = "CLARABEL", w0: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Minimizers of 1/2 ||Xw - y||^2 by: normal equations, lstsq, GD, Newton, L-BFGS, CVXPY."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    w0 = np.zeros(X.shape[1]) if w0 is None else np.asarray(w0, dtype=np.float64)
    H = X.T @ X
    grad = lambda w: X.T @ (X @ w - y)  # noqa: E731
    out = {
        "normal_equations": np.linalg.solve(H, X.T @ y),
        "lstsq": np.linalg.lstsq(X, y, rcond=None)[0],
        # step 1/L, L = lambda_max(X^T X)
        "gradient_descent": _gradient_descent(grad, w0, 1.0 / np.linalg.eigvalsh(H)[-1], 1e-10, 200_000),
        # one Newton step is exact for a quadratic
        "newton": w0 - np.linalg.solve(H, grad(w0)),
    }
    res = minimize(lambda w: 0.5 * np.sum((X @ w - y) ** 2), w0, jac=grad, method="L-BFGS-B",
                   options={"gtol": 1e-12, "ftol": 1e-16, "maxiter": 10_000})
    out["lbfgs"] = res.x
    w = cp.Variable(X.shape[1])
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(X @ w - y))).solve(solver=solver)
    out["cvxpy"] = np.asarray(w.value)
    return out


def logistic_objective(w: np.ndarray, X: np.ndarray, y: np.ndarray, lam: float) -> float:
    """``sum log(1 + exp(-y X w)) + (lam/2) ||w||^2``."""
    return float(np.sum(np.logaddexp(0.0, -y * (X @ w))) + 0.5 * lam * w @ w)


def logistic_regression_solutions(
    X: np.ndarray, y: np.ndarray, lam: float = 1.0, solver: str = "CLARABEL", w0: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Minimizers of the L2-regularized logistic loss by: GD, Newton, L-BFGS, CVXPY (exponential cones)."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if not set(np.unique(y).tolist()) <= {-1.0, 1.0}:
        raise ValueError("y must take values in {-1, +1} for logistic regression")
    w0 = np.zeros(X.shape[1]) if w0 is None else np.asarray(w0, dtype=np.float64)

    def grad(w):
        return -X.T @ (y * expit(-y * (X @ w))) + lam * w

    def hess(w):
        s = expit(X @ w)
        return X.T @ (X * (s * (1 - s))[:, None]) + lam * np.eye(X.shape[1])

    L = 0.25 * np.linalg.eigvalsh(X.T @ X)[-1] + lam  # gradient Lipschitz constant
    out = {"gradient_descent": _gradient_descent(grad, w0, 1.0 / L, 1e-10, 200_000)}
    w = w0.copy()
    for _ in range(100):  # damped Newton with backtracking
        g = grad(w)
        if np.linalg.norm(g) <= 1e-12:
            break
        step = np.linalg.solve(hess(w), g)
        t, f0 = 1.0, logistic_objective(w, X, y, lam)
        while logistic_objective(w - t * step, X, y, lam) > f0 - 0.25 * t * g @ step and t > 1e-10:
            t *= 0.5
        w = w - t * step
    out["newton"] = w
    res = minimize(lambda w: logistic_objective(w, X, y, lam), w0, jac=grad, method="L-BFGS-B",
                   options={"gtol": 1e-12, "ftol": 1e-16, "maxiter": 10_000})
    out["lbfgs"] = res.x
    v = cp.Variable(X.shape[1])
    obj = cp.sum(cp.logistic(-cp.multiply(y, X @ v))) + 0.5 * lam * cp.sum_squares(v)
    cp.Problem(cp.Minimize(obj)).solve(solver=solver)
    out["cvxpy"] = np.asarray(v.value)
    return out
