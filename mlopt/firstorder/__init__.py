"""First-order (and second-order) methods in torch for mlopt objectives.

``minimize(objective, method, device, tol, max_iter, time_limit, **options)`` runs
one method from ``METHODS`` on F(w, b) = f + g (see :mod:`mlopt.firstorder.base`) and
returns a :class:`Result` with ``coef``, ``intercept``, ``status``, ``iterations``,
``objective``, ``solve_time`` and a ``trace`` of (time, iteration, objective).

==============  ==========================================================  ===================
method          iteration                                                    handles
==============  ==========================================================  ===================
gd              proximal gradient + backtracking                             smooth ℓ, any g
fista           accelerated proximal gradient + backtracking + restart       smooth ℓ, any g
sgd             mini-batch proximal SGD, schedules, growing batches          smooth ℓ, any g
adam            Adam with a diagonal-metric proximal step                    smooth ℓ, l1/l2
lbfgs           L-BFGS + Armijo line search                                  smooth ℓ, l2 only
newton          Newton + Armijo, closed-form p × p Hessian                   smooth ℓ, l2 only
subgradient     proximal subgradient, Polyak level step (dual bound), best   any ℓ, any g
smoothed        Nesterov/Huber smoothing + continuation, Newton steps        hinge/absolute/quantile
==============  ==========================================================  ===================
"""
from __future__ import annotations

from typing import Callable

import torch

from mlopt.firstorder import accelerated, gradient, lbfgs, newton, stochastic, subgradient
from mlopt.firstorder.base import Clock, Composite, Result, Stopper
from mlopt.objective import Objective

__all__ = ["minimize", "METHODS", "Result", "Composite"]

#: method name → runner(problem, x0, tol=, max_iter=, clock=, stopper=, trace=, **options)
METHODS: dict[str, Callable[..., Result]] = {
    "gd": gradient.run,
    "fista": accelerated.run,
    "sgd": stochastic.run_sgd,
    "adam": stochastic.run_adam,
    "lbfgs": lbfgs.run,
    "newton": newton.run,
    "subgradient": subgradient.run_subgradient,
    "smoothed": subgradient.run_smoothed,
}

#: default iteration caps (an iteration of sgd/adam is one mini-batch step)
_MAX_ITER = {"newton": 200, "lbfgs": 20_000, "sgd": 1_000_000, "adam": 1_000_000}


def minimize(objective: Objective, method: str = "fista", device: str | torch.device = "cpu", tol: float = 1e-8,
             max_iter: int | None = None, time_limit: float | None = None, x0=None, **options) -> Result:
    """Minimize ``objective`` with a first-order (or Newton) method.

    Args:
        objective: a :class:`mlopt.objective.Objective` (e.g. ``Lasso(0.1).get_objective(X, y)``).
        method: one of ``METHODS``.
        device: "cpu" or "cuda" (float64 throughout).
        tol: stop when the certified relative duality gap (P − D)/|P| ≤ tol (see
            :mod:`mlopt.certificates`); where no certificate exists, when the gradient
            mapping norm ≤ tol·max(1, its first value).
        max_iter: iteration cap (default 100 000; Newton 200; sgd/adam 10⁶ steps).
        time_limit: wall-clock limit in seconds (status "time_limit" when hit).
        x0: optional (coef, intercept) starting point (default zeros).
        **options: method options (step sizes, schedules, batch sizes; see each method).
    Returns:
        :class:`Result`.

    Example:
        >>> res = minimize(LogisticRegression(C=1.0).get_objective(X, y), "lbfgs")  # doctest: +SKIP
        >>> res.status, res.objective  # doctest: +SKIP
    """
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ValueError(f"method={method!r} unknown; choose one of {sorted(METHODS)}")
    method = method.lower()
    if not (isinstance(tol, (int, float)) and tol > 0):
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    if max_iter is not None and (not isinstance(max_iter, int) or max_iter < 1):
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' requested but torch.cuda.is_available() is False; use device='cpu'")
    problem = Composite(objective, device)
    x = problem.zeros()
    if x0 is not None:
        coef, icpt = x0
        x[: problem.n_coef] = torch.as_tensor(coef, dtype=torch.float64, device=device).reshape(-1)
        if problem.n_icpt:
            x[problem.n_coef:] = torch.as_tensor(icpt, dtype=torch.float64, device=device).reshape(-1)
    clock = Clock(time_limit)
    stopper = Stopper(problem, tol)
    trace = [(0.0, 0, problem.value(x))]
    with torch.no_grad():
        return METHODS[method](problem, x, tol=tol, max_iter=max_iter or _MAX_ITER.get(method, 100_000),
                               clock=clock, stopper=stopper, trace=trace, **options)
