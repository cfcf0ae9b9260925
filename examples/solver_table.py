"""Shared helper of the model examples: fit one mlopt model with Clarabel, ECOS and SCS,
compare each fit with a scikit-learn reference, and print one small table.

Each row: solver, status it reached, objective value, max |coef − sklearn coef|
(intercept included), the certified duality gap of the cone program, iterations and
wall time.  The scikit-learn row shows its coefficients evaluated on mlopt's objective.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.exceptions import ConvergenceWarning

#: solver → options.  Clarabel and ECOS (interior point) run with their defaults;
#: SCS (first-order ADMM) needs tight tolerances to match to ~1e-6.
SOLVERS: dict[str, dict | None] = {
    "clarabel": None,
    "ecos": None,
    "scs": {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 100_000},
}


@dataclass
class Row:
    solver: str
    status: str
    objective: float
    coef_error: float
    duality_gap: float | None
    iterations: int | None
    seconds: float


def flat(coef, intercept) -> np.ndarray:
    """Coefficients and intercept(s) in one vector (for max-abs differences)."""
    return np.concatenate([np.ravel(coef), np.ravel(intercept)])


def fit_solvers(make: Callable[[str, dict | None], object], X, y, reference: np.ndarray) -> list[Row]:
    """Fit ``make(solver, options)`` on (X, y) with every solver in ``SOLVERS``.

    ``reference`` is ``flat(sk.coef_, sk.intercept_)``.  A ConvergenceWarning (an
    'optimal_inaccurate' solve) is recorded in the status column, not raised.
    """
    rows = []
    for solver, options in SOLVERS.items():
        est = make(solver, options)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)  # CVXPY's "solution may be inaccurate"
            est.fit(X, y)
        seconds = time.perf_counter() - start
        info = est.solution_
        err = float(np.max(np.abs(flat(est.coef_, est.intercept_) - reference)))
        rows.append(Row(solver, info.status, info.objective, err, info.duality_gap, info.iterations, seconds))
    return rows


def print_table(title: str, rows: list[Row], sklearn_objective: float, sklearn_seconds: float) -> None:
    """Print the rows and a scikit-learn reference row."""
    print(f"\n{title}")
    print(f"  {'solver':<9} {'status':<19} {'objective':>17} {'max|Δcoef|':>11} {'gap':>9} {'iters':>6} {'time [s]':>9}")
    for r in rows:
        gap = "-" if r.duality_gap is None else f"{r.duality_gap:.1e}"
        it = "-" if r.iterations is None else str(r.iterations)
        print(f"  {r.solver:<9} {r.status:<19} {r.objective:>17.10g} {r.coef_error:>11.1e} {gap:>9} {it:>6} {r.seconds:>9.3f}")
    print(f"  {'sklearn':<9} {'(reference)':<19} {sklearn_objective:>17.10g} {0.0:>11.1e} {'-':>9} {'-':>6} {sklearn_seconds:>9.3f}")


def check(rows: list[Row], sklearn_objective: float, coef_tol: float, obj_rtol: float = 1e-6) -> None:
    """Assert every solver reached the optimum: coefficients within ``coef_tol`` of
    scikit-learn's, objective within ``obj_rtol`` (relative) of the smaller of the two."""
    for r in rows:
        assert r.status in ("optimal", "optimal_inaccurate"), (r.solver, r.status)
        assert r.coef_error < coef_tol, (r.solver, r.coef_error)
        # a solver may beat scikit-learn's iterate, never be worse than it by more than rtol
        assert r.objective <= sklearn_objective + obj_rtol * abs(sklearn_objective), (r.solver, r.objective, sklearn_objective)
        assert r.objective >= sklearn_objective - 1e-4 * abs(sklearn_objective), (r.solver, r.objective)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
