"""Independent checks of conic solutions: KKT residuals, cone membership, certificates."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from mlopt.ipm import ExponentialCone, NonnegativeCone, SecondOrderCone, ZeroCone


def _split(v, cones):
    off = 0
    for c in cones:
        yield c, v[off:off + c.dim]
        off += c.dim


def in_cone(s: np.ndarray, cones, tol: float) -> bool:
    """s ∈ K up to tol (zero, nonneg, soc, exp in CVXPY's convention)."""
    for c, v in _split(s, cones):
        if isinstance(c, ZeroCone) and np.abs(v).max() > tol:
            return False
        if isinstance(c, NonnegativeCone) and v.min() < -tol:
            return False
        if isinstance(c, SecondOrderCone) and v[0] < np.linalg.norm(v[1:]) - tol:
            return False
        if isinstance(c, ExponentialCone):
            for x, y, z in v.reshape(-1, 3):
                if y <= tol:  # boundary piece {x ≤ 0, y = 0, z ≥ 0}
                    if not (x <= tol and z >= -tol and y >= -tol):
                        return False
                elif z <= 0 or y * np.exp(min(x / y, 700)) > z + tol * max(1, abs(z)):
                    return False
    return True


def in_dual_cone(z: np.ndarray, cones, tol: float) -> bool:
    """z ∈ K* up to tol (zero cone dual = free; K_exp* = {u<0, −u e^{v/u} ≤ e·w})."""
    for c, v in _split(z, cones):
        if isinstance(c, NonnegativeCone) and v.min() < -tol:
            return False
        if isinstance(c, SecondOrderCone) and v[0] < np.linalg.norm(v[1:]) - tol:
            return False
        if isinstance(c, ExponentialCone):
            for u, vv, w in v.reshape(-1, 3):
                if u >= -tol:  # boundary piece {u = 0, v ≥ 0, w ≥ 0}
                    if not (u <= tol and vv >= -tol and w >= -tol):
                        return False
                elif w <= 0 or -u * np.exp(min(vv / u, 700)) > np.e * w + tol * max(1, abs(w)):
                    return False
    return True


def check_kkt(P, q, A, b, cones, x, s, z, tol: float = 1e-6) -> None:
    """Primal feasibility, dual feasibility Px+q+Aᵀz=0, complementarity and cones."""
    P = sp.csc_matrix((len(q), len(q))) if P is None else sp.csc_matrix(P)
    A = sp.csc_matrix(A)
    Px, Ax, Atz = P @ x, A @ x, A.T @ z
    rp = np.abs(Ax + s - b).max()
    assert rp <= tol * (1 + max(np.abs(b).max(), np.abs(Ax).max(), np.abs(s).max())), rp
    rd = np.abs(Px + q + Atz).max()
    assert rd <= tol * (1 + max(np.abs(q).max(), np.abs(Px).max(), np.abs(Atz).max())), rd
    pobj = 0.5 * x @ Px + q @ x
    assert abs(s @ z) <= tol * (1 + abs(pobj)) * 10, s @ z
    assert in_cone(s, cones, tol * (1 + np.abs(s).max()))
    assert in_dual_cone(z, cones, tol * (1 + np.abs(z).max()))


def check_primal_certificate(A, b, cones, z, tol: float = 1e-6) -> None:
    """Aᵀz = 0, bᵀz < 0, z ∈ K*  (z normalised so that bᵀz = −1)."""
    assert b @ z < 0
    assert np.abs(sp.csc_matrix(A).T @ z).max() <= tol * (1 + np.abs(z).max())
    assert in_dual_cone(z, cones, tol * (1 + np.abs(z).max()))


def check_dual_certificate(P, q, A, cones, x, s, tol: float = 1e-6) -> None:
    """Px = 0, Ax + s = 0, s ∈ K, qᵀx < 0  (normalised so that qᵀx = −1)."""
    assert q @ x < 0
    scale = 1 + np.abs(x).max()
    if P is not None:
        assert np.abs(sp.csc_matrix(P) @ x).max() <= tol * scale
    assert np.abs(sp.csc_matrix(A) @ x + s).max() <= tol * scale
    assert in_cone(s, cones, tol * (1 + np.abs(s).max()))
