"""Ruiz equilibration of the KKT data and scaling of the cost (Clarabel's scheme).

Finds diagonal D (n), E (m) and a scalar c so that the scaled data
    P̂ = c·DPD,  q̂ = c·Dq,  Â = EAD,  b̂ = Eb
has the columns of [P̂ Âᵀ; Â 0] of roughly unit ∞-norm.  Rows of E are made uniform
within each second-order and exponential cone so that the scaled cone is the same cone.
Solutions map back as x = Dx̂, s = E⁻¹ŝ, z = Eẑ/c.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from .block_matrix import BlockMatrix, device_row_blocks, setup_on_device
from .cones import ExponentialCone, SecondOrderCone
from .problem import ProblemData


@dataclass
class Equilibration:
    d: np.ndarray
    e: np.ndarray
    c: float


def _col_inf(M: sp.csc_matrix) -> np.ndarray:
    """∞-norm of every column of a canonical CSC matrix, O(nnz): max of |data| per indptr segment."""
    out = np.zeros(M.shape[1])
    if M.shape[0] == 0 or M.nnz == 0:
        return out
    ip = M.indptr
    nonempty = ip[1:] > ip[:-1]
    out[nonempty] = np.maximum.reduceat(np.abs(M.data), ip[:-1][nonempty])
    return out


def _scale_csc(M: sp.csc_matrix, left: np.ndarray, right: np.ndarray, cols: np.ndarray) -> None:
    """M ← diag(left)·M·diag(right) in place on M.data (``cols``: column of every stored entry)."""
    M.data *= np.take(left, M.indices.astype(np.intp)) * np.take(right, cols)


def _entry_cols(M: sp.csc_matrix) -> np.ndarray:
    return np.repeat(np.arange(M.shape[1]), np.diff(M.indptr))


def _limit(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    v = np.where(v < lo, 1.0, v)  # treat (near-)empty columns as already scaled
    return np.minimum(v, hi)


def _rows_view(v: np.ndarray, rows):
    """v at the (k, size) rows of :func:`_uniform_blocks`: a writable view for a slice, else a copy."""
    if isinstance(rows, tuple):
        (lo, hi), shape = rows
        return v[lo:hi].reshape(shape)
    return v[rows]


def _uniform_blocks(cones) -> dict:
    """{block size: rows} of the cones whose rows must share one scaling (second-order and exponential
    cones), grouped by size for a vectorised rectification; rows is ((lo, hi), (k, size)) when the
    group's rows are one contiguous range (e.g. all the exp cones of a model), else a (k, size) index."""
    starts: dict = {}
    off = 0
    for c in cones:
        if isinstance(c, SecondOrderCone):
            starts.setdefault(c.d, []).append(np.array([off]))
        elif isinstance(c, ExponentialCone):
            starts.setdefault(3, []).append(off + 3 * np.arange(c.count))
        off += c.dim
    out = {}
    for size, st in starts.items():
        rows = np.concatenate(st)[:, None] + np.arange(size)[None, :]
        lo = int(rows[0, 0])
        contiguous = np.array_equal(rows.ravel(), np.arange(lo, lo + rows.size))
        out[size] = ((lo, lo + rows.size), rows.shape) if contiguous else rows
    return out


