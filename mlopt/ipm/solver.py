"""Public entry point :func:`solve`: validate → equilibrate → iterate → unscale."""
from __future__ import annotations

import dataclasses
import time
from contextlib import contextmanager
from typing import Optional, Sequence

import numpy as np
import torch

from .core import IPMCore
from .equilibrate import no_equilibration, ruiz
from .kkt import resolve_kkt_solver
from .problem import validate_problem
from .result import IPMResult
from .settings import IPMSettings
from .start import InitialPoint, checked_start
from .status import Status


def solve(P: Optional[object], q: object, A: object, b: object, cones: Sequence[object],
          settings: Optional[IPMSettings] = None, *, initial_point: Optional[InitialPoint] = None,
          **kwargs) -> IPMResult:
    """Solve  min ½xᵀPx + qᵀx  s.t.  Ax + s = b, s ∈ K  with the torch interior-point method.

    Parameters
    ----------
    P : (n, n) symmetric (or upper-triangular) matrix or None — scipy sparse, numpy or torch.
    q : (n,) vector.
    A : (m, n) matrix — scipy sparse, numpy or torch.
    b : (m,) vector.
    cones : list of cone specs (``ZeroCone(k)``, ``NonnegativeCone(k)``, ``SecondOrderCone(d)``,
        ``ExponentialCone(count)``) whose dimensions add up to m, in row order.
    settings : an :class:`IPMSettings`, or settings as keyword arguments
        (``device="cuda"``, ``kkt_solver="dense"``, ``verbose=True``, ``tol=1e-9`` …).
    initial_point : a :class:`StartPoint` (x, s, z, τ, κ of this problem, unscaled) to start from
        instead of the solver's own start, or a function of the validated problem data returning
        one (or None); see :mod:`mlopt.ipm.start`.  A point that is not interior is not used
        (``attempts[i]["start"]`` says which start each run took).

    Returns
    -------
    IPMResult with status, x, s, z, objectives, iterations, residuals, gap, solve_time
    and, for infeasible problems, the certificate.

    Examples
    --------
    >>> import numpy as np
    >>> from mlopt.ipm import solve, NonnegativeCone
    >>> res = solve(None, np.array([1.0, 1.0]), -np.eye(2), np.zeros(2), [NonnegativeCone(2)])
    >>> res.status.value, round(res.primal_objective, 8)
    ('solved', 0.0)
    """
    t_start = time.perf_counter()
    if settings is None:
        settings = IPMSettings.from_kwargs(**kwargs)
    elif kwargs:
        raise TypeError("pass either settings=IPMSettings(...) or keyword settings, not both")
    elif not isinstance(settings, IPMSettings):
        raise TypeError("settings must be an IPMSettings instance")
    resolve_kkt_solver(settings.kkt_solver, settings.device)  # validate early
    data = validate_problem(P, q, A, b, cones, settings.device)
    validate_time = time.perf_counter() - t_start
    start = None
    if initial_point is not None:
        with torch_compute(settings.cpu_threads):
            start = initial_point(data) if callable(initial_point) else initial_point
            start = checked_start(start, data.n, data.m, torch.device(settings.device))
    start_time = time.perf_counter() - t_start - validate_time
    result = _attempt(data, settings, settings.equilibrate_enable, t_start, start)
    if result.status == Status.NUMERICAL_ERROR and settings.equilibrate_enable and settings.equilibrate_retry:
        # Ruiz scaling is a heuristic: on some ill-conditioned exponential-cone programs (nearly
        # separable logistic data with a large C) the scaled iterates lose centrality and stall,
        # while the unscaled data solve (Clarabel stalls the same way there, with no retry)
        result = _retry(result, data, settings, False, t_start, start,
                        "the equilibrated run stalled; solving the unscaled data once more",
                        lambda r: r.status.is_optimal or r.status.is_infeasible)
    full = (Status.SOLVED, Status.PRIMAL_INFEASIBLE, Status.DUAL_INFEASIBLE)
    if result.start == "given" and result.status not in full:
        # a given start is a shortcut: where it ends short of a full solution (e.g. almost_solved on
        # nearly separable logistic data with C = 1e6, which the solver's own start solves), start over
        result = _retry(result, data, settings, settings.equilibrate_enable, t_start, None,
                        "the run from the given start ended short of a solution; starting over from the solver's own",
                        lambda r: r.status in full)
    result.timings = dict(validate=validate_time, **({"start": start_time} if initial_point is not None else {}),
                          **result.timings)
    return result


def _retry(result: IPMResult, data, settings: IPMSettings, equilibrate: bool, t_start: float, start, why: str,
           better) -> IPMResult:
    """One more run after ``result`` (equilibrated or not, from ``start``), sharing ``max_iter`` (and
    ``time_limit``) with the runs before it; its result replaces ``result`` only if ``better(retry)`` —
    a retry cut short by the shared limits is no better than the run it follows.  ``attempts`` lists both."""
    remaining = settings.max_iter - sum(a["iterations"] for a in result.attempts)
    if remaining <= 0:
        return result
    if settings.verbose:
        print(f"mlopt.ipm: {why}")
    try:
        retry = _attempt(data, dataclasses.replace(settings, max_iter=remaining), equilibrate, t_start, start)
    except (FloatingPointError, RuntimeError, ValueError, ArithmeticError) as exc:
        result.attempts.append(dict(equilibrated=equilibrate, status=f"error: {exc}", iterations=0,
                                    start="default" if start is None else "given"))
        result.solve_time = time.perf_counter() - t_start
        return result
    attempts = result.attempts + retry.attempts
    if better(retry):
        result = retry
    result.attempts = attempts
    result.solve_time = time.perf_counter() - t_start
    return result


