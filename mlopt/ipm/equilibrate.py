"""Ruiz equilibration of the KKT data and scaling of the cost (Clarabel's scheme).

Finds diagonal D (n), E (m) and a scalar c so that the scaled data
    P̂ = c·DPD,  q̂ = c·Dq,  Â = EAD,  b̂ = Eb
has the columns of [P̂ Âᵀ; Â 0] of roughly unit ∞-norm.  Rows of E are made uniform
within each second-order and exponential cone (at the end) so that the scaled cone is the
same cone.
Solutions map back as x = Dx̂, s = E⁻¹ŝ, z = Eẑ/c.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .cones import ExponentialCone, SecondOrderCone
from .problem import ProblemData


@dataclass
class Equilibration:
    d: np.ndarray
    e: np.ndarray
    c: float


def _col_inf(M: sp.csc_matrix) -> np.ndarray:
    if M.shape[0] == 0 or M.nnz == 0:
        return np.zeros(M.shape[1])
    return np.asarray(abs(M).max(axis=0).todense()).ravel()


def _limit(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    v = np.where(v < lo, 1.0, v)  # treat (near-)empty columns as already scaled
    return np.minimum(v, hi)


def _block_ranges(cones):
    off = 0
    for c in cones:
        if isinstance(c, SecondOrderCone):
            yield off, off + c.d
        elif isinstance(c, ExponentialCone):
            for j in range(c.count):
                yield off + 3 * j, off + 3 * j + 3
        off += c.dim


def ruiz(data: ProblemData, max_iter: int, min_scaling: float, max_scaling: float):
    """Return (scaled ProblemData, Equilibration).

    Each pass scales columns of [P Aᵀ; A 0] by 1/√(∞-norm) (zero norms left alone), with
    the *cumulative* scalings d, e clipped to [min_scaling, max_scaling], then rescales the
    cost by c ← c/max(mean ‖P_j‖∞, ‖q‖∞) (cumulative c clipped likewise).  Scalings of
    SOC/exp rows are made uniform per cone (their mean) once, after the passes.
    """
    P, A, q, b = data.P.copy(), data.A.copy(), data.q.copy(), data.b.copy()
    n, m = data.n, data.m
    d, e, c = np.ones(n), np.ones(m), 1.0
    for _ in range(max_iter):
        norm_x = np.maximum(_col_inf(P), _col_inf(A))
        norm_z = _col_inf(sp.csc_matrix(A.T))
        norm_x[norm_x == 0] = 1.0
        norm_z[norm_z == 0] = 1.0
        dx = np.clip(1.0 / np.sqrt(norm_x), min_scaling / d, max_scaling / d)
        dz = np.clip(1.0 / np.sqrt(norm_z), min_scaling / e, max_scaling / e)
        Dx, Dz = sp.diags(dx), sp.diags(dz)
        P = sp.csc_matrix(Dx @ P @ Dx)
        A = sp.csc_matrix(Dz @ A @ Dx)
        q, b = dx * q, dz * b
        d, e = d * dx, e * dz
        mean_P = _col_inf(P).mean() if n else 0.0
        inf_q = np.abs(q).max() if n else 0.0
        if mean_P != 0 and inf_q != 0:
            ctmp = float(np.clip(1.0 / max(mean_P, inf_q), min_scaling / c, max_scaling / c))
            P, q, c = P * ctmp, q * ctmp, c * ctmp
    # rectification: one scaling per SOC / exp cone (mean of its rows)
    blocks = list(_block_ranges(data.cones))
    if blocks:
        by_size: dict = {}
        for lo, hi in blocks:
            by_size.setdefault(hi - lo, []).append(lo)
        ework = np.ones(m)
        for size, starts in by_size.items():
            rows = np.asarray(starts)[:, None] + np.arange(size)[None, :]
            ework[rows] = e[rows].mean(axis=1, keepdims=True) / e[rows]
        A = sp.csc_matrix(sp.diags(ework) @ A)
        b, e = ework * b, e * ework
    scaled = ProblemData(P=sp.csc_matrix(P), q=q, A=A, b=b, cones=data.cones)
    return scaled, Equilibration(d=d, e=e, c=c)


def no_equilibration(data: ProblemData):
    return data, Equilibration(d=np.ones(data.n), e=np.ones(data.m), c=1.0)
