"""Convex reformulation of two-layer ReLU networks (Pilanci & Ergen, ICML 2020).

For data X (n, d) and the activation patterns D_i = diag(1[X u_i >= 0]),
i = 1..P, of :mod:`mlopt.mlp.patterns`, the convex program

    min_{v_i, w_i}  loss(sum_i D_i X (v_i - w_i), y) + beta sum_i (||v_i||_2 + ||w_i||_2)
    s.t.            (2 D_i - I) X v_i >= 0,   (2 D_i - I) X w_i >= 0

has the same optimal value as the nonconvex training problem of
:mod:`mlopt.mlp.objective`,

    min_{W, alpha}  loss(relu(X W^T) alpha, y) + (beta/2)(||W||_F^2 + ||alpha||^2),

when all patterns are present and the width is at least the number of nonzero
v_i, w_i.  (Rescaling w_j -> w_j t, alpha_j -> alpha_j / t leaves the network
unchanged; minimizing (beta/2)(t^2 ||w_j||^2 + alpha_j^2 / t^2) over t gives
beta ||w_j|| |alpha_j|, which is beta ||v|| for v = w_j |alpha_j|.)  The cone
constraints say that D_i X v_i = relu(X v_i), so each nonzero v_i is a ReLU
neuron w = v_i / sqrt(||v_i||), alpha = sqrt(||v_i||) (and alpha = -sqrt(||w_i||)
for w_i), whose weight decay equals beta ||v_i|| exactly.

With sampled (not all) patterns the program is a restriction: its optimum is
the objective of a network, hence an upper bound on the global minimum.
"""
from __future__ import annotations

import time

import cvxpy as cp
import numpy as np
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
from mlopt.mlp.objective import add_bias_column, loss_value, relu_network_objective, relu_network_predict
from mlopt.mlp.patterns import activation_patterns, enumerate_patterns, sample_patterns

__all__ = ["ConvexReLU", "ConvexReLUClassifier", "ConvexGatedReLU", "convex_relu_problem", "prune_neurons"]

_OK = (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)


def convex_relu_problem(
    X: np.ndarray, y: np.ndarray, patterns: np.ndarray, beta: float, loss: str = "squared", gated: bool = False
) -> tuple[cp.Problem, cp.Variable, cp.Variable | None]:
    """The CVXPY problem above (``gated=True``: no cone constraints, one v_i per pattern).

    Returns ``(problem, V, W)`` with V, W of shape (P, d) holding v_i, w_i as rows.
    """
    M = patterns.astype(np.float64)
    V = cp.Variable((M.shape[0], X.shape[1]), name="v")
    reg = cp.sum(cp.norm(V, 2, axis=1))
    constraints = []
    if gated:
        W = None
        pred = cp.sum(cp.multiply(M, V @ X.T), axis=0)
    else:
        W = cp.Variable(V.shape, name="w")
        S = 2.0 * M - 1.0
        XV, XW = V @ X.T, W @ X.T
        pred = cp.sum(cp.multiply(M, XV - XW), axis=0)
        reg = reg + cp.sum(cp.norm(W, 2, axis=1))
        constraints = [cp.multiply(S, XV) >= 0, cp.multiply(S, XW) >= 0]
    if loss == "squared":
        data_fit = 0.5 * cp.sum_squares(pred - y)
    else:
        data_fit = cp.sum(cp.logistic(-cp.multiply(y, pred)))
    return cp.Problem(cp.Minimize(data_fit + beta * reg), constraints), V, W


