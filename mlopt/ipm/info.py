"""Residuals, convergence measures and termination tests (Clarabel's criteria).

All measures are reported for the *unscaled* problem (equilibration undone) and for the
pre-homogenisation variables x/τ, s/τ, z/τ:

    pres = ‖Ax + s − bτ‖/τ / max(1, ‖b‖ + ‖x‖/τ + ‖s‖/τ)
    dres = ‖Px + Aᵀz + qτ‖/τ / max(1, ‖q‖ + ‖x‖/τ + ‖z‖/τ)
    gap  = |pobj − dobj| / max(1, min(|pobj|, |dobj|))

with Euclidean norms of the residuals and of x, s, z, and ∞-norms of b and q (Clarabel's
choice).  Primal infeasibility: bᵀz < −tol_abs and ‖Aᵀz‖ / max(1, ‖z‖) < −tol_rel·bᵀz;
dual infeasibility: qᵀx < −tol_abs and max(‖Px‖/max(1,‖x‖), ‖Ax + s‖/max(1, ‖x‖+‖s‖))
< −tol_rel·qᵀx; both only once κ/τ is large.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .status import Status


def _ninf(v: torch.Tensor) -> float:
    return float(v.abs().max()) if v.numel() else 0.0


def _n2(v: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(v)) if v.numel() else 0.0


@dataclass
class Residuals:
    """Residuals of the homogeneous embedding at (x, s, z, τ, κ) (scaled data)."""

    rx: torch.Tensor  # Px + Aᵀz + qτ
    rz: torch.Tensor  # Ax + s − bτ
    rtau: float  # qᵀx + bᵀz + κ + xᵀPx/τ
    Px: torch.Tensor
    Atz: torch.Tensor
    Axs: torch.Tensor  # Ax + s
    qx: float
    bz: float
    sz: float
    xPx: float


@dataclass
class Info:
    """Convergence measures of the current iterate (unscaled problem)."""

    pobj: float = float("nan")
    dobj: float = float("nan")
    pres: float = float("inf")
    dres: float = float("inf")
    gap_abs: float = float("inf")
    gap_rel: float = float("inf")
    ktratio: float = float("nan")
    res_pinf: float = float("inf")
    res_dinf: float = float("inf")
    bz: float = 0.0
    qx: float = 0.0
    status: Status = Status.UNSOLVED
    prev: dict = field(default_factory=dict)


def measure(info: Info, r: Residuals, x, s, z, tau: float, kappa: float, eq, normb: float,
            normq: float, constant: float = 0.0) -> None:
    """Fill ``info`` from the residuals (d, e, c = equilibration, as torch tensors).

    ``constant`` is the objective's constant term: it shifts pobj and dobj alike, so it leaves
    the absolute gap unchanged and makes the relative gap relative to the true objective.
    """
    d, e, c = eq
    cinv = 1.0 / c
    tinv = 1.0 / tau
    half_xPx = r.xPx * tinv * tinv / 2
    info.pobj = (r.qx * tinv + half_xPx) * cinv + constant
    info.dobj = (-r.bz * tinv - half_xPx) * cinv + constant
    normx = _n2(x * d)
    normz = _n2(z * e) * cinv
    norms = _n2(s / e)
    info.res_pinf = _n2(r.Atz / d) * cinv / max(1.0, normz)
    info.res_dinf = max(_n2(r.Px / d) / max(1.0, normx),
                        _n2(r.Axs / e) / max(1.0, normx + norms))
    normx, normz, norms = normx * tinv, normz * tinv, norms * tinv
    info.pres = _n2(r.rz / e) * tinv / max(1.0, normb + normx + norms)
    info.dres = _n2(r.rx / d) * tinv * cinv / max(1.0, normq + normx + normz)
    info.gap_abs = abs(info.pobj - info.dobj)
    info.gap_rel = info.gap_abs / max(1.0, min(abs(info.pobj), abs(info.dobj)))
    info.ktratio = kappa * tinv
    info.bz, info.qx = r.bz, r.qx


def check_convergence(info: Info, st, reduced: bool = False) -> Status:
    """Solved / infeasible test at full or reduced ("almost") accuracy."""
    if reduced:
        tg_a, tg_r, tf = st.reduced_tol_gap_abs, st.reduced_tol_gap_rel, st.reduced_tol_feas
        ti_a, ti_r, tk = st.reduced_tol_infeas_abs, st.reduced_tol_infeas_rel, st.reduced_tol_ktratio
        solved, pinf, dinf = (Status.ALMOST_SOLVED, Status.ALMOST_PRIMAL_INFEASIBLE,
                              Status.ALMOST_DUAL_INFEASIBLE)
    else:
        tg_a, tg_r, tf = st.tol_gap_abs, st.tol_gap_rel, st.tol_feas
        ti_a, ti_r, tk = st.tol_infeas_abs, st.tol_infeas_rel, st.tol_ktratio
        solved, pinf, dinf = Status.SOLVED, Status.PRIMAL_INFEASIBLE, Status.DUAL_INFEASIBLE
    if (info.ktratio <= 1.0 and (info.gap_abs < tg_a or info.gap_rel < tg_r)
            and info.pres < tf and info.dres < tf):
        return solved
    if info.ktratio > 1000.0 / tk:
        if info.bz < -ti_a and info.res_pinf < -ti_r * info.bz:
            return pinf
        if info.qx < -ti_a and info.res_dinf < -ti_r * info.qx:
            return dinf
    return Status.UNSOLVED


def insufficient_progress(info: Info, st, iteration: int) -> bool:
    """Clarabel's 'going backwards' tests on consecutive iterates."""
    p = info.prev
    if iteration <= 1 or not p:
        return False
    if not (info.dres > p["dres"] or info.pres > p["pres"]):
        return False
    if info.ktratio < 100 * 2.220446049250313e-16 and (p["gap_abs"] < st.tol_gap_abs
                                                         or p["gap_rel"] < st.tol_gap_rel):
        return True
    if info.ktratio < 1.0 and (
        (info.dres > 100 * st.tol_feas and info.dres > 100 * p["dres"])
        or (info.pres > 100 * st.tol_feas and info.pres > 100 * p["pres"])
    ):
        return True
    return False