def _attempt(data, settings: IPMSettings, equilibrate: bool, t_start: float, start=None) -> IPMResult:
    """One run of the IPM on ``data``, equilibrated (Ruiz and cost scaling) or not, from ``start``
    (a checked :class:`~mlopt.ipm.start.StartPoint`) or from the solver's own start.

    ``t_start`` is the start of the whole :func:`solve` call, so a retry shares the time limit."""
    with torch_compute(settings.cpu_threads):
        t_eq = time.perf_counter()
        if equilibrate:
            scaled, eq = ruiz(data, settings.equilibrate_max_iter, settings.equilibrate_min_scaling,
                              settings.equilibrate_max_scaling, settings.equilibrate_tol, settings.device)
        else:
            scaled, eq = no_equilibration(data)
        t_core = time.perf_counter()
        core = IPMCore(scaled, eq, settings, t_start, start)
        t_run = time.perf_counter()
        status, v, info, iters = core.run()
        timings = dict(equilibrate=t_core - t_eq, setup=t_run - t_core,
                       iterations=time.perf_counter() - t_run, **core.timers, **getattr(core.kkt, "timers", {}))
        # still with the solve's thread count: the unscaling's vectors of m > 32768 entries would
        # otherwise run on torch's restored thread pool, whose workers wait for cores that numpy's
        # BLAS threads (spinning after the last Gram product) hold: 8 ms per op, 34 ms per solve,
        # measured on 2 cores at 5000×200 logistic (m = 35000), instead of 0.1 ms
        result = _build_result(data, core, status, v, info, iters, t_start, timings)
    result.start = core.start_used
    result.attempts = [dict(equilibrated=equilibrate, status=status.value, iterations=iters, start=core.start_used)]
    return result


@contextmanager
def torch_compute(n: Optional[int]):
    """Run torch work without autograd (``torch.inference_mode``: the solvers never differentiate,
    and skipping the autograd bookkeeping makes every small op cheaper) and with torch's intra-op
    thread count set to ``n`` (None: leave it), restored afterwards."""
    previous = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        with torch.inference_mode():
            yield
    finally:
        if n is not None:
            torch.set_num_threads(previous)


def _build_result(data, core, status, v, info, iters, t_start, timings) -> IPMResult:
    # undo the equilibration where the iterate lives (on a GPU: before one copy of each vector to the
    # host); elementwise and correctly rounded, so the same bits as the host arithmetic
    d, e, c = core.eq
    x, s, z = v.x * d, v.s / e, v.z * e / c
    if not status.is_infeasible:  # (a certificate is normalised below instead)
        x, s, z = x / v.tau, s / v.tau, z / v.tau
    x, s, z = x.cpu().numpy(), s.cpu().numpy(), z.cpu().numpy()
    certificate = None
    if status in (Status.PRIMAL_INFEASIBLE, Status.ALMOST_PRIMAL_INFEASIBLE):
        bz = _dot(data.b, z)
        z = z / abs(bz) if bz != 0 else z  # normalise so that bᵀz = −1
        certificate = z
        x, s = np.full(data.n, np.nan), np.full(data.m, np.nan)
        pobj, dobj = np.inf, np.inf
    elif status in (Status.DUAL_INFEASIBLE, Status.ALMOST_DUAL_INFEASIBLE):
        qx = _dot(data.q, x)
        scale = 1.0 / abs(qx) if qx != 0 else 1.0  # normalise so that qᵀx = −1
        x, s = x * scale, s * scale
        certificate = x
        z = np.full(data.m, np.nan)
        pobj, dobj = -np.inf, -np.inf
    else:
        xPx = _dot(x, data.P @ x)
        const = core.st.objective_constant
        pobj = 0.5 * xPx + _dot(data.q, x) + const
        dobj = -0.5 * xPx - _dot(data.b, z) + const
    return IPMResult(
        status=status, x=x, s=s, z=z, primal_objective=pobj, dual_objective=dobj,
        iterations=iters, primal_residual=info.pres, dual_residual=info.dres,
        gap=info.gap_rel, gap_abs=info.gap_abs, solve_time=time.perf_counter() - t_start,
        certificate=certificate, tau=v.tau, kappa=v.kappa, kkt_solver=core.kkt.name,
        device=str(core.dev), history=core.history, timings=timings)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """aᵀb without BLAS: numpy's ddot wakes OpenBLAS's threads, which then compete with torch's
    still-spinning OpenMP workers for the cores (a 15000-entry dot measured 2–3 ms after a solve)."""
    return float(np.multiply(a, b).sum())
