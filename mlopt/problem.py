"""Turn an :class:`~mlopt.objective.Objective` into a DPP ``cvxpy.Problem``.

    minimize   λ·Σᵢ sᵢ ℓ(yᵢ, xᵢᵀw + b) + α₁·N(w) + α₂·½‖w‖²
    subject to w ≥ 0 (optional),  lo ≤ w ≤ hi (optional)

λ, α₁ = α·c₁ and α₂ = α·c₂ are nonnegative ``cvxpy.Parameter``s, so refitting with
new hyperparameters reuses CVXPY's canonicalization (the problem is DPP).
:meth:`ConvexProblem.conic_form` summarizes the cone program CVXPY hands a solver.
"""
from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from mlopt.objective import Objective, ScaledHuberObjective

__all__ = ["ConvexProblem", "ConicForm", "build_problem"]


@dataclass
class ConicForm:
    """Size of the conic program ``minimize cᵀx (+½xᵀPx) s.t. Ax + s = b, s ∈ K``."""

    solver: str
    n_variables: int
    n_constraints: int
    nnz_A: int
    has_quadratic_objective: bool
    cones: dict[str, list[int]]

    def __str__(self) -> str:
        lines = [
            f"conic form for {self.solver}: {self.n_variables} variables, "
            f"{self.n_constraints} constraint rows, nnz(A) = {self.nnz_A}"
            + (", quadratic objective" if self.has_quadratic_objective else ""),
        ]
        for cone, sizes in self.cones.items():
            if sizes:
                uniq = sorted(set(sizes))
                desc = ", ".join(f"{sizes.count(k)}×dim {k}" for k in uniq)
                lines.append(f"  {cone:<14} {len(sizes)} cone(s): {desc}")
        return "\n".join(lines)


class ConvexProblem:
    """A CVXPY problem for an :class:`Objective`, with its variables and parameters.

    Attributes: ``problem`` (the ``cvxpy.Problem``), ``coef`` and ``intercept``
    (``cvxpy.Variable``), ``scale`` (σ for the scaled Huber objective, else None),
    ``parameters`` (name → ``cvxpy.Parameter``: ``loss_weight``, ``alpha_norm``,
    ``alpha_l2``).
    """

    def __init__(self, objective: Objective):
        self.objective = objective
        X, y, sw = objective.X, objective.y, objective.sample_weight
        shape = objective.coef_shape
        self.coef = cp.Variable(shape, name="coef")
        n_out = 1 if len(shape) == 1 else shape[1]
        self.intercept = cp.Variable(() if len(shape) == 1 else (n_out,), name="intercept")
        lam, a1, a2 = self._parameters()
        z = X @ self.coef
        if objective.fit_intercept:
            z = z + (self.intercept if len(shape) == 1 else np.ones((X.shape[0], 1)) @ cp.reshape(self.intercept, (1, n_out), order="C"))
        self.scale = None
        if isinstance(objective, ScaledHuberObjective):
            data_term = self._scaled_huber(y - z, objective.epsilon, sw)
        else:
            data_term = objective.loss.cvxpy(z, y, sw)
        terms = [lam * data_term]
        norm = objective.penalty.norm_cvxpy(self.coef)
        if norm is not None:
            terms.append(a1 * norm)
        # keep ½‖w‖² whenever the penalty family has one, whatever l1_ratio is now
        has_ridge_part = objective.penalty.weights(0.5)[1] != 0
        if isinstance(objective, ScaledHuberObjective) or has_ridge_part:
            terms.append(a2 * (0.5 * cp.sum_squares(self.coef)))
        constraints = []
        if objective.positive:
            constraints.append(self.coef >= 0)
        if objective.bounds is not None:
            lo, hi = objective.bounds
            if np.isfinite(lo):
                constraints.append(self.coef >= lo)
            if np.isfinite(hi):
                constraints.append(self.coef <= hi)
        self.problem = cp.Problem(cp.Minimize(cp.sum(cp.hstack(terms)) if len(terms) > 1 else terms[0]), constraints)
        self.set_hyperparameters()

    # ------------------------------------------------------------------ parts
    def _parameters(self) -> tuple[cp.Parameter, cp.Parameter, cp.Parameter]:
        self.parameters = {
            "loss_weight": cp.Parameter(nonneg=True, name="loss_weight"),
            "alpha_norm": cp.Parameter(nonneg=True, name="alpha_norm"),
            "alpha_l2": cp.Parameter(nonneg=True, name="alpha_l2"),
        }
        p = self.parameters
        return p["loss_weight"], p["alpha_norm"], p["alpha_l2"]

    def _scaled_huber(self, r, epsilon: float, sw) -> cp.Expression:
        """Σᵢ sᵢ(σ + σH_ε(rᵢ/σ)) = Σ sᵢσ + min_{r=u+v} ‖√s∘u‖²/σ + 2ε Σ sᵢ|vᵢ|."""
        n = self.objective.n_samples
        s = np.ones(n) if sw is None else np.asarray(sw, dtype=float)
        self.scale = cp.Variable(name="scale")
        u = cp.Variable(n, name="huber_quadratic_part")
        self._huber_split = u
        v = r - u
        return (
            float(s.sum()) * self.scale
            + cp.quad_over_lin(cp.multiply(np.sqrt(s), u), self.scale)
            + 2 * epsilon * cp.sum(cp.multiply(s, cp.abs(v)))
        )

    # ------------------------------------------------------------------ API
    def set_hyperparameters(self, **overrides) -> None:
        """Copy the objective's λ, α and l1_ratio (or ``overrides``) into the parameters."""
        obj = self.objective
        for key in ("alpha", "loss_weight", "l1_ratio"):
            if key in overrides:
                setattr(obj, key, float(overrides.pop(key)))
        if overrides:
            raise TypeError(f"unknown hyperparameters {sorted(overrides)}; use alpha, loss_weight or l1_ratio")
        a1, a2 = obj.penalty_weights
        if isinstance(obj, ScaledHuberObjective):
            a1, a2 = 0.0, 2.0 * obj.alpha  # α‖w‖² = 2α·½‖w‖²
        self.parameters["loss_weight"].value = obj.loss_weight
        self.parameters["alpha_norm"].value = a1
        self.parameters["alpha_l2"].value = a2

    def conic_form(self, solver: str = "CLARABEL") -> ConicForm:
        """Summary of the cone program that CVXPY builds for ``solver``."""
        data, _, _ = self.problem.get_problem_data(solver)
        return conic_form_of(data, solver)


def conic_form_of(data: dict, solver: str) -> ConicForm:
    """ConicForm from the data dict of ``Problem.get_problem_data``."""
    dims = data["dims"]
    A = data.get("A")
    G = data.get("G")
    n_rows = sum(M.shape[0] for M in (A, G) if M is not None)
    nnz = sum(M.nnz for M in (A, G) if M is not None)
    cones = {
        "zero": [dims.zero] if dims.zero else [],
        "nonnegative": [dims.nonneg] if dims.nonneg else [],
        "second-order": list(dims.soc),
        "exponential": [3] * dims.exp,
        "psd": list(dims.psd),
        "power": [3] * len(getattr(dims, "p3d", [])),
    }
    P = data.get("P")
    return ConicForm(
        solver=str(solver),
        n_variables=len(data["c"]),
        n_constraints=n_rows,
        nnz_A=int(nnz),
        has_quadratic_objective=P is not None and P.nnz > 0,
        cones=cones,
    )


def build_problem(objective: Objective) -> ConvexProblem:
    """The :class:`ConvexProblem` (a DPP ``cvxpy.Problem``) minimizing ``objective``."""
    return ConvexProblem(objective)
