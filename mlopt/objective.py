"""The objective every mlopt linear model minimizes, bound to its data.

    f(w, b) = λ · Σᵢ sᵢ ℓ(yᵢ, xᵢᵀw + b) + α · R(w)

with ℓ a :class:`~mlopt.losses.Loss`, R = c₁·N + c₂·½‖w‖² a
:class:`~mlopt.penalties.Penalty`, λ = ``loss_weight``, α = ``alpha``, sᵢ the sample
weights and b an unpenalized intercept.  Optional constraints: w ≥ 0 (``positive``)
and lo ≤ w ≤ hi (``bounds``).  Targets are stored encoded: real values for
regression, ±1 for binary losses (one column per output), one-hot for multinomial.

The same object is what every solver sees: the CVXPY builder (:mod:`mlopt.problem`),
mlopt's interior-point solver, the first-order solvers and the certificates.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch

from mlopt.ipm.upload import to_device
from mlopt.losses import Loss
from mlopt.penalties import Penalty

__all__ = ["Objective", "ScaledHuberObjective"]


def _as_tensor(a, dtype=torch.float64, device="cpu") -> torch.Tensor:
    # a normal tensor even inside torch.inference_mode (the IPM's): the objective caches its data
    # tensors, and an inference tensor could not be used by autograd later (first-order methods)
    with torch.inference_mode(False):
        return _make_tensor(a, dtype, device)


def _make_tensor(a, dtype, device) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a.to(dtype=dtype, device=device)
    if sp.issparse(a):
        a = a.toarray()
    a = np.asarray(a, dtype=np.float64)
    if dtype == torch.float64 and torch.device(device).type == "cpu" and a.flags.c_contiguous and a.flags.writeable:
        return torch.from_numpy(a)  # no copy: the tensor is only read (cached X, y, s)
    if dtype == torch.float64 and a.ndim == 2 and torch.device(device).type == "cuda":
        return to_device(a, device)  # a large X through pinned staging buffers (mlopt.ipm.upload), any layout
    return torch.tensor(a, dtype=dtype, device=device)


@dataclass
class Objective:
    """f(w, b) = loss_weight·Σᵢ sᵢ ℓ(yᵢ, xᵢᵀw + b) + alpha·R(w); see the module docstring."""

    X: np.ndarray | sp.spmatrix
    y: np.ndarray
    loss: Loss
    penalty: Penalty
    alpha: float = 1.0
    loss_weight: float = 1.0
    l1_ratio: float = 0.5
    sample_weight: np.ndarray | None = None
    fit_intercept: bool = True
    positive: bool = False
    bounds: tuple[float, float] | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ shapes
    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_outputs(self) -> int:
        """1 for a single output, K for multinomial or one-vs-rest targets."""
        return 1 if np.ndim(self.y) == 1 else self.y.shape[1]

    @property
    def coef_shape(self) -> tuple[int, ...]:
        return (self.n_features,) if self.n_outputs == 1 and np.ndim(self.y) == 1 else (self.n_features, self.n_outputs)

    @property
    def penalty_weights(self) -> tuple[float, float]:
        """(α·c₁, α·c₂): weights of the norm part N(w) and of ½‖w‖²."""
        c1, c2 = self.penalty.weights(self.l1_ratio)
        return self.alpha * c1, self.alpha * c2

    @property
    def pure_ridge(self) -> bool:
        """The penalty is α₂·½‖w‖² alone with α₂ > 0 (no norm part) and w is unconstrained (no ``positive`` /
        ``bounds``): the objective is then smooth in w wherever the loss is, and strongly convex in w."""
        l1, l2 = self.penalty_weights
        return l1 == 0 and l2 > 0 and not self.positive and self.bounds is None

    # ------------------------------------------------------------------ values
    def tensors(self, device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(X, y, s) as float64 tensors on ``device`` (cached per device)."""
        key = str(device)
        if key not in self._cache:
            self._cache[key] = (_as_tensor(self.X, device=device), *self.targets(device))
        return self._cache[key]

    def targets(self, device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor | None]:
        """(y, s) as float64 tensors on ``device``, without touching X (cached per device)."""
        key = f"{device}:targets"
        if key not in self._cache:
            s = None if self.sample_weight is None else _as_tensor(self.sample_weight, device=device)
            self._cache[key] = (_as_tensor(self.y, device=device), s)
        return self._cache[key]

    def data_matrix(self, device: str | torch.device = "cpu") -> torch.Tensor:
        """X on ``device`` for the products X w and Xᵀθ (write ``X.t() @ θ``): the dense tensor of
        :meth:`tensors`, or for a scipy-sparse X a sparse CSR tensor — never a dense copy of it
        (autograd differentiates X w in w either way)."""
        if not sp.issparse(self.X):
            return self.tensors(device)[0]
        key = f"{device}:csr"
        if key not in self._cache:
            from mlopt.ipm.problem import sparse_to_torch

            with torch.inference_mode(False):  # (see _as_tensor)
                self._cache[key] = sparse_to_torch(self.X, torch.device(device))
        return self._cache[key]

    def data_rows(self, rows: torch.Tensor | np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
        """The rows ``rows`` of X (a mini-batch) on ``device``, dense or sparse CSR as :meth:`data_matrix`."""
        if not sp.issparse(self.X):
            return self.data_matrix(device)[torch.as_tensor(rows, device=device)]
        from mlopt.ipm.problem import sparse_to_torch

        idx = rows.cpu().numpy() if isinstance(rows, torch.Tensor) else np.asarray(rows)
        return sparse_to_torch(self.host_csr()[idx], torch.device(device))

    def host_csr(self) -> sp.csr_matrix:
        """A scipy-sparse X as CSR (cached: COO or CSC input is converted once), for row selections
        and sparse products on the host."""
        if "host:csr" not in self._cache:
            self._cache["host:csr"] = sp.csr_matrix(self.X)
        return self._cache["host:csr"]

    def dense_block(self, rows=None, cols=None) -> np.ndarray:
        """X[rows][:, cols] as a dense numpy array (rows, cols: boolean masks, indices or None = all):
        the small submatrices some computations need, without densifying a sparse X as a whole."""
        X = self.host_csr() if sp.issparse(self.X) else self.X
        M = X if rows is None else X[np.asarray(rows)]
        M = M if cols is None else M[:, np.asarray(cols)]
        return M.toarray() if sp.issparse(M) else np.asarray(M, dtype=np.float64)

    def loss_term(self, coef: torch.Tensor, intercept: torch.Tensor) -> torch.Tensor:
        """loss_weight · Σᵢ sᵢ ℓ(yᵢ, xᵢᵀw + b), differentiable in (coef, intercept)."""
        y, s = self.targets(coef.device)
        z = self.data_matrix(coef.device) @ coef + intercept
        elementwise = self.loss.value(z, y)
        if elementwise.ndim > 1:
            elementwise = elementwise.sum(dim=1)
        total = elementwise.sum() if s is None else (s * elementwise).sum()
        return self.loss_weight * total

    def penalty_term(self, coef: torch.Tensor) -> torch.Tensor:
        """alpha · R(w)."""
        return self.alpha * self.penalty.value(coef, self.l1_ratio)

    def torch_value(self, coef: torch.Tensor, intercept: torch.Tensor) -> torch.Tensor:
        """f(w, b) as a differentiable 0-d tensor (constraints are not checked here)."""
        return self.loss_term(coef, intercept) + self.penalty_term(coef)

    def value(self, coef, intercept=0.0) -> float:
        """f(w, b) as a float; ``coef`` of shape ``coef_shape``."""
        c = _as_tensor(coef).reshape(self.coef_shape)
        b = _as_tensor(intercept)
        with torch.no_grad():
            return float(self.torch_value(c, b))

    def constraint_violation(self, coef) -> float:
        """Largest violation of w ≥ 0 / lo ≤ w ≤ hi (0 when feasible or unconstrained)."""
        w = np.asarray(coef, dtype=float)
        worst = 0.0
        if self.positive:
            worst = max(worst, float(np.max(-w, initial=0.0)))
        if self.bounds is not None:
            lo, hi = self.bounds
            worst = max(worst, float(np.max(lo - w, initial=0.0)), float(np.max(w - hi, initial=0.0)))
        return worst


@dataclass
class ScaledHuberObjective(Objective):
    """scikit-learn's HuberRegressor objective, jointly in (w, b, σ > 0):

        f(w, b, σ) = Σᵢ sᵢ (σ + σ·H_ε(rᵢ/σ)) + α‖w‖²,   rᵢ = yᵢ − xᵢᵀw − b,

    with H_ε(t) = t² for |t| ≤ ε and 2ε|t| − ε² otherwise.  σ·H_ε(r/σ) is the
    perspective of H_ε, so f is jointly convex; it equals min over r = u + v of
    u²/σ + 2ε|v| (a rotated second-order cone plus an LP).
    """

    epsilon: float = 1.35

    def scaled_value(self, coef, intercept, scale) -> float:
        """f(w, b, σ) as a float."""
        y, s = self.targets("cpu")
        w = _as_tensor(coef).reshape(self.coef_shape)
        r = y - self.data_matrix("cpu") @ w - float(intercept)
        sigma = float(scale)
        a = r.abs() / sigma
        h = torch.where(a <= self.epsilon, a**2, 2 * self.epsilon * a - self.epsilon**2)
        per = sigma + sigma * h
        total = per.sum() if s is None else (s * per).sum()
        return float(total + self.alpha * (w**2).sum())
