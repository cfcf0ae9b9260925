"""A single-hidden-unit sigmoid network: no closed form, yet gradient training works.

Model f(x) = a sigma(w . x + b), sigma(t) = 1 / (1 + exp(-t)), loss
L(a, w, b) = 1/2 sum_i (f(x_i) - y_i)^2.  Setting the gradient to zero gives

    sum_i r_i sigma(t_i) = 0,   sum_i r_i a sigma'(t_i) [x_i; 1] = 0,   r_i = f(x_i) - y_i,

equations transcendental in (w, b): unlike least squares there is no linear
system to solve, and L is not convex (a -> -a with w -> -w, b -> -b moves along
non-convex level sets).  Gradient methods still drive L to ~0 on data generated
by such a unit.
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["sigmoid_unit", "make_sigmoid_data", "fit_sigmoid_unit"]


def sigmoid_unit(X: np.ndarray, a: float, w: np.ndarray, b: float) -> np.ndarray:
    """``a sigma(X w + b)``."""
    return a / (1.0 + np.exp(-(X @ w + b)))


def make_sigmoid_data(
    n: int = 100, d: int = 2, noise: float = 0.0, random_state: int | None = 0
) -> tuple[np.ndarray, np.ndarray, tuple[float, np.ndarray, float]]:
    """X ~ N(0, I), y = a sigma(X w + b) + noise; returns (X, y, (a, w, b))."""
    rng = np.random.default_rng(random_state)
    X = rng.standard_normal((n, d))
    a, w, b = 2.0, rng.standard_normal(d), 0.5
    return X, sigmoid_unit(X, a, w, b) + noise * rng.standard_normal(n), (a, w, b)


def fit_sigmoid_unit(
    X: np.ndarray, y: np.ndarray, *, lr: float = 0.05, epochs: int = 500, random_state: int | None = 0
) -> tuple[tuple[float, np.ndarray, float], list[float]]:
    """Adam on the mean squared error, then L-BFGS to polish; returns ((a, w, b), loss history).

    The history holds L = 1/2 sum (f - y)^2 at the start of each Adam epoch and the final value.
    """
    gen = torch.Generator().manual_seed(0 if random_state is None else int(random_state))
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float64))
    yt = torch.as_tensor(np.asarray(y, dtype=np.float64))
    params = torch.randn(Xt.shape[1] + 2, generator=gen, dtype=torch.float64).mul_(0.1).requires_grad_()

    def loss_fn() -> torch.Tensor:
        a, w, b = params[0], params[1:-1], params[-1]
        return 0.5 * torch.sum((a * torch.sigmoid(Xt @ w + b) - yt) ** 2)

    history = []
    opt = torch.optim.Adam([params], lr=lr)
    n = len(yt)
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn()
        history.append(float(loss.detach()))
        (loss / n).backward()
        opt.step()
    lbfgs = torch.optim.LBFGS([params], max_iter=200, tolerance_grad=1e-14, tolerance_change=1e-16,
                              line_search_fn="strong_wolfe")

    def closure():
        lbfgs.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    lbfgs.step(closure)
    with torch.no_grad():
        history.append(float(loss_fn()))
    p = params.detach().numpy()
    return (float(p[0]), p[1:-1].copy(), float(p[-1])), history
