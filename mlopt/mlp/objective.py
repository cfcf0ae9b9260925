"""The regularized training objective of a two-layer ReLU network.

For data X (n, d), targets y (n,), first layer W (m, d) with rows w_j and
second layer alpha (m,), the network is f(x) = sum_j relu(x . w_j) alpha_j and

    P(W, alpha) = loss(f(X), y) + (beta / 2) (||W||_F^2 + ||alpha||_2^2),

    loss = 1/2 ||f(X) - y||_2^2               (loss="squared")
    loss = sum_i log(1 + exp(-y_i f(x_i)))    (loss="logistic", y_i in {-1, +1}).

The losses are sums over samples (not means).  This one function is what the
gradient-trained networks (:mod:`mlopt.mlp.networks`) minimize and what the
convex reformulation (:mod:`mlopt.mlp.convex`) reports for its recovered network.
"""
from __future__ import annotations

import numpy as np

__all__ = ["LOSSES", "add_bias_column", "relu_network_predict", "relu_network_objective", "loss_value"]

LOSSES = ("squared", "logistic")


def add_bias_column(X: np.ndarray, bias: bool) -> np.ndarray:
    """X with a trailing column of ones when ``bias`` (first-layer biases become ordinary weights)."""
    return np.column_stack([X, np.ones(len(X))]) if bias else X


def loss_value(pred: np.ndarray, y: np.ndarray, loss: str = "squared") -> float:
    """``1/2 ||pred - y||^2`` or ``sum log(1 + exp(-y pred))``."""
    if loss == "squared":
        return 0.5 * float(np.sum((pred - y) ** 2))
    if loss == "logistic":
        return float(np.sum(np.logaddexp(0.0, -y * pred)))
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def relu_network_predict(X: np.ndarray, first_layer: np.ndarray, second_layer: np.ndarray) -> np.ndarray:
    """``f(X) = relu(X W^T) alpha``."""
    return np.maximum(X @ first_layer.T, 0.0) @ second_layer


def relu_network_objective(
    X: np.ndarray,
    y: np.ndarray,
    first_layer: np.ndarray,
    second_layer: np.ndarray,
    beta: float,
    loss: str = "squared",
) -> float:
    """``loss(f(X), y) + (beta/2)(||W||_F^2 + ||alpha||^2)`` for ``f(X) = relu(X W^T) alpha``."""
    pred = relu_network_predict(X, first_layer, second_layer)
    reg = 0.5 * beta * (float(np.sum(first_layer**2)) + float(np.sum(second_layer**2)))
    return loss_value(pred, y, loss) + reg
