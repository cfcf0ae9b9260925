"""The composite view of an :class:`~mlopt.objective.Objective` that first-order methods see.

    F(x) = f(x) + g(x),   x = (vec w, b)
    f(x) = λ Σᵢ sᵢ ℓ(yᵢ, xᵢᵀw + b) + ½a₂‖w‖²      (smooth when ℓ is)
    g(x) = a₁ N(w) + ι(w ≥ 0) + ι(lo ≤ w ≤ hi)        (handled by its prox)

plus the result type, the trace and the stopping test shared by all methods.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch

from mlopt.objective import Objective, ScaledHuberObjective

__all__ = ["Result", "Composite", "Clock", "SMOOTH_LOSSES", "armijo_backtracking"]

#: losses with a Lipschitz gradient (the others need ``subgradient`` or ``smoothed``)
SMOOTH_LOSSES = ("squared", "huber", "logistic", "multinomial", "squared_hinge")


@dataclass
class Result:
    """What :func:`mlopt.firstorder.minimize` returns.

    ``trace`` holds one (time [s], iteration, F(x)) row per recorded iterate;
    ``status`` is "optimal" when the method's stopping test (certified relative
    duality gap ≤ tol, else relative gradient-mapping norm ≤ tol) passed, and
    "max_iterations" or "time_limit" otherwise.
    """

    coef: np.ndarray
    intercept: np.ndarray | float
    status: str
    iterations: int
    objective: float
    solve_time: float
    method: str = ""
    trace: list[tuple[float, int, float]] = field(default_factory=list, repr=False)
    gap: float | None = None


class Clock:
    """Wall time since construction, and whether the time limit has passed."""

    def __init__(self, time_limit: float | None):
        self.start = time.perf_counter()
        self.time_limit = time_limit

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def expired(self) -> bool:
        return self.time_limit is not None and self.elapsed() > self.time_limit


class Composite:
    """F = f + g of an objective on ``device``; x is a flat float64 vector.

    ``smoothing`` = μ > 0 replaces a kinked loss by its Nesterov smoothing
    ℓ_μ(z) = max_u {u z − ℓ*(u) − ½μu²} (Huberized hinge / absolute / pinball),
    with ℓ − ½μ·c ≤ ℓ_μ ≤ ℓ for the loss's subgradient bound c.
    """

    def __init__(self, objective: Objective, device="cpu", smoothing: float | None = None):
        if isinstance(objective, ScaledHuberObjective):
            raise ValueError("first-order solvers do not handle HuberRegressor's joint scale σ; "
                             "use solver='clarabel' (or another conic solver)")
        if not isinstance(objective, Objective):
            raise TypeError(f"objective must be a mlopt.objective.Objective, got {type(objective).__name__}")
        self.obj = objective
        self.device = torch.device(device)
        # X dense, or a sparse CSR tensor for scipy-sparse data (never densified); y, s apart from X
        self.X = objective.data_matrix(self.device)
        self.y, self.s = objective.targets(self.device)
        self.shape = objective.coef_shape
        self.n_coef = int(np.prod(self.shape))
        self.n_out = 1 if len(self.shape) == 1 else self.shape[1]
        self.n_icpt = (1 if len(self.shape) == 1 else self.n_out) if objective.fit_intercept else 0
        self.a1, self.a2 = objective.penalty_weights
        self.mu = smoothing
        self.n_evals = 0

    # ------------------------------------------------------------------ layout
    @property
    def size(self) -> int:
        return self.n_coef + self.n_icpt

    @property
    def smooth_loss(self) -> bool:
        return self.obj.loss.name in SMOOTH_LOSSES

    @property
    def has_prox(self) -> bool:
        """Whether g is nonzero (a norm part or constraints)."""
        return bool(self.a1) and self.obj.penalty.name not in ("none", "l2") or self.obj.positive or self.obj.bounds is not None

    def zeros(self) -> torch.Tensor:
        return torch.zeros(self.size, dtype=torch.float64, device=self.device)

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w = x[: self.n_coef].reshape(self.shape)
        if self.n_icpt == 0:
            b = torch.zeros(() if self.n_out == 1 and len(self.shape) == 1 else (self.n_out,), dtype=x.dtype, device=x.device)
        else:
            b = x[self.n_coef:].reshape(() if len(self.shape) == 1 else (self.n_out,))
        return w, b

    # ------------------------------------------------------------------ values
    def _loss(self, z: torch.Tensor, rows=None) -> torch.Tensor:
        y = self.y if rows is None else self.y[rows]
        per = self.obj.loss.value(z, y) if self.mu is None else self._smoothed(z, y)
        if per.ndim > 1:
            per = per.sum(dim=1)
        s = self.s if rows is None or self.s is None else self.s[rows]
        return per.sum() if s is None else (s * per).sum()

    def _smoothed(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Nesterov smoothing: huberize the kink of the piecewise-linear loss (width μ)."""
        mu, name = self.mu, self.obj.loss.name
        if name == "hinge":
            t = 1 - y * z
            return torch.where(t <= 0, torch.zeros_like(t), torch.where(t >= mu, t - 0.5 * mu, t**2 / (2 * mu)))
        r = y - z
        hub = torch.where(r.abs() <= mu, r**2 / (2 * mu), r.abs() - 0.5 * mu)
        if name == "absolute":
            return hub
        if name == "quantile":
            return 0.5 * hub + (self.obj.loss.quantile - 0.5) * r
        return self.obj.loss.value(z, y)

    def f(self, x: torch.Tensor, rows=None, scale: float = 1.0) -> torch.Tensor:
        """Smooth part f(x) (on a mini-batch ``rows``, with the loss sum scaled by ``scale``)."""
        w, b = self.split(x)
        X = self.X if rows is None else self.obj.data_rows(rows, self.device)
        self.n_evals += 1
        loss = self.obj.loss_weight * scale * self._loss(X @ w + b, rows)
        return loss + 0.5 * self.a2 * (w**2).sum() if self.a2 else loss

    def f_grad(self, x: torch.Tensor, rows=None, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """(f(x), ∇f(x)) by autograd."""
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            val = self.f(xg, rows, scale)
            (grad,) = torch.autograd.grad(val, xg)
        return val.detach(), grad

    def weighted_gram(self, c: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """X̃ᵀdiag(c)X̃ over all samples or the boolean mask ``rows``, X̃ = [X 1] with an intercept
        (the Gauss–Newton / Newton block of one output column).  Dense (d+1)×(d+1); a sparse X is
        multiplied sparsely (scipy, on the host) and never densified."""
        if not sp.issparse(self.obj.X):
            X = self.X if rows is None else self.X[rows]
            cc = c if rows is None else c[rows]
            if self.n_icpt:
                X = torch.cat([X, torch.ones(X.shape[0], 1, dtype=X.dtype, device=X.device)], dim=1)
            return X.T @ (cc[:, None] * X)
        keep = slice(None) if rows is None else rows.cpu().numpy()
        M = self.obj.host_csr()[keep]
        cc = c.detach().cpu().numpy()[keep]
        G = (M.T @ sp.diags(cc) @ M).toarray()
        if self.n_icpt:
            col = np.asarray(M.T @ cc).ravel()
            G = np.block([[G, col[:, None]], [col[None, :], np.array([[cc.sum()]])]])
        return torch.as_tensor(G, dtype=torch.float64, device=self.device)

    def g(self, x: torch.Tensor) -> torch.Tensor:
        w, _ = self.split(x)
        if not self.a1 or self.obj.penalty.name in ("none", "l2"):
            return torch.zeros((), dtype=x.dtype, device=x.device)
        return self.a1 * self.obj.penalty.norm_value(w)

    def value(self, x: torch.Tensor) -> float:
        """F(x) with the exact (unsmoothed) loss, as a float."""
        w, b = self.split(x)
        with torch.no_grad():
            return float(self.obj.torch_value(w, b))

    def prox(self, x: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
        """prox_{t g}(x): project onto w ≥ 0, shrink the norm part, clip to bounds."""
        if not self.has_prox:
            return x
        w, b = self.split(x)
        if self.obj.positive:
            w = w.clamp(min=0)
        if self.a1 and self.obj.penalty.name not in ("none", "l2"):
            w = self.obj.penalty.norm_prox(w, t * self.a1)
        if self.obj.bounds is not None:
            lo, hi = self.obj.bounds
            w = w.clamp(min=lo, max=hi)
        return torch.cat([w.reshape(-1), x[self.n_coef:]])

    # ------------------------------------------------------------------ checks
    def require_smooth(self, method: str) -> None:
        if not self.smooth_loss and self.mu is None:
            raise ValueError(f"method={method!r} needs a smooth loss, but {self.obj.loss.name!r} is not differentiable; "
                             "use method='subgradient' or method='smoothed'")

    def require_unconstrained(self, method: str) -> None:
        if self.has_prox:
            raise ValueError(f"method={method!r} handles smooth objectives only (no L1/group penalty, positive or "
                             "bounds); use method='fista' or 'gd' (proximal steps)")

    def lipschitz_guess(self, x: torch.Tensor) -> float:
        """A secant estimate ‖∇f(x + δ) − ∇f(x)‖ / ‖δ‖ of the gradient's Lipschitz constant."""
        gen = torch.Generator(device="cpu").manual_seed(0)
        d = torch.randn(self.size, generator=gen, dtype=x.dtype).to(x.device)
        d = d / d.norm() * 1e-3 * max(1.0, float(x.norm()))
        _, g0 = self.f_grad(x)
        _, g1 = self.f_grad(x + d)
        return max(float((g1 - g0).norm() / d.norm()), 1e-12)

    def result(self, x: torch.Tensor, status: str, iterations: int, clock: Clock, method: str,
               trace: list, gap: float | None = None) -> Result:
        w, b = self.split(x.detach())
        b_out = float(b) if b.ndim == 0 else b.cpu().numpy()
        return Result(coef=w.cpu().numpy().copy(), intercept=b_out, status=status, iterations=iterations,
                      objective=self.value(x), solve_time=clock.elapsed(), method=method, trace=trace, gap=gap)


class Stopper:
    """The stopping test: certified relative duality gap ≤ tol when a certificate exists,
    else ‖x − prox(x − ∇f(x)/L)‖·L ≤ tol·max(1, ‖that at x₀‖); checked every ``every`` iterations."""

    def __init__(self, problem: Composite, tol: float, every: int = 10):
        from mlopt.certificates import certificate  # noqa: F401  (import check)

        self.p, self.tol, self.every = problem, tol, every
        self.gap: float | None = None
        self.use_gap = True
        self.scale: float | None = None
        try:
            self._gap(problem.zeros())
        except ValueError:
            self.use_gap = False

    def _gap(self, x: torch.Tensor) -> float:
        from mlopt.certificates import dual_value

        w, b = self.p.split(x.detach())
        primal = self.p.value(x)
        dual = dual_value(self.p.obj, w, b)
        return (primal - dual) / max(abs(primal), 1e-12)

    def done(self, k: int, x: torch.Tensor, grad_map: float | None = None, force: bool = False) -> bool:
        """Whether iterate x (iteration k) passes the test; ``grad_map`` the gradient-mapping norm."""
        if not force and k % self.every:
            return False
        if self.use_gap:
            if self.p.obj.constraint_violation(self.p.split(x)[0].detach().cpu().numpy()) > 0:
                return False
            self.gap = self._gap(x)
            return self.gap <= self.tol
        if grad_map is None:
            return False
        if self.scale is None:
            self.scale = max(1.0, grad_map)
        return grad_map <= self.tol * self.scale


def armijo_backtracking(f_grad, x: torch.Tensor, fx, direction: torch.Tensor, slope: float,
                        step: float = 1.0, c1: float = 1e-4, max_halvings: int = 60):
    """Halve ``step`` until f(x + step·d) ≤ f(x) + c1·step·slope (+1e-14|f(x)| for round-off).

    ``slope`` = ∇f(x)ᵀd < 0.  Returns (x_new, f_new, g_new, step); after ``max_halvings``
    the last trial point is returned.
    """
    for _ in range(max_halvings):
        x_new = x + step * direction
        f_new, g_new = f_grad(x_new)
        if float(f_new) <= float(fx) + c1 * step * slope + 1e-14 * abs(float(fx)):
            break
        step *= 0.5
    return x_new, f_new, g_new, step
