"""A given starting point of the interior-point method (a warm start).

The homogeneous embedding starts anywhere in the interior: s ∈ int K, z ∈ int K*, τ, κ > 0.
It converges fastest from a point that is also *centered* — s = −μ∇f*(z) per cone (s∘z = μe
for the orthant), τκ = μ — and nearly feasible: its residuals rz = Ax + s − τb and
rx = Px + Aᵀz + τq then shrink with μ from the start instead of from O(1).  A caller that
knows such a point (e.g. the structured logistic fit, :mod:`mlopt.structured.logistic_start`)
passes it to :func:`mlopt.ipm.solve` as ``initial_point``; the solver maps it into the
equilibrated variables (x̃ = x/d, s̃ = e·s, z̃ = c·z/e, κ̃ = c·κ, the inverse of the result's
unscaling) and falls back to its own start when the point is not interior.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Union

import numpy as np
import torch


@dataclass
class StartPoint:
    """An interior point (x, s, z, τ, κ) of the unscaled problem (numpy arrays or torch tensors)."""

    x: object
    s: object
    z: object
    tau: float = 1.0
    kappa: float = 1.0


#: what ``solve(initial_point=…)`` takes: a point, or a function of the validated
#: :class:`~mlopt.ipm.problem.ProblemData` returning a point or None (None: the solver's own start)
InitialPoint = Union[StartPoint, Callable[[object], Optional[StartPoint]]]


def checked_start(start: Optional[StartPoint], n: int, m: int, device: torch.device) -> Optional[StartPoint]:
    """``start`` with float64 tensors on ``device``; TypeError / ValueError for a malformed point."""
    if start is None:
        return None
    if not isinstance(start, StartPoint):
        raise TypeError(f"initial_point must be a mlopt.ipm.StartPoint (or a function returning one), "
                        f"got {type(start).__name__}")
    out = []
    for name, v, size in (("x", start.x, n), ("s", start.s, m), ("z", start.z, m)):
        t = torch.as_tensor(v if torch.is_tensor(v) else np.asarray(v, dtype=np.float64),
                            dtype=torch.float64, device=device)
        if t.shape != (size,):
            raise ValueError(f"initial_point.{name} has shape {tuple(t.shape)}; it must be ({size},)")
        out.append(t)
    tau, kappa = float(start.tau), float(start.kappa)
    if not (tau > 0 and kappa > 0 and np.isfinite(tau) and np.isfinite(kappa)):
        raise ValueError(f"initial_point: tau = {tau!r} and kappa = {kappa!r} must be positive and finite")
    return StartPoint(*out, tau, kappa)
