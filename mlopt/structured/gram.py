"""Gram form of squared-loss linear models (ridge, lasso, elastic net) for n ≫ d.

With Φ = [X, 1] (the 1 only with an intercept), θ = [w; b] and S = diag(c), cᵢ = loss_weight·sᵢ,

    ½ Σᵢ cᵢ (yᵢ − φᵢᵀθ)² = ½ θᵀ(ΦᵀSΦ)θ − (ΦᵀSy)ᵀθ + ½ Σᵢ cᵢyᵢ²,

so one GEMM (ΦᵀSΦ, (d+1)×(d+1)) replaces the n per-sample rows.  The conic program keeps
only the penalty's rows: variables [w | b | t (ℓ₁ part)], P = ΦᵀSΦ + α₂·I_w, q = −ΦᵀSy + α₁·1_t,
and the global rows ±w − t ≤ 0, −w ≤ 0 (``positive``), lo ≤ w ≤ hi (``bounds``).  A problem
with no rows at all (plain ridge / least squares) is one linear system, solved by Cholesky
(least squares on a singular Gram matrix).  ``constant`` = ½Σcᵢyᵢ² restores the objective value.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np
import scipy.sparse as sp
import torch

from mlopt.ipm import NonnegativeCone
from mlopt.objective import Objective
from mlopt.structured.assemble import _penalty_parts, global_rows_of, prepare_data

__all__ = ["GramProblem", "assemble_gram", "gram_applicable", "kernel_ridge_applicable", "solve_kernel_ridge",
           "solve_linear"]

#: largest feature count for which "auto" picks the Gram form (dense (d+1)² Gram matrix)
GRAM_MAX_FEATURES = 4000


@dataclass
class GramProblem:
    """Conic data of the Gram form (rows may be empty), its constant and variable layout."""

    P: np.ndarray  # dense (N, N)
    q: np.ndarray
    A: sp.csc_matrix  # (m, N), m = 0 when there are no penalty/constraint rows
    b: np.ndarray
    cones: list
    constant: float
    n_features: int
    fit_intercept: bool
    coef_shape: Tuple[int, ...]

    @property
    def n_outputs(self) -> int:
        return 1

    def unpack(self, x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        d = self.n_features
        return x[:d].copy(), np.asarray(x[d] if self.fit_intercept else 0.0)


def gram_applicable(objective: Objective) -> bool:
    """Squared loss, one output, d ≤ min(n, GRAM_MAX_FEATURES) and a supported penalty."""
    if not isinstance(objective, Objective) or objective.loss.name != "squared":
        return False
    if np.ndim(objective.y) != 1 or objective.penalty.name not in ("none", "l2", "l1", "elasticnet"):
        return False
    n, d = objective.X.shape
    return d <= min(n, GRAM_MAX_FEATURES)


def loss_gram(objective: Objective) -> Tuple[np.ndarray, np.ndarray, float]:
    """(G, g, const) of the loss alone: G = ΦᵀSΦ (p×p), g = ΦᵀSy, const = ½Σcᵢyᵢ², Φ = [X, 1] (the
    column of ones only with an intercept), S = diag(c), cᵢ = loss_weight·sᵢ."""
    X, y, c = prepare_data(objective)
    d = X.shape[1]
    nb = int(bool(objective.fit_intercept))
    if sp.issparse(X):
        SX = sp.diags(c) @ X
        XtSX = np.asarray((X.T @ SX).todense())
        XtSX = 0.5 * (XtSX + XtSX.T)
        XtSy = np.asarray(X.T @ (c * y)).ravel()
        colsum = np.asarray(SX.sum(axis=0)).ravel()
    else:
        # one symmetric rank-n update BᵀB (BLAS syrk: numpy detects the transposed operand)
        B = X if np.all(c == c[0]) else X * np.sqrt(c)[:, None]
        XtSX = B.T @ B
        if B is X:
            XtSX *= c[0]
        XtSy = X.T @ (c * y)
        colsum = c @ X
    if not nb:
        return np.ascontiguousarray(XtSX), XtSy, 0.5 * float(c @ (y * y))
    G = np.empty((d + 1, d + 1))
    G[:d, :d] = XtSX
    G[:d, d] = G[d, :d] = colsum
    G[d, d] = c.sum()
    g = np.empty(d + 1)
    g[:d] = XtSy
    g[d] = float(c @ y)
    return G, g, 0.5 * float(c @ (y * y))


def assemble_gram(objective: Objective) -> GramProblem:
    """Build the Gram-form program of a squared-loss ``objective`` (see the module docstring)."""
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be a mlopt.objective.Objective, got {type(objective).__name__}")
    if objective.loss.name != "squared":
        raise ValueError(f"objective: the Gram form needs the squared loss, got {objective.loss.name!r}; "
                         "use mlopt.structured.assemble for other losses")
    G, g, constant = loss_gram(objective)
    a1, a2 = _penalty_parts(objective)
    d = objective.n_features
    nb = int(bool(objective.fit_intercept))
    nt = d if a1 > 0 else 0
    N = d + nb + nt
    P = np.zeros((N, N))
    P[:d + nb, :d + nb] = G
    P[:d, :d][np.diag_indices(d)] += a2
    q = np.zeros(N)
    q[:d + nb] = -g
    if nt:
        q[d + nb:] = a1
    gr, gc, gv, gb = global_rows_of(objective, d, d + nb if nt else 0)
    A = sp.csc_matrix((gv, (gr, gc)), shape=(gb.size, N))
    cones = [NonnegativeCone(gb.size)] if gb.size else []
    return GramProblem(P=P, q=q, A=A, b=gb, cones=cones, constant=constant, n_features=d,
                       fit_intercept=bool(nb), coef_shape=objective.coef_shape)


def solve_linear(P: np.ndarray, q: np.ndarray, device: str = "cpu") -> Tuple[np.ndarray, float]:
    """Minimize ½θᵀPθ + qᵀθ (P ⪰ 0) by Cholesky of P; minimum-norm least squares if P is singular.

    Returns (θ, relative residual ‖Pθ + q‖∞ / max(1, ‖q‖∞)).
    """
    dev = torch.device(device)
    Pt = torch.as_tensor(P, dtype=torch.float64, device=dev)
    qt = torch.as_tensor(q, dtype=torch.float64, device=dev)
    L, info = torch.linalg.cholesky_ex(Pt)
    scale = max(float(Pt.diagonal().abs().max()), 1e-300) if Pt.numel() else 1.0
    # treat P as singular when a pivot is below 1e-12 of its largest diagonal entry
    if int(info) == 0 and float(L.diagonal().min()) ** 2 > 1e-12 * scale:
        theta = torch.cholesky_solve(-qt[:, None], L)[:, 0]
    else:
        sol = np.linalg.lstsq(P, -q, rcond=1e-12)[0]  # minimum-norm minimizer
        theta = torch.as_tensor(sol, dtype=torch.float64, device=dev)
    res = float((Pt @ theta + qt).abs().max()) / max(1.0, float(qt.abs().max()))
    return theta.cpu().numpy(), res


def kernel_ridge_applicable(objective: Objective) -> bool:
    """Plain ridge (squared loss, ℓ₂ penalty with α > 0, no constraints, one output) with d > n."""
    if not isinstance(objective, Objective) or objective.loss.name != "squared" or np.ndim(objective.y) != 1:
        return False
    if objective.positive or objective.bounds is not None or objective.penalty.name not in ("l2", "elasticnet"):
        return False
    a1, a2 = objective.penalty_weights
    n, d = objective.X.shape
    return a1 == 0 and a2 > 0 and d > n


def solve_kernel_ridge(objective: Objective, device: str = "cpu") -> Tuple[np.ndarray, np.ndarray, float]:
    """Ridge with d > n in its n×n (kernel) form.

    The intercept is eliminated by weighted centring (b = ȳ − x̄ᵀw, means weighted by cᵢ), then
    (XcᵀSXc + α₂I) w = XcᵀS yc is solved by the push-through identity
    w = XcᵀS^{1/2}(S^{1/2}XcXcᵀS^{1/2} + α₂I)⁻¹S^{1/2}yc: one n×n Cholesky instead of d×d.
    Returns (coef, intercept, relative residual of the normal equations).
    """
    X, y, c = prepare_data(objective)
    a2 = objective.penalty_weights[1]
    X = X.toarray() if sp.issparse(X) else X
    if objective.fit_intercept:
        xbar, ybar = (c @ X) / c.sum(), float(c @ y) / c.sum()
        Xc, yc = X - xbar, y - ybar
    else:
        xbar, ybar, Xc, yc = np.zeros(X.shape[1]), 0.0, X, y
    dev = torch.device(device)
    r = torch.as_tensor(np.sqrt(c), dtype=torch.float64, device=dev)
    Xt = torch.as_tensor(Xc, dtype=torch.float64, device=dev)
    B = r[:, None] * Xt
    K = B @ B.T
    K.diagonal().add_(a2)
    L = torch.linalg.cholesky(K)
    u = torch.cholesky_solve((r * torch.as_tensor(yc, dtype=torch.float64, device=dev))[:, None], L)[:, 0]
    w = B.T @ u
    # residual of the d-dimensional normal equations, without forming XᵀSX
    rhs = B.T @ (r * torch.as_tensor(yc, dtype=torch.float64, device=dev))
    res = float((B.T @ (B @ w) + a2 * w - rhs).abs().max()) / max(1.0, float(rhs.abs().max()))
    coef = w.cpu().numpy()
    return coef, np.asarray(ybar - float(xbar @ coef)), res
