"""Fit a linear model's :class:`~mlopt.objective.Objective` with the structured IPM path.

assemble (numpy/scipy, no CVXPY) → :func:`mlopt.ipm.solve` with ``kkt_solver="structured"``
(one |G|×|G| Cholesky per iteration) → coefficients.
"""
from __future__ import annotations

import time
from typing import Any, Dict, Optional, Tuple

import numpy as np

from mlopt.ipm import IPMSettings, solve
from mlopt.ipm.solver import torch_compute
from mlopt.ipm.kkt import DenseColumns
from mlopt.objective import Objective
from mlopt.structured.assemble import assemble
from mlopt.structured.hinge_screen import fit_hinge_screened, hinge_screen_applicable, screen_pays
from mlopt.structured.logistic_start import logistic_start
from mlopt.structured.batched_path import BATCHED_SETTINGS, batched_applicable, fit_path_batched
from mlopt.structured.gram import (assemble_gram, gram_applicable, kernel_ridge_applicable, solve_kernel_ridge,
                                   solve_linear)

__all__ = ["fit_objective"]


FORMS = ("auto", "samples", "gram")
STARTS = ("auto", "default")
SCREENS = ("auto", "on", "off")
_DEFAULTS = IPMSettings()  # the one-member batched path takes the general IPM's max_iter and threads