class _ScaledInfNorms:
    """Column and row ∞-norms of diag(left)·|M|·diag(right) for a fixed canonical CSC M, O(nnz) each.

    The data are never rescaled in the loop: |M| is kept once (CSC and CSR copies) and the current
    scalings are gathered into preallocated buffers, so a Ruiz pass allocates no O(nnz) arrays.
    """

    def __init__(self, M: sp.csc_matrix) -> None:
        self.shape = M.shape
        self.abs_c = np.abs(M.data)
        # gathers use intp indices: np.take with scipy's int32 indices is ~3× slower (casts)
        self.idx_c = M.indices.astype(np.intp)
        Mr = sp.csc_matrix((self.abs_c, M.indices, M.indptr), shape=M.shape).tocsr()
        self.abs_r = Mr.data
        self.idx_r = Mr.indices.astype(np.intp)
        self.buf = np.empty(M.nnz)
        self.seg_c = self._segments(M.indptr)
        self.seg_r = self._segments(Mr.indptr)

    @staticmethod
    def _segments(indptr: np.ndarray):
        nonempty = np.nonzero(indptr[1:] > indptr[:-1])[0]
        return nonempty, indptr[:-1][nonempty]

    def _reduce(self, absdata, idx, seg, other: np.ndarray, own: np.ndarray, size: int) -> np.ndarray:
        out = np.zeros(size)
        if absdata.size:
            np.take(other, idx, out=self.buf)
            self.buf *= absdata
            nonempty, starts = seg
            out[nonempty] = np.maximum.reduceat(self.buf, starts) * own[nonempty]
        return out

    def cols(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """maxᵢ left_i |m_ij| right_j for every column j."""
        return self._reduce(self.abs_c, self.idx_c, self.seg_c, left, right, self.shape[1])

    def rows(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """maxⱼ left_i |m_ij| right_j for every row i."""
        return self._reduce(self.abs_r, self.idx_r, self.seg_r, right, left, self.shape[0])


class _DeviceInfNorms:
    """The ∞-norms of :class:`_ScaledInfNorms` computed on the solve's device: the entries of |M| live
    there once as (row, column, value) tensors, and a pass is one gather, multiply and scatter-max;
    only the scaling vectors travel.  Used for the sparse part of a :class:`BlockMatrix` A when the
    setup runs on the device (at n = 10⁶ logistic samples that part has ~8·10⁶ entries: its host
    passes took ~2.5 s of the setup).  The same products and maxima as on the host, so the same bits."""

    def __init__(self, M: sp.csc_matrix, device) -> None:
        coo = M.tocoo()
        self.shape = M.shape
        self.f64 = dict(dtype=torch.float64, device=device)
        self.row = torch.as_tensor(coo.row.astype(np.int64), device=device)
        self.col = torch.as_tensor(coo.col.astype(np.int64), device=device)
        self.val = torch.as_tensor(np.abs(coo.data), **self.f64)

    def _norms(self, gather_at, other: np.ndarray, reduce_at, own: np.ndarray, size: int) -> np.ndarray:
        out = torch.zeros(size, **self.f64)
        if self.val.numel():
            scaled = self.val * torch.as_tensor(other, **self.f64).index_select(0, gather_at)
            out.scatter_reduce_(0, reduce_at, scaled, "amax")  # (includes the 0 start: entries are ≥ 0)
        return (out * torch.as_tensor(own, **self.f64)).cpu().numpy()

    def cols(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """maxᵢ left_i |m_ij| right_j for every column j."""
        return self._norms(self.row, left, self.col, right, self.shape[1])

    def rows(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """maxⱼ left_i |m_ij| right_j for every row i."""
        return self._norms(self.col, right, self.row, left, self.shape[0])


class _BlockInfNorms:
    """∞-norms of diag(left)·|A|·diag(right) for a :class:`BlockMatrix` A: the sparse part by
    :class:`_ScaledInfNorms` (:class:`_DeviceInfNorms` when the setup runs on a device), each data
    term diag(ρ)Xdiag(κ) from X directly.  Dense X on CPU: |X|
    once, then one broadcast multiply and a max per pass into a preallocated buffer (multithreaded
    torch ops on tensors that share numpy's memory); dense X for another device: the passes run
    there on the solver's one device copy of X (:meth:`BlockMatrix.device_X`), by row blocks, so the
    host never traverses X and no n×d temporary is allocated; sparse X: O(nnz) on the host."""

    def __init__(self, A: BlockMatrix, device="cpu") -> None:
        rest = A.rest.copy()
        rest.sum_duplicates()
        self.shape = A.shape
        self.rest = _DeviceInfNorms(rest, device) if setup_on_device(device) else _ScaledInfNorms(rest)
        self.terms = A.terms
        self.xnorms = _ScaledInfNorms(sp.csc_matrix(A.X)) if A.x_sparse else None
        self.Xdev = None
        if not A.x_sparse:
            if not setup_on_device(device):
                self.absX = torch.from_numpy(np.abs(np.asarray(A.X, dtype=np.float64)))  # a fresh, writable copy
                self.buf = torch.empty_like(self.absX)
            else:
                self.Xdev = A.device_X(device)

    def _x_cols(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        if self.xnorms is not None:
            return self.xnorms.cols(left, right)
        if self.Xdev is not None:
            return x_norms_on_device(self.Xdev, left, right, axis=0)
        if self.absX.shape[0] == 0:
            return np.zeros(self.absX.shape[1])
        torch.mul(self.absX, torch.from_numpy(left)[:, None], out=self.buf)
        return self.buf.amax(dim=0).numpy() * right

    def _x_rows(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        if self.xnorms is not None:
            return self.xnorms.rows(left, right)
        if self.Xdev is not None:
            return x_norms_on_device(self.Xdev, left, right, axis=1)
        if self.absX.shape[1] == 0:
            return np.zeros(self.absX.shape[0])
        torch.mul(self.absX, torch.from_numpy(right)[None, :], out=self.buf)
        return self.buf.amax(dim=1).numpy() * left

    def cols(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return self._with_terms(self.rest.cols(left, right), left, right, self._x_cols, "cols")

    def rows(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return self._with_terms(self.rest.rows(left, right), left, right, self._x_rows, "rows")

    def _with_terms(self, out: np.ndarray, left, right, x_norms, side: str) -> np.ndarray:
        """out (the sparse part's norms) maxed with every term's norms, at the term's ``side`` indices."""
        for t in self.terms:
            idx = getattr(t, side)
            out[idx] = np.maximum(out[idx], x_norms(np.abs(t.row_scale) * left[t.rows],
                                                    np.abs(t.col_scale) * right[t.cols]))
        return out


def x_norms_on_device(X: torch.Tensor, left: np.ndarray, right: np.ndarray, axis: int) -> np.ndarray:
    """Column (``axis=0``: maxᵢ leftᵢ|xᵢⱼ|·rightⱼ) or row (``axis=1``: maxⱼ leftᵢ|xᵢⱼ|rightⱼ) ∞-norms of
    diag(left)|X|diag(right) for a torch X on any device, by blocks of rows."""
    n, d = X.shape
    f64 = dict(dtype=torch.float64, device=X.device)
    lt, rt = torch.as_tensor(left, **f64), torch.as_tensor(right, **f64)
    out = torch.zeros(d if axis == 0 else n, **f64)
    for i, j in device_row_blocks(n if d else 0, d):  # (an empty X has all-zero norms)
        if axis == 0:
            torch.maximum(out, (X[i:j].abs() * lt[i:j, None]).amax(dim=0), out=out)
        else:
            out[i:j] = (X[i:j].abs() * rt).amax(dim=1)
    return (out * (rt if axis == 0 else lt)).cpu().numpy()


def ruiz(data: ProblemData, max_iter: int, min_scaling: float, max_scaling: float, tol: float = 0.0,
         device="cpu"):
    """Return (scaled ProblemData, Equilibration).

    At most ``max_iter`` passes; stop after a pass whose factors all lie within 1 ± ``tol``
    (the ∞-norms are then within about 2·tol of 1, and further passes only polish them).
    ``device``: where the solve runs; a dense data block of A is then traversed there.
    """
    block = isinstance(data.A, BlockMatrix)
    P, A, q, b = data.P.copy(), data.A if block else data.A.copy(), data.q.copy(), data.b.copy()
    P.sum_duplicates()  # canonical CSC: the O(nnz) norms and in-place scalings rely on it
    if not block:
        A.sum_duplicates()
    n, m = data.n, data.m
    d, e = np.ones(n), np.ones(m)
    normsP, normsA = _ScaledInfNorms(P), (_BlockInfNorms(A, device) if block else _ScaledInfNorms(A))
    uniform = _uniform_blocks(data.cones)
    for _ in range(max_iter):
        norm_x = np.maximum(normsP.cols(d, d), normsA.cols(e, d))
        norm_z = normsA.rows(e, d)
        dx = 1.0 / np.sqrt(_limit(norm_x, min_scaling, max_scaling))
        dz = 1.0 / np.sqrt(_limit(norm_z, min_scaling, max_scaling))
        for rows in uniform.values():
            er, dr = _rows_view(e, rows), _rows_view(dz, rows)
            dr[...] = (er * dr).mean(axis=1, keepdims=True) / er
            if not isinstance(rows, tuple):  # a copy: write it back
                dz[rows] = dr
        d, e = d * dx, e * dz
        if max(np.abs(dx - 1).max(initial=0.0), np.abs(dz - 1).max(initial=0.0)) <= tol:
            break
    _scale_csc(P, d, d, _entry_cols(P))
    if block:
        A = A.scaled(e, d)  # X itself is shared, never rescaled
    else:
        _scale_csc(A, e, d, _entry_cols(A))
    q, b = d * q, e * b
    # cost scaling
    colP = _col_inf(P)
    scale = max(colP.mean() if n else 0.0, np.abs(q).max() if n else 0.0)
    scale = float(_limit(np.array([scale]), min_scaling, max_scaling)[0])
    c = 1.0 / scale
    P, q = P * c, q * c
    scaled = ProblemData(P=sp.csc_matrix(P), q=q, A=A, b=b, cones=data.cones)
    return scaled, Equilibration(d=d, e=e, c=c)


def no_equilibration(data: ProblemData):
    return data, Equilibration(d=np.ones(data.n), e=np.ones(data.m), c=1.0)
