"""Activation patterns of a ReLU layer: D(u) = diag(1[X u >= 0]).

A hidden unit with weights u splits the n training points into those it
activates and those it does not.  The convex reformulation of a two-layer
ReLU network (see :mod:`mlopt.mlp.convex`) needs the set of all such
patterns ``{1[X u >= 0] : u in R^d}``.  Geometrically these are the cells of
the central hyperplane arrangement ``{u : x_i . u = 0}``, i = 1..n, in R^d.

Two ways to obtain them:

* :func:`enumerate_patterns` -- **exact** enumeration of every cell for data of
  rank <= 3 (e.g. two features plus a bias column).  Every cell of a central
  arrangement of rank 3 is a pointed cone whose extreme rays are intersections
  of two hyperplanes, ``r = x_i x x_j``; the cells touching a ray are found by
  perturbing ``r`` into each sector of the planar arrangement of the
  hyperplanes through it.  Exact up to floating-point ties (cells thinner than
  about 1e-12 radians are merged with a neighbour).
* :func:`sample_patterns` -- patterns of random Gaussian ``u``.  **Not exact**:
  a subset of the cells, biased towards large ones.

Both return ``(patterns, gates)``: a boolean array (P, n) with row i equal to
``1[X g_i >= 0]`` and the gates ``g_i`` (P, d) that generate them, with
duplicates and the all-zero pattern removed.  For exact enumeration each gate
lies strictly inside its cell, so ``X g_i`` has no zero entries on nonzero rows.
"""
from __future__ import annotations

import numpy as np

__all__ = ["activation_patterns", "enumerate_patterns", "sample_patterns", "count_patterns_bound"]

_TOL = 1e-10


def activation_patterns(X: np.ndarray, gates: np.ndarray) -> np.ndarray:
    """Boolean array (P, n): row i is ``1[X g_i >= 0]`` for gate ``g_i`` = ``gates[i]``."""
    X = np.asarray(X, dtype=np.float64)
    gates = np.atleast_2d(np.asarray(gates, dtype=np.float64))
    return (gates @ X.T) >= 0


def count_patterns_bound(n: int, rank: int) -> int:
    """Cover's bound ``2 sum_{k<rank} C(n-1, k)`` on the number of cells (tight in general position)."""
    from math import comb

    return 2 * sum(comb(n - 1, k) for k in range(rank))


