"""Two-layer ReLU networks trained by gradient methods in torch (the nonconvex problem).

The network f(x) = sum_j relu(x . w_j) alpha_j, with hidden width m, minimizes

    P(W, alpha) = loss(f(X), y) + (beta/2)(||W||_F^2 + ||alpha||_2^2),

loss = 1/2 ||f(X) - y||^2 (regression) or sum_i log(1 + exp(-y_i f(x_i))) (binary
classification, y_i in {-1, +1}) -- sums over samples, exactly the objective of
:mod:`mlopt.mlp.objective` whose global minimum :mod:`mlopt.mlp.convex` computes.
A mini-batch B gives the unbiased estimate (n/|B|) loss_B + regularizer.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from mlopt.mlp._checks import (
    binary_labels,
    check_bool,
    check_choice,
    check_data,
    check_int,
    check_positive,
)
from mlopt.mlp.objective import add_bias_column, relu_network_objective, relu_network_predict

__all__ = ["TwoLayerReLU", "TwoLayerReLUClassifier", "torch_objective", "DEFAULT_LR"]

#: learning rate used when ``lr=None``
DEFAULT_LR = {"sgd": 1e-3, "adam": 1e-2, "lbfgs": 1.0}


def torch_objective(
    X: torch.Tensor, y: torch.Tensor, W: torch.Tensor, alpha: torch.Tensor, beta: float, loss: str, scale: float = 1.0
) -> torch.Tensor:
    """``scale * loss(relu(X W^T) alpha, y) + (beta/2)(||W||^2 + ||alpha||^2)`` as a torch scalar."""
    pred = torch.relu(X @ W.T) @ alpha
    if loss == "squared":
        data_fit = 0.5 * torch.sum((pred - y) ** 2)
    else:
        data_fit = torch.sum(torch.nn.functional.softplus(-y * pred))
    return scale * data_fit + 0.5 * beta * (torch.sum(W**2) + torch.sum(alpha**2))


class _TwoLayerBase(BaseEstimator):
    _loss = "squared"

    def __init__(
        self,
        width: int = 20,
        beta: float = 1e-3,
        *,
        bias: bool = False,
        optimizer: str = "adam",
        lr: float | None = None,
        epochs: int = 1000,
        batch_size: int | None = None,
        momentum: float = 0.0,
        device: str = "cpu",
        random_state: int | None = None,
    ):
        self.width = width
        self.beta = beta
        self.bias = bias
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.momentum = momentum
        self.device = device
        self.random_state = random_state

    def _check_params(self) -> None:
        check_int("width", self.width)
        self._beta = check_positive("beta", self.beta, allow_zero=True)
        check_bool("bias", self.bias)
        check_choice("optimizer", self.optimizer, ("sgd", "adam", "lbfgs"))
        self._lr = DEFAULT_LR[self.optimizer] if self.lr is None else check_positive("lr", self.lr)
        check_int("epochs", self.epochs)
        check_int("batch_size", self.batch_size, allow_none=True)
        check_positive("momentum", self.momentum, allow_zero=True)
        check_choice("device", self.device, ("cpu", "cuda"))
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device='cuda' was requested but torch.cuda.is_available() is False; use device='cpu'")
        if self.random_state is not None:
            check_int("random_state", self.random_state, minimum=0)

    def _make_optimizer(self, params):
        if self.optimizer == "sgd":
            return torch.optim.SGD(params, lr=self._lr, momentum=self.momentum)
        if self.optimizer == "adam":
            return torch.optim.Adam(params, lr=self._lr)
        return torch.optim.LBFGS(params, lr=self._lr, max_iter=20, line_search_fn="strong_wolfe")

    def _fit(self, X: np.ndarray, y_internal: np.ndarray):
        Xa = add_bias_column(X, self.bias)
        n, d = Xa.shape
        self.n_features_in_ = X.shape[1]
        dev = torch.device(self.device)
        gen = torch.Generator().manual_seed(0 if self.random_state is None else self.random_state)
        if self.random_state is None:
            gen.seed()
        Xt = torch.as_tensor(Xa, dtype=torch.float64, device=dev)
        yt = torch.as_tensor(y_internal, dtype=torch.float64, device=dev)
        W = (torch.randn(self.width, d, generator=gen, dtype=torch.float64) / np.sqrt(d)).to(dev).requires_grad_()
        alpha = (torch.randn(self.width, generator=gen, dtype=torch.float64) / np.sqrt(self.width)).to(dev)
        alpha.requires_grad_()
        opt = self._make_optimizer([W, alpha])
        beta, loss = self._beta, self._loss
        batch = n if (self.batch_size is None or self.optimizer == "lbfgs") else min(self.batch_size, n)

        def full_objective() -> float:
            with torch.no_grad():
                return float(torch_objective(Xt, yt, W, alpha, beta, loss))

        start = time.perf_counter()
        self.history_ = [(0.0, 0, full_objective())]
        for epoch in range(1, self.epochs + 1):
            if self.optimizer == "lbfgs":

                def closure():
                    opt.zero_grad()
                    obj = torch_objective(Xt, yt, W, alpha, beta, loss)
                    obj.backward()
                    return obj

                opt.step(closure)
            else:
                order = torch.randperm(n, generator=gen).to(dev) if batch < n else None
                for lo in range(0, n, batch):
                    idx = order[lo : lo + batch] if order is not None else slice(None)
                    opt.zero_grad()
                    Xb, yb = Xt[idx], yt[idx]
                    obj = torch_objective(Xb, yb, W, alpha, beta, loss, scale=n / Xb.shape[0])
                    obj.backward()
                    opt.step()
            self.history_.append((time.perf_counter() - start, epoch, full_objective()))
        self.first_layer_ = W.detach().cpu().numpy()
        self.second_layer_ = alpha.detach().cpu().numpy()
        self.objective_ = self.history_[-1][2]
        self.n_iter_ = self.epochs
        return self

    def _transform_X(self, X) -> np.ndarray:
        check_is_fitted(self, "first_layer_")
        X = check_data(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )
        return add_bias_column(X, self.bias)

    def _decision(self, X) -> np.ndarray:
        return relu_network_predict(self._transform_X(X), self.first_layer_, self.second_layer_)


class TwoLayerReLU(RegressorMixin, _TwoLayerBase):
    """Two-layer ReLU regression network trained with SGD, Adam or L-BFGS in torch (float64).

    Minimizes (a nonconvex problem)

        1/2 ||relu(X W^T) alpha - y||^2 + (beta/2)(||W||_F^2 + ||alpha||^2),

    the same objective whose global minimum :class:`mlopt.mlp.ConvexReLU` reports.

    Parameters
    ----------
    width : int
        Number of hidden units m.
    beta : float >= 0
        Weight decay.
    bias : bool
        Append a column of ones to X, so w_j's last entry is the hidden unit's bias
        (penalized like the other weights).  No output bias.
    optimizer : {"sgd", "adam", "lbfgs"}
    lr : float, optional
        Step size; None uses ``DEFAULT_LR[optimizer]`` (sgd 1e-3, adam 1e-2, lbfgs 1).
    epochs : int
        Passes over the data (L-BFGS: outer steps of up to 20 iterations, full batch).
    batch_size : int, optional
        Mini-batch size for sgd/adam; None means full batch.
    momentum : float
        SGD momentum.
    device : {"cpu", "cuda"}
    random_state : int, optional
        Seed of the initialization W ~ N(0, 1/d), alpha ~ N(0, 1/m) and of the batches.

    Attributes
    ----------
    first_layer_ (m, d[+1]), second_layer_ (m,) : trained weights W, alpha.
    history_ : list of (seconds, epoch, full training objective), epoch 0 = initialization.
    objective_ : final training objective.
    """

    def fit(self, X, y):
        self._check_params()
        X, y = check_data(X, y, require_y=True)
        return self._fit(X, np.asarray(y, dtype=np.float64))

    def predict(self, X) -> np.ndarray:
        return self._decision(X)

    def objective(self, X, y) -> float:
        """``1/2 ||f(X) - y||^2 + (beta/2)(||W||_F^2 + ||alpha||^2)``."""
        X, y = check_data(X, y)
        Xa = self._transform_X(X)
        return relu_network_objective(Xa, y, self.first_layer_, self.second_layer_, self._beta, "squared")


class TwoLayerReLUClassifier(ClassifierMixin, _TwoLayerBase):
    """Binary two-layer ReLU classifier with logistic loss (labels -> -1 = classes_[0], +1 = classes_[1]).

    Minimizes ``sum_i log(1 + exp(-y_i f(x_i))) + (beta/2)(||W||_F^2 + ||alpha||^2)``, the
    objective of :class:`mlopt.mlp.ConvexReLUClassifier`.  Parameters and attributes as in
    :class:`TwoLayerReLU`, plus ``classes_``.
    """

    _loss = "logistic"

    def fit(self, X, y):
        self._check_params()
        X, y = check_data(X, y, require_y=True)
        self.classes_, y_pm = binary_labels(y)
        return self._fit(X, y_pm)

    def decision_function(self, X) -> np.ndarray:
        return self._decision(X)

    def predict_proba(self, X) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        return self.classes_[(self.decision_function(X) > 0).astype(int)]

    def objective(self, X, y) -> float:
        """``sum log(1 + exp(-y f(X))) + (beta/2)(||W||_F^2 + ||alpha||^2)``."""
        X, y = check_data(X, y)
        y_pm = np.where(y == self.classes_[1], 1.0, -1.0)
        Xa = self._transform_X(X)
        return relu_network_objective(Xa, y_pm, self.first_layer_, self.second_layer_, self._beta, "logistic")