def _neurons(U: np.ndarray, sign: float, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows u with ||u|| > tol -> (w = u / sqrt||u||, alpha = sign sqrt||u||, index)."""
    norms = np.linalg.norm(U, axis=1)
    idx = np.flatnonzero(norms > tol)
    root = np.sqrt(norms[idx])
    return U[idx] / root[:, None], sign * root, idx


def prune_neurons(
    X: np.ndarray, first_layer: np.ndarray, second_layer: np.ndarray, rtol: float = 1e-10
) -> tuple[np.ndarray, np.ndarray]:
    """Carathéodory pruning: an equivalent network with at most rank(relu(X W^T)) <= n neurons.

    Write the network as ``yhat = sum_j relu(X u_j) c_j`` with unit u_j, so that at
    balanced scale the weight decay is ``beta sum_j |c_j|``.  For a null vector z of
    A = [relu(X u_j)]_j, moving c -> c + t z keeps yhat; at an optimum the
    regularizer has zero slope along z, so stepping until the first c_j reaches zero
    keeps the objective and removes neuron j without changing any other sign.
    """
    norms = np.linalg.norm(first_layer, axis=1)
    keep = norms > 0
    U = first_layer[keep] / norms[keep, None]
    c = second_layer[keep] * norms[keep]
    A = np.maximum(X @ U.T, 0.0)
    if A.shape[1] > 1:
        _, s, Vt = np.linalg.svd(A, full_matrices=True)
        rank = int(np.sum(s > rtol * max(s[0], 1e-300) * max(A.shape)))
        N = Vt[rank:].T.copy()  # (m, k): basis of the null space of A
        alive = np.ones(len(c), dtype=bool)
        for col in range(N.shape[1]):
            z = N[:, col]
            cand = alive & (np.abs(z) > 1e-12 * np.abs(z).max())
            if not cand.any():
                continue
            idx = np.flatnonzero(cand)
            t = -c[idx] / z[idx]
            j = idx[np.argmin(np.abs(t))]
            c = c + t[np.argmin(np.abs(t))] * z
            c[j], alive[j] = 0.0, False
            rest = N[:, col + 1 :]
            rest -= np.outer(z, rest[j] / z[j])
        U, c = U[alive], c[alive]
    root = np.sqrt(np.abs(c))
    return U * root[:, None], np.sign(c) * root


class _ConvexBase(BaseEstimator):
    _loss = "squared"
    _gated = False

    def __init__(
        self,
        beta: float = 1e-3,
        *,
        bias: bool = False,
        patterns: str = "auto",
        n_patterns: int = 1000,
        solver="CLARABEL",
        solver_options: dict | None = None,
        neuron_tol: float = 1e-6,
        prune: bool = True,
        random_state: int | None = None,
    ):
        self.beta = beta
        self.bias = bias
        self.patterns = patterns
        self.n_patterns = n_patterns
        self.solver = solver
        self.solver_options = solver_options
        self.neuron_tol = neuron_tol
        self.prune = prune
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------
    def _check_params(self) -> None:
        self._beta = check_positive("beta", self.beta)
        check_bool("bias", self.bias)
        check_choice("patterns", self.patterns, ("auto", "exact", "sample"))
        check_int("n_patterns", self.n_patterns)
        check_positive("neuron_tol", self.neuron_tol)
        check_bool("prune", self.prune)
        if isinstance(self.solver, str):
            if self.solver.upper() not in cp.installed_solvers():
                raise ValueError(
                    f"solver must be an installed CVXPY solver {cp.installed_solvers()} or a solver object, "
                    f"got {self.solver!r}"
                )
        elif self.solver is None or not hasattr(self.solver, "name"):
            raise TypeError(f"solver must be a CVXPY solver name or a CVXPY solver object, got {self.solver!r}")
        if self.solver_options is not None and not isinstance(self.solver_options, dict):
            raise TypeError(f"solver_options must be a dict or None, got {type(self.solver_options).__name__}")

    def _select_patterns(self, Xa: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        mode = self.patterns
        if mode == "auto":
            mode = "exact" if np.linalg.matrix_rank(Xa) <= 3 else "sample"
        if mode == "exact":
            return (*enumerate_patterns(Xa), True)
        return (*sample_patterns(Xa, self.n_patterns, self.random_state), False)

    def _fit(self, X, y_internal: np.ndarray):
        Xa = add_bias_column(X, self.bias)
        self.n_features_in_ = X.shape[1]
        patterns, gates, self.patterns_exact_ = self._select_patterns(Xa)
        self.patterns_, self.gates_ = patterns, gates
        self.n_patterns_ = len(patterns)
        problem, V, W = convex_relu_problem(Xa, y_internal, patterns, self._beta, self._loss, self._gated)
        solver = self.solver.upper() if isinstance(self.solver, str) else self.solver
        start = time.perf_counter()
        try:
            problem.solve(solver=solver, **(self.solver_options or {}))
        except cp.error.SolverError as exc:
            raise RuntimeError(
                f"convex solve failed with solver={self.solver!r} ({exc}); try a larger beta or another solver"
            ) from exc
        self.solve_time_ = time.perf_counter() - start
        self.status_ = problem.status
        if problem.status not in _OK:
            raise RuntimeError(f"convex solve failed with status {problem.status!r} (solver={self.solver!r})")
        self.convex_optimum_ = float(problem.value)
        self.v_ = np.asarray(V.value)
        self.w_ = None if W is None else np.asarray(W.value)
        scale = max(np.abs(self.v_).max(), 0.0 if W is None else np.abs(self.w_).max(), 1e-300)
        tol = self.neuron_tol * scale
        w_pos, a_pos, i_pos = _neurons(self.v_, 1.0, tol)
        if W is None:
            self.first_layer_, self.second_layer_ = w_pos, a_pos
            self.active_gates_ = gates[i_pos]
        else:
            w_neg, a_neg, _ = _neurons(self.w_, -1.0, tol)
            self.first_layer_ = np.concatenate([w_pos, w_neg])
            self.second_layer_ = np.concatenate([a_pos, a_neg])
            if self.prune:
                self.first_layer_, self.second_layer_ = prune_neurons(Xa, self.first_layer_, self.second_layer_)
        self.n_active_neurons_ = len(self.second_layer_)
        self.objective_ = self._objective(Xa, y_internal)
        return self

    # -- the recovered network --------------------------------------------------------
    def _decision(self, Xa: np.ndarray) -> np.ndarray:
        return relu_network_predict(Xa, self.first_layer_, self.second_layer_)

    def _objective(self, Xa: np.ndarray, y_internal: np.ndarray) -> float:
        return relu_network_objective(Xa, y_internal, self.first_layer_, self.second_layer_, self._beta, self._loss)

    def _transform_X(self, X) -> np.ndarray:
        check_is_fitted(self, "first_layer_")
        X = check_data(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )
        return add_bias_column(X, self.bias)


class ConvexReLU(RegressorMixin, _ConvexBase):
    """Two-layer ReLU regression solved globally as a convex (second-order cone) program.

    Minimizes, with all activation patterns D_i of X (exact for rank(X) <= 3),

        1/2 ||sum_i D_i X (v_i - w_i) - y||^2 + beta sum_i (||v_i|| + ||w_i||)
        s.t. (2 D_i - I) X v_i >= 0, (2 D_i - I) X w_i >= 0,

    whose optimum equals the minimum over ReLU networks of any width of
    ``1/2 ||relu(X W^T) alpha - y||^2 + (beta/2)(||W||_F^2 + ||alpha||^2)``
    -- the objective of :class:`mlopt.mlp.TwoLayerReLU` with the same beta.

    Parameters
    ----------
    beta : float > 0
        Weight decay.
    bias : bool
        Append a column of ones to X (first-layer biases, penalized like weights).
    patterns : {"auto", "exact", "sample"}
        "exact" enumerates every pattern (rank of X, with bias, <= 3); "sample"
        uses the patterns of ``n_patterns`` Gaussian gates (not exact: the optimum
        is then an upper bound on the global one); "auto" is exact when possible.
    n_patterns : int
        Number of random gates drawn when sampling.
    solver : str or CVXPY solver object
        Any CVXPY solver name ("CLARABEL", default) or instance (e.g. ``mlopt.ipm.IPM()``).
    solver_options : dict, optional
        Keyword arguments for ``problem.solve``.
    neuron_tol : float
        v_i with ||v_i|| <= neuron_tol * max|V| count as zero when recovering neurons.
    prune : bool
        Reduce the recovered network to at most n neurons with :func:`prune_neurons`
        (interior-point solutions spread over many patterns; pruning keeps the objective).
    random_state : int, optional
        Seed for pattern sampling.

    Attributes
    ----------
    convex_optimum_ : optimal value of the convex program.
    objective_ : training objective of the recovered network (equals ``convex_optimum_``).
    first_layer_ (m, d[+1]), second_layer_ (m,) : the recovered ReLU network.
    n_active_neurons_ : m, the number of nonzero v_i and w_i.
    patterns_ (P, n), gates_ (P, d[+1]), n_patterns_, patterns_exact_ : the patterns used.
    v_, w_ : the convex solution; status_, solve_time_.
    """

    def fit(self, X, y):
        self._check_params()
        X, y = check_data(X, y, require_y=True)
        return self._fit(X, np.asarray(y, dtype=np.float64))

    def predict(self, X) -> np.ndarray:
        return self._decision(self._transform_X(X))

    def objective(self, X, y) -> float:
        """``1/2 ||f(X) - y||^2 + (beta/2)(||W||_F^2 + ||alpha||^2)`` of the recovered network."""
        X, y = check_data(X, y)
        return self._objective(self._transform_X(X), np.asarray(y, dtype=np.float64))


class ConvexReLUClassifier(ClassifierMixin, _ConvexBase):
    """Binary two-layer ReLU classifier with logistic loss, solved as a convex (exponential-cone) program.

    Same program as :class:`ConvexReLU` with the loss ``sum_i log(1 + exp(-y_i yhat_i))``,
    labels mapped to y_i = -1 (``classes_[0]``) and +1 (``classes_[1]``).  Its optimum
    equals the minimum of ``sum_i log(1 + exp(-y_i f(x_i))) + (beta/2)(||W||_F^2 + ||alpha||^2)``,
    the objective of :class:`mlopt.mlp.TwoLayerReLUClassifier`.  Parameters and
    attributes as in :class:`ConvexReLU`, plus ``classes_``.
    """

    _loss = "logistic"

    def fit(self, X, y):
        self._check_params()
        X, y = check_data(X, y, require_y=True)
        self.classes_, y_pm = binary_labels(y)
        return self._fit(X, y_pm)

    def decision_function(self, X) -> np.ndarray:
        return self._decision(self._transform_X(X))

    def predict(self, X) -> np.ndarray:
        return self.classes_[(self.decision_function(X) > 0).astype(int)]

    def objective(self, X, y) -> float:
        """``sum log(1 + exp(-y f(X))) + (beta/2)(||W||_F^2 + ||alpha||^2)`` of the recovered network."""
        X, y = check_data(X, y)
        y_pm = np.where(y == self.classes_[1], 1.0, -1.0)
        return self._objective(self._transform_X(X), y_pm)


class ConvexGatedReLU(RegressorMixin, _ConvexBase):
    """Gated-ReLU regression: a convex **relaxation** of the ReLU program.

    Drops the cone constraints and keeps one v_i per gate u_i:

        min_v  1/2 ||sum_i D_i X v_i - y||^2 + beta sum_i ||v_i||,   D_i = diag(1[X u_i >= 0]).

    This is exactly the training problem of the gated network
    f(x) = sum_j 1[x . u_j >= 0] (x . w_j) alpha_j with weight decay
    (beta/2)(||W||_F^2 + ||alpha||^2) and the gates fixed.  Every feasible point of
    :class:`ConvexReLU` with the same patterns gives a feasible v_i - w_i here with
    no larger objective, so the optimum is <= the ReLU optimum: a relaxation, and
    its network is not a ReLU network.  Parameters as in :class:`ConvexReLU`;
    attributes add ``active_gates_`` (the gates of the recovered neurons).
    """

    _gated = True

    def fit(self, X, y):
        self._check_params()
        X, y = check_data(X, y, require_y=True)
        return self._fit(X, np.asarray(y, dtype=np.float64))

    def _decision(self, Xa: np.ndarray) -> np.ndarray:
        gates_on = activation_patterns(Xa, self.active_gates_).T  # (n, m)
        return (gates_on * (Xa @ self.first_layer_.T)) @ self.second_layer_

    def _objective(self, Xa: np.ndarray, y_internal: np.ndarray) -> float:
        reg = 0.5 * self._beta * (np.sum(self.first_layer_**2) + np.sum(self.second_layer_**2))
        return loss_value(self._decision(Xa), y_internal, self._loss) + float(reg)

    def predict(self, X) -> np.ndarray:
        return self._decision(self._transform_X(X))

    def objective(self, X, y) -> float:
        """``1/2 ||f(X) - y||^2 + (beta/2)(||W||_F^2 + ||alpha||^2)`` of the recovered gated network."""
        X, y = check_data(X, y)
        return self._objective(self._transform_X(X), np.asarray(y, dtype=np.float64))