def fit_objective(objective: Objective, device: str = "cpu", form: str = "auto", start: str = "auto",
                  newton_init: Optional[Tuple[np.ndarray, float]] = None, screen: str = "auto",
                  **ipm_settings: Any) -> Tuple[np.ndarray, np.ndarray, Dict[str, Any]]:
    """Minimize ``objective`` with mlopt's interior-point method on its structured conic form.

    Parameters
    ----------
    objective : the model's objective (ridge, lasso, elastic net, absolute, quantile,
        huber (fixed ε), hinge, squared hinge, logistic, multinomial; penalties none,
        l2, l1, elasticnet; ``positive`` and ``bounds`` constraints).
    device : "cpu" or "cuda".
    form : "samples" (per-sample rows, structured KKT backend; ``"structured_wide"``, the
        Woodbury form of order n·c, when 2·n·c ≤ the number of coupled coefficients), "gram" (squared loss only:
        ½θᵀΦᵀSΦθ − (ΦᵀSy)ᵀθ + const, see :mod:`mlopt.structured.gram`; the IPM runs on
        d-sized data with ``kkt_solver="diagonal_rows"``, or one Cholesky when there are no
        rows), or "auto" (Gram form when :func:`~mlopt.structured.gram.gram_applicable` and no
        ``kkt_solver``/``kkt_structure`` is given — a lasso / elastic-net / positive fit without bounds,
        and with no settings other than ``tol``, ``max_iter``, ``cpu_threads``, then runs the batched
        Gram IPM with one member, ``info["kkt_solver"] == "batched_gram"``; any other setting, e.g.
        ``verbose``, selects the general IPM; plain ridge with d > n: the n×n kernel form,
        :func:`~mlopt.structured.gram.solve_kernel_ridge`).
    start : "auto" (binary logistic with an ℓ₂ penalty and dense X, n ≥ d: the IPM starts from the
        centered point of :mod:`mlopt.structured.logistic_start`, built from a Newton solve of the
        smooth objective; ``info["start"] == "newton"``) or "default" (the IPM's own start).
    newton_init : (coef, intercept) where that Newton solve starts (default 0): a path passes its
        previous solution (fewer Newton steps); ignored where the Newton start does not apply.
    screen : linear SVM (binary hinge loss, ℓ₂ penalty, dense X): "on" solves by sample screening
        (:mod:`mlopt.structured.hinge_screen`: a Huberized-hinge Newton predictor fixes the samples far
        from the margin, the IPM solves the rest, the duality gap is checked on all samples;
        ``info["screening"]`` reports it), "off" solves the full program, "auto" screens from
        n ≥ 500 samples and n ≥ 5(d + 1) without an explicit ``kkt_solver`` / ``kkt_structure``.
        A screened solve that cannot certify its point falls back to the full program
        (``info["screening"] == {"fallback": True}``).
    **ipm_settings : :class:`mlopt.ipm.IPMSettings` fields (``tol=1e-9``, ``verbose=True``,
        ``kkt_solver="qdldl"`` to solve the same data with a generic backend, …).

    Returns
    -------
    coef : (d,) or (d, K);  intercept : 0-d array or (K,);
    info : dict with status, iterations, objective (f(w, b) of the objective),
        primal_objective, dual_objective, gap, gap_abs, primal_residual, dual_residual,
        solve_time (IPM), setup_time (assembly), wall_time, kkt_solver, device, form, start ("newton";
        "rejected": built, but the returned run started elsewhere; "default") and newton_steps (None
        where no Newton start was built), and, when the IPM ran, timings (seconds by phase, :attr:`mlopt.ipm.IPMResult.timings`) and attempts
        (:attr:`mlopt.ipm.IPMResult.attempts`: two when an equilibrated run stalled and the
        unscaled data were solved again).

    Examples
    --------
    >>> import numpy as np
    >>> from mlopt.losses import SquaredLoss
    >>> from mlopt.penalties import L2Penalty
    >>> from mlopt.objective import Objective
    >>> X, y = np.eye(3), np.array([1.0, 2.0, 3.0])
    >>> coef, b, info = fit_objective(Objective(X, y, SquaredLoss(), L2Penalty(), alpha=1.0, fit_intercept=False))
    >>> np.round(coef, 6).tolist(), info["status"]
    ([0.5, 1.0, 1.5], 'solved')
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    if start not in STARTS:
        raise ValueError(f"start must be one of {STARTS}, got {start!r}")
    if screen not in SCREENS:
        raise ValueError(f"screen must be one of {SCREENS}, got {screen!r}")
    if screen == "on" and not hinge_screen_applicable(objective):
        raise ValueError("screen='on' needs the binary hinge loss with a pure l2 penalty (positive weight), dense X "
                         "and no positive/bounds constraints; use screen='auto' or 'off'")
    if form == "auto":
        # an explicit KKT backend refers to the per-sample data: keep that form
        chosen = "kkt_solver" in ipm_settings or "kkt_structure" in ipm_settings
        form = "gram" if not chosen and gram_applicable(objective) else "samples"
        if not chosen and kernel_ridge_applicable(objective):
            return _fit_kernel_ridge(objective, device, ipm_settings)
        if form == "gram" and _one_member_path(objective, ipm_settings):
            return _fit_batched(objective, device, ipm_settings)
    if form == "gram":
        return _fit_gram(objective, device, ipm_settings)
    screens = _screens(objective, screen, ipm_settings)  # (decided before the defaults below fill kkt_solver)
    if screens:
        screened = fit_hinge_screened(objective, device, ipm_settings)
        if screened is not None:
            return screened
    t0 = time.perf_counter()
    problem = assemble(objective)
    setup = time.perf_counter() - t0
    ipm_settings.setdefault("kkt_solver", "structured_wide" if _wide(problem) else "structured")
    if ipm_settings["kkt_solver"] in ("structured", "structured_wide"):
        ipm_settings.setdefault("kkt_structure", problem.structure)
    initial = logistic_start(objective, problem, device, newton_init) if start == "auto" else None
    coef, intercept, info = _run_ipm(objective, problem, device, ipm_settings, t0, setup, "samples", initial)
    if screens:
        info["screening"] = {"fallback": True}
    return coef, intercept, info


def _screens(objective: Objective, screen: str, ipm_settings: Dict[str, Any]) -> bool:
    """Whether the hinge-screening solve runs (see ``screen`` of :func:`fit_objective`)."""
    if screen == "off" or not hinge_screen_applicable(objective):
        return False
    if screen == "on":
        return True
    return screen_pays(objective) and "kkt_solver" not in ipm_settings and "kkt_structure" not in ipm_settings


def _wide(problem) -> bool:
    """Wide data (d > n): the (n·c)-order Woodbury Schur solve pays when 2·n·c ≤ |G_c| (measured
    break-even of ``kkt_solver="structured_wide"`` vs ``"structured"``; the wide backend also falls
    back to the dense Schur Cholesky by itself when its structure is absent)."""
    st = problem.structure
    n_coupled = problem.n_features * problem.n_outputs + (problem.n_outputs if problem.fit_intercept else 0)
    return 2 * st.local_cols.shape[0] * st.coupling.size <= n_coupled


def _one_member_path(objective: Objective, ipm_settings: Dict[str, Any]) -> bool:
    """Lasso / elastic net / positive least squares in Gram form: the batched Gram-form IPM of
    :mod:`mlopt.structured.batched_path` with one member.  Same Mehrotra iterations on the same
    program, with its d×d (or (d+1)×(d+1)) KKT solved directly and the support polished by an
    exact KKT solve: measured 1.7–2× faster than the general IPM at 442×10 to 5000×200."""
    if set(ipm_settings) - BATCHED_SETTINGS or not batched_applicable(objective):
        return False
    pen = objective.penalty
    has_l1 = pen.name == "l1" or (pen.name == "elasticnet" and pen.weights(objective.l1_ratio)[0] > 0)
    return bool(has_l1 or objective.positive)  # otherwise no rows: one Cholesky (closed form)


def _fit_batched(objective: Objective, device: str, ipm_settings: Dict[str, Any]):
    t0 = time.perf_counter()
    opts = {"tol": 1e-8, "max_iter": _DEFAULTS.max_iter, "cpu_threads": _DEFAULTS.cpu_threads, **ipm_settings}
    res = fit_path_batched(objective, [objective.alpha], device=device, **opts)
    coef, intercept = res.coefs[0], np.asarray(res.intercepts[0])
    value = objective.value(coef, intercept) if res.statuses[0] in ("solved", "almost_solved") else float("nan")
    info = dict(status=res.statuses[0], iterations=int(res.iterations[0]), objective=value,
                primal_objective=float(res.primal_objectives[0]), dual_objective=float(res.dual_objectives[0]),
                gap=float(res.relative_gaps[0]), gap_abs=float(res.gaps[0]),
                primal_residual=float(res.primal_residuals[0]), dual_residual=float(res.dual_residuals[0]),
                solve_time=res.solve_time, setup_time=res.setup_time, wall_time=time.perf_counter() - t0,
                kkt_solver="batched_gram", device=res.device, form="gram", method=res.methods[0])
    return coef, intercept, info


def _fit_kernel_ridge(objective: Objective, device: str, ipm_settings: Dict[str, Any]):
    """Ridge with d > n: one n×n Cholesky (:func:`~mlopt.structured.gram.solve_kernel_ridge`)."""
    t0 = time.perf_counter()
    with torch_compute(ipm_settings.get("cpu_threads", 1)):
        coef, intercept, res = solve_kernel_ridge(objective, device)
    value = objective.value(coef, intercept)
    info = _closed_form_info(value, value, res, t0, t0, 0.0,
                             "cholesky (n×n kernel form)", device, "kernel")
    return coef, intercept, info


def _closed_form_info(value: float, pobj: float, res: float, t0: float, t_solve: float, setup: float,
                      kkt_solver: str, device: str, form: str) -> Dict[str, Any]:
    """The ``info`` of a solve by one linear system: optimal, no iterations, zero gap."""
    now = time.perf_counter()
    return dict(status="solved", iterations=0, objective=value, primal_objective=pobj, dual_objective=pobj,
                gap=0.0, gap_abs=0.0, primal_residual=0.0, dual_residual=res, solve_time=now - t_solve,
                setup_time=setup, wall_time=now - t0, kkt_solver=kkt_solver, device=str(device), form=form)


def _fit_gram(objective: Objective, device: str, ipm_settings: Dict[str, Any]):
    t0 = time.perf_counter()
    problem = assemble_gram(objective)
    setup = time.perf_counter() - t0
    if problem.b.size:
        # rows ±w − t ≤ 0, −w ≤ 0, lo ≤ w ≤ hi touch one coefficient each: eliminate z and t,
        # one (d+1)×(d+1) Cholesky per iteration
        ipm_settings.setdefault("kkt_solver", "diagonal_rows")
        if ipm_settings["kkt_solver"] == "diagonal_rows":
            ipm_settings.setdefault("kkt_structure", DenseColumns(np.arange(problem.n_features
                                                                            + int(problem.fit_intercept))))
        return _run_ipm(objective, problem, device, ipm_settings, t0, setup, "gram")
    # no rows: the stationarity condition Pθ = −q is the whole problem
    t1 = time.perf_counter()
    # one torch thread, as in the IPM: numpy's BLAS pool (which just formed ΦᵀSΦ) and torch's
    # OpenMP pool otherwise contend for the cores (a 51×51 Cholesky took ms instead of µs)
    with torch_compute(ipm_settings.get("cpu_threads", 1)):
        theta, res = solve_linear(problem.P, problem.q, device)
    coef, intercept = problem.unpack(theta)
    pobj = 0.5 * float(theta @ (problem.P @ theta)) + float(problem.q @ theta) + problem.constant
    info = _closed_form_info(objective.value(coef, intercept), pobj, res, t0, t1, setup, "cholesky", device, "gram")
    return coef, intercept, info


def _start_used(initial, res) -> str:
    """info["start"]: "newton" (the IPM ran from the Newton start), "rejected" (it was built but the returned
    run did not start there: not interior, or its run ended short of a solution and the solver's own start
    was run again), else "default"."""
    if res.start == "given":
        return "newton"
    built = initial is not None and initial.info.get("newton_steps") is not None
    return "rejected" if built else "default"


def _run_ipm(objective, problem, device, ipm_settings, t0, setup, form, initial=None):
    # the Gram form drops ½Σcᵢyᵢ²: give it to the IPM so that its relative gap is relative
    # to the model's objective, not to the (much larger) objective without the constant
    ipm_settings.setdefault("objective_constant", float(getattr(problem, "constant", 0.0)))
    res = solve(problem.P, problem.q, problem.A, problem.b, problem.cones, device=device, initial_point=initial,
                **ipm_settings)
    if res.status.is_optimal:
        coef, intercept = problem.unpack(res.x)
        value = objective.value(coef, intercept)
    else:
        coef = np.full(problem.coef_shape, np.nan)
        intercept = np.full((problem.n_outputs,), np.nan) if len(problem.coef_shape) == 2 else np.asarray(np.nan)
        value = float("nan")
    info = dict(status=res.status.value, iterations=res.iterations, objective=value,
                primal_objective=res.primal_objective, dual_objective=res.dual_objective,
                gap=res.gap, gap_abs=res.gap_abs, primal_residual=res.primal_residual,
                dual_residual=res.dual_residual, solve_time=res.solve_time, setup_time=setup,
                wall_time=time.perf_counter() - t0, kkt_solver=res.kkt_solver, device=res.device, form=form,
                start=_start_used(initial, res),
                newton_steps=None if initial is None else initial.info.get("newton_steps"),
                timings=res.timings, attempts=res.attempts)
    return coef, intercept, info