def _unique_patterns(patterns: np.ndarray, gates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = patterns.any(axis=1)  # the all-zero pattern contributes nothing
    patterns, gates = patterns[keep], gates[keep]
    _, first = np.unique(patterns, axis=0, return_index=True)
    first = np.sort(first)
    return patterns[first], gates[first]


def sample_patterns(
    X: np.ndarray, n_samples: int = 1000, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Patterns ``1[X u >= 0]`` of ``n_samples`` Gaussian gates ``u ~ N(0, I)`` (a subset, not exact)."""
    X = np.asarray(X, dtype=np.float64)
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    rng = np.random.default_rng(random_state)
    gates = rng.standard_normal((int(n_samples), X.shape[1]))
    return _unique_patterns(activation_patterns(X, gates), gates)


def _sector_directions(Y: np.ndarray) -> np.ndarray:
    """One unit direction strictly inside each sector of the planar arrangement ``{t : y_k . t = 0}``."""
    norms = np.linalg.norm(Y, axis=1)
    Y = Y[norms > _TOL * max(norms.max(initial=0.0), 1.0)]
    if len(Y) == 0:
        return np.array([[1.0, 0.0]])
    phi = np.arctan2(Y[:, 1], Y[:, 0])
    # each line y.t = 0 meets the unit circle at angles phi +- pi/2
    boundary = np.mod(np.concatenate([phi + np.pi / 2, phi - np.pi / 2]), 2 * np.pi)
    boundary = np.sort(boundary)
    boundary = boundary[np.concatenate([[True], np.diff(boundary) > 1e-12])]
    nxt = np.concatenate([boundary[1:], [boundary[0] + 2 * np.pi]])
    mid = 0.5 * (boundary + nxt)
    return np.column_stack([np.cos(mid), np.sin(mid)])


def _perturbed_gates(Z: np.ndarray, r: np.ndarray, T: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Gates ``r + eps t`` for each local direction t (rows of T): signs off the ray's planes stay those of r."""
    zr = Z @ r  # (m,)
    zt = T @ Z.T  # (k, m)
    off = ~on
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(zr[off])[None, :] / np.abs(zt[:, off])
    eps = 0.5 * np.min(ratio, axis=1, initial=1.0)
    return r[None, :] + eps[:, None] * T


def _cells_rank3(Z: np.ndarray) -> np.ndarray:
    """Gates strictly inside every cell of the central arrangement of the rows of Z (m, 3), rank 3."""
    m = len(Z)
    i, j = np.triu_indices(m, 1)
    R = np.cross(Z[i], Z[j])
    norms = np.linalg.norm(R, axis=1)
    ok = norms > 1e-9
    R, i, j = R[ok] / norms[ok, None], i[ok], j[ok]
    R, i, j = np.concatenate([R, -R]), np.concatenate([i, i]), np.concatenate([j, j])
    A = Z @ R.T  # (m, rays): x_k . r
    on = np.abs(A) <= 1e-9  # planes through each ray
    generic = on.sum(axis=0) == 2
    gates = []
    # generic rays: exactly the planes of x_i and x_j pass through r; the four local
    # cells have every sign combination of (x_i . t, x_j . t)
    if generic.any():
        Rg, ig, jg = R[generic], i[generic], j[generic]
        M = np.stack([Z[ig], Z[jg], Rg], axis=1)  # (g, 3, 3)
        signs = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], dtype=np.float64)
        rhs = np.concatenate([np.broadcast_to(signs[None], (len(Rg), 4, 2)), np.zeros((len(Rg), 4, 1))], axis=2)
        T = np.linalg.solve(M, rhs.transpose(0, 2, 1)).transpose(0, 2, 1)  # (g, 4, 3)
        T /= np.linalg.norm(T, axis=2, keepdims=True)
        zr = Rg @ Z.T  # (g, m)
        zt = np.einsum("gkc,mc->gkm", T, Z)  # (g, 4, m)
        off = ~on[:, generic].T  # (g, m)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(off[:, None, :], np.abs(zr)[:, None, :] / np.abs(zt), np.inf)
        eps = 0.5 * np.minimum(np.min(ratio, axis=2), 1.0)
        gates.append((Rg[:, None, :] + eps[..., None] * T).reshape(-1, 3))
    # degenerate rays (three or more planes through r): planar arrangement around r
    for col in np.flatnonzero(~generic):
        r, on_r = R[col], on[:, col]
        basis = np.linalg.svd(r[None, :])[2][1:]  # (2, 3) orthonormal basis of r-perp
        T = _sector_directions(Z[on_r] @ basis.T) @ basis
        gates.append(_perturbed_gates(Z, r, T, on_r))
    return np.concatenate(gates) if gates else np.zeros((0, 3))


def enumerate_patterns(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All activation patterns ``1[X u >= 0]``, exactly, for X of rank <= 3.

    Returns ``(patterns, gates)``; see the module docstring.  Raises ValueError
    for rank > 3 (use :func:`sample_patterns` there).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array, got shape {X.shape}")
    n, d = X.shape
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    rank = int(np.sum(s > _TOL * max(s[0] if len(s) else 0.0, 1.0)))
    if rank == 0:
        return np.ones((1, n), dtype=bool), np.zeros((1, d))
    if rank > 3:
        raise ValueError(
            f"exact pattern enumeration supports data of rank <= 3, X has rank {rank}; "
            "project X to fewer features or use sampled patterns (patterns='sample')"
        )
    B = Vt[:rank].T  # (d, rank): orthonormal basis of the row space
    Z = X @ B
    # one hyperplane per distinct direction of a data row
    norms = np.linalg.norm(Z, axis=1)
    nz = norms > _TOL * max(norms.max(), 1.0)
    Zu = np.unique(np.round(Z[nz] / norms[nz, None], 12), axis=0)
    if rank == 1:
        G = np.array([[1.0], [-1.0]])
    elif rank == 2:
        G = _sector_directions(Zu)
    else:
        G = _cells_rank3(Zu)
    gates = G @ B.T
    return _unique_patterns(activation_patterns(X, gates), gates)
