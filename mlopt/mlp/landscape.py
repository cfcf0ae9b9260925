"""Nonconvex landscapes: one-dimensional quartics and the permutation symmetry of hidden units.

Quartics
    f1(x) = x^4 - 8 x^2 + 5: f1'(x) = 4x(x^2 - 4), stationary points 0, +-2;
    f1(+-2) = -11 are the global minima, 0 (f1'' = -16) is a local maximum.  The
    minimizer set {-2, 2} is not convex: its midpoint 0 is not a minimizer, which
    cannot happen for a convex function.
    f2(x) = x^4 - 3 x^2 + x: three stationary points; the right one is a local
    minimum that is not global.

Symmetry
    Permuting the hidden units of a two-layer network (rows of W, entries of
    alpha) leaves the function, hence the training objective, unchanged.  If the
    objective were convex, the midpoint of two distinct minimizers would be a
    minimizer too; for networks it usually is not (:func:`objective_along_segment`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from mlopt.mlp.objective import relu_network_objective

__all__ = [
    "Quartic",
    "QUARTIC_SYMMETRIC",
    "QUARTIC_TILTED",
    "gradient_descent_1d",
    "newton_1d",
    "permute_hidden_units",
    "objective_along_segment",
]


@dataclass(frozen=True)
class Quartic:
    """f(x) = a4 x^4 + a2 x^2 + a1 x + a0 with derivatives and stationary points."""

    a4: float
    a2: float
    a1: float
    a0: float

    def __call__(self, x):
        return self.a4 * x**4 + self.a2 * x**2 + self.a1 * x + self.a0

    def grad(self, x):
        return 4 * self.a4 * x**3 + 2 * self.a2 * x + self.a1

    def hess(self, x):
        return 12 * self.a4 * x**2 + 2 * self.a2

    def stationary_points(self) -> np.ndarray:
        """Real roots of f' in increasing order."""
        roots = np.roots([4 * self.a4, 0.0, 2 * self.a2, self.a1])
        return np.sort(roots[np.abs(roots.imag) < 1e-10].real)

    def classify(self, x: float) -> str:
        """'local minimum' / 'local maximum' / 'degenerate' by the sign of f''(x)."""
        h = self.hess(x)
        return "local minimum" if h > 0 else ("local maximum" if h < 0 else "degenerate")


#: x^4 - 8x^2 + 5: minima +-2 (value -11), local maximum 0
QUARTIC_SYMMETRIC = Quartic(1.0, -8.0, 0.0, 5.0)
#: x^4 - 3x^2 + x: global minimum near -1.30, local (not global) minimum near 1.13
QUARTIC_TILTED = Quartic(1.0, -3.0, 1.0, 0.0)


def gradient_descent_1d(
    grad: Callable[[float], float], x0: float, lr: float = 0.01, max_iter: int = 10_000, tol: float = 1e-12
) -> tuple[float, int]:
    """x <- x - lr f'(x) until |f'(x)| <= tol; returns (x, iterations)."""
    x = float(x0)
    for k in range(max_iter):
        g = grad(x)
        if abs(g) <= tol:
            return x, k
        x -= lr * g
    return x, max_iter


def newton_1d(
    grad: Callable[[float], float],
    hess: Callable[[float], float],
    x0: float,
    max_iter: int = 100,
    tol: float = 1e-12,
) -> tuple[float, int]:
    """Pure Newton's method on f' = 0: x <- x - f'(x)/f''(x); finds any stationary point, maxima included."""
    x = float(x0)
    for k in range(max_iter):
        g = grad(x)
        if abs(g) <= tol:
            return x, k
        x -= g / hess(x)
    return x, max_iter


def permute_hidden_units(
    first_layer: np.ndarray, second_layer: np.ndarray, perm: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The same network with hidden units reordered: (W[perm], alpha[perm])."""
    perm = np.asarray(perm)
    if sorted(perm.tolist()) != list(range(len(second_layer))):
        raise ValueError(f"perm must be a permutation of 0..{len(second_layer) - 1}, got {perm!r}")
    return first_layer[perm], second_layer[perm]


def objective_along_segment(
    X: np.ndarray,
    y: np.ndarray,
    theta_a: tuple[np.ndarray, np.ndarray],
    theta_b: tuple[np.ndarray, np.ndarray],
    beta: float,
    n_points: int = 51,
    loss: str = "squared",
) -> tuple[np.ndarray, np.ndarray]:
    """Training objective at (1 - t) theta_a + t theta_b for t on a uniform grid of [0, 1]."""
    ts = np.linspace(0.0, 1.0, n_points)
    values = np.array(
        [
            relu_network_objective(
                X, y, (1 - t) * theta_a[0] + t * theta_b[0], (1 - t) * theta_a[1] + t * theta_b[1], beta, loss
            )
            for t in ts
        ]
    )
    return ts, values
