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


def _uniform_blocks(cones) -> dict:
    """{block size: rows} of the cones whose rows must share one scaling (second-order and exponential
    cones), grouped by size for a vectorised rectification; rows is ((lo, hi), (k, size)) when the
    group's rows are one contiguous range (e.g. all the exp cones of a model), else a (k, size) index
    (only then are the rows listed)."""
    segments: dict = {}  # size → [(first row, number of cones)]
    off = 0
    for c in cones:
        if isinstance(c, SecondOrderCone):
            segments.setdefault(c.d, []).append((off, 1))
        elif isinstance(c, ExponentialCone):
            segments.setdefault(3, []).append((off, c.count))
        off += c.dim
    out = {}
    for size, parts in segments.items():
        lo, end, contiguous = parts[0][0], parts[0][0], True
        for start, count in parts:
            contiguous &= start == end
            end = start + size * count
        k = sum(count for _, count in parts)
        if contiguous:
            out[size] = ((lo, lo + k * size), (k, size))
        else:
            starts = np.concatenate([start + size * np.arange(count) for start, count in parts])
            out[size] = starts[:, None] + np.arange(size)[None, :]
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
    """The ∞-norms of :class:`_ScaledInfNorms` computed on the solve's device, from and to torch vectors
    there: the entries of |M| live there once as (row, column, value) tensors, and a pass is one
    gather, multiply and scatter-max.  Used for P and the sparse part of a :class:`BlockMatrix` A when
    the setup runs on the device (at n = 10⁶ logistic samples that part has ~8·10⁶ entries).  The same
    products and maxima as on the host, so the same bits."""

    def __init__(self, M: sp.csc_matrix, device) -> None:
        self.shape = M.shape
        self.f64 = dict(dtype=torch.float64, device=device)
        ip = torch.as_tensor(M.indptr.astype(np.int64), device=device)
        self.row = torch.as_tensor(M.indices.astype(np.int64), device=device)
        self.col = torch.repeat_interleave(torch.arange(M.shape[1], device=device), ip[1:] - ip[:-1])
        self.val = torch.as_tensor(M.data, **self.f64).abs()

    def _norms(self, gather_at, other: torch.Tensor, reduce_at, own: torch.Tensor, size: int) -> torch.Tensor:
        out = torch.zeros(size, **self.f64)
        if self.val.numel():
            scaled = self.val * other.index_select(0, gather_at)
            out.scatter_reduce_(0, reduce_at, scaled, "amax")  # (includes the 0 start: entries are ≥ 0)
        return out * own

    def cols(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """maxᵢ left_i |m_ij| right_j for every column j."""
        return self._norms(self.row, left, self.col, right, self.shape[1])

    def rows(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """maxⱼ left_i |m_ij| right_j for every row i."""
        return self._norms(self.col, right, self.row, left, self.shape[0])


class _BlockInfNorms:
    """∞-norms of diag(left)·|A|·diag(right) for a :class:`BlockMatrix` A, in the vectors of ``ops``
    (numpy on the host, torch on the device: :class:`_HostOps`, :class:`_DeviceOps`): the sparse part S by
    :class:`_ScaledInfNorms` on the host or :class:`_DeviceInfNorms` on the device; each data term
    diag(ρ)Xdiag(κ) from X directly.  Dense X on the host: |X| once, then one broadcast multiply and
    a max per pass into a preallocated buffer (multithreaded torch ops on tensors that share numpy's
    memory); dense X on a device: the passes run there on the solver's one device copy of X
    (:meth:`BlockMatrix.device_X`), by row blocks, so the host never traverses X and no n×d
    temporary is allocated; sparse X (host only): O(nnz)."""

    def __init__(self, A: BlockMatrix, ops) -> None:
        rest = A.rest  # read only; a copy only when it has duplicate or unsorted entries
        if not rest.has_canonical_format:
            rest = rest.copy()
            rest.sum_duplicates()
        self.ops = ops
        on_device = ops.device is not None
        self.rest = _DeviceInfNorms(rest, ops.device) if on_device else _ScaledInfNorms(rest)
        self.terms = [tuple(ops.asarray(v) for v in (t.rows, t.cols, np.abs(t.row_scale), np.abs(t.col_scale)))
                      for t in A.terms]
        self.xnorms, self.Xdev, self.absX = None, None, None
        if A.x_sparse:
            self.xnorms = _ScaledInfNorms(sp.csc_matrix(A.X))
        elif on_device:
            self.Xdev = A.device_X(ops.device)
        else:
            self.absX = torch.from_numpy(np.abs(np.asarray(A.X, dtype=np.float64)))  # a fresh, writable copy
            self.buf = torch.empty_like(self.absX)

    def _x_norms(self, left, right, axis: int):
        if self.xnorms is not None:
            return self.xnorms.cols(left, right) if axis == 0 else self.xnorms.rows(left, right)
        if self.Xdev is not None:
            return x_norms_on_device(self.Xdev, left, right, axis)
        if 0 in self.absX.shape:
            return np.zeros(self.absX.shape[1 - axis])
        scale = torch.from_numpy(left)[:, None] if axis == 0 else torch.from_numpy(right)[None, :]
        torch.mul(self.absX, scale, out=self.buf)
        return self.buf.amax(dim=axis).numpy() * (right if axis == 0 else left)

    def cols(self, left, right):
        out = self.rest.cols(left, right)
        for rows, cols, rho, kappa in self.terms:
            out[cols] = self.ops.maximum(out[cols], self._x_norms(rho * left[rows], kappa * right[cols], 0))
        return out

    def rows(self, left, right):
        out = self.rest.rows(left, right)
        for rows, cols, rho, kappa in self.terms:
            out[rows] = self.ops.maximum(out[rows], self._x_norms(rho * left[rows], kappa * right[cols], 1))
        return out


def x_norms_on_device(X: torch.Tensor, left: torch.Tensor, right: torch.Tensor, axis: int) -> torch.Tensor:
    """Column (``axis=0``: maxᵢ leftᵢ|xᵢⱼ|·rightⱼ) or row (``axis=1``: maxⱼ leftᵢ|xᵢⱼ|rightⱼ) ∞-norms of
    diag(left)|X|diag(right) for a torch X on any device (``left``, ``right`` and the result there too),
    by blocks of rows."""
    n, d = X.shape
    out = torch.zeros(d if axis == 0 else n, dtype=torch.float64, device=X.device)
    for i, j in device_row_blocks(n if d else 0, d):  # (an empty X has all-zero norms)
        if axis == 0:
            torch.maximum(out, (X[i:j].abs() * left[i:j, None]).amax(dim=0), out=out)
        else:
            out[i:j] = (X[i:j].abs() * right).amax(dim=1)
    return out * (right if axis == 0 else left)


class _HostOps:
    """The vector operations of a Ruiz pass on numpy arrays (the host loop)."""

    device = None
    asarray = staticmethod(np.asarray)
    maximum = staticmethod(np.maximum)

    @staticmethod
    def ones(k: int) -> np.ndarray:
        return np.ones(k)

    @staticmethod
    def inv_sqrt_limited(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
        """1/√v with v < lo (near-empty columns: already scaled) read as 1 and v capped at hi."""
        return 1.0 / np.sqrt(np.minimum(np.where(v < lo, 1.0, v), hi))

    @staticmethod
    def row_means(v: np.ndarray) -> np.ndarray:
        return v.mean(axis=1, keepdims=True)

    @staticmethod
    def max_change(a: np.ndarray, b: np.ndarray) -> float:
        return max(np.abs(a - 1).max(initial=0.0), np.abs(b - 1).max(initial=0.0))

    @staticmethod
    def numpy(v) -> np.ndarray:
        return v


class _DeviceOps:
    """The same operations on torch vectors of one device (the device loop; one sync per pass)."""

    def __init__(self, device) -> None:
        self.device = torch.device(device)
        self.f64 = dict(dtype=torch.float64, device=self.device)

    def asarray(self, v) -> torch.Tensor:
        return torch.as_tensor(v, device=self.device)

    maximum = staticmethod(torch.maximum)

    def ones(self, k: int) -> torch.Tensor:
        return torch.ones(k, **self.f64)

    # On the CPU (the tests' DEVICE_PATHS_ON_CPU) the square roots and row means go through numpy
    # (zero-copy), so that the device loop reproduces the host factors bit for bit: torch's CPU sqrt
    # differs from the correctly rounded one in the last bit for ~1% of inputs (CUDA's is exact), and
    # its summation order from numpy's for some row lengths.
    @staticmethod
    def inv_sqrt_limited(v: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
        if v.device.type == "cpu":
            return torch.from_numpy(_HostOps.inv_sqrt_limited(v.numpy(), lo, hi))
        return 1.0 / torch.sqrt(torch.where(v < lo, 1.0, v).clamp_(max=hi))  # (rsqrt is not correctly rounded)

    @staticmethod
    def row_means(v: torch.Tensor) -> torch.Tensor:
        if v.device.type == "cpu":
            return torch.from_numpy(_HostOps.row_means(v.numpy()))
        return v.sum(dim=1, keepdim=True) / v.shape[1]

    @staticmethod
    def max_change(a: torch.Tensor, b: torch.Tensor) -> float:
        parts = [(v - 1).abs().amax() for v in (a, b) if v.numel()]
        return float(torch.stack(parts).amax()) if parts else 0.0

    @staticmethod
    def numpy(v: torch.Tensor) -> np.ndarray:
        return v.cpu().numpy()


def _uniform_views(uniform: dict, ops) -> list:
    """The rows of :func:`_uniform_blocks` as (lo, hi, k, size) ranges or (k, size) index arrays."""
    out = []
    for rows in uniform.values():
        if isinstance(rows, tuple):
            (lo, hi), shape = rows
            out.append((lo, hi) + shape)
        else:
            out.append(ops.asarray(rows))
    return out


def _ruiz_factors(normsP, normsA, uniform: list, n: int, m: int, max_iter: int, lo: float, hi: float,
                  tol: float, ops):
    """The Ruiz passes, written once for the vectors of ``ops`` (:class:`_HostOps`, :class:`_DeviceOps`;
    the norm objects take and return the same kind): D (n,) and E (m,) as numpy arrays.  Within each
    second-order / exponential cone the row factors are replaced by their mean (relative to E), so
    the scaled cone is the same cone."""
    d, e = ops.ones(n), ops.ones(m)
    for _ in range(max_iter):
        norm_x = ops.maximum(normsP.cols(d, d), normsA.cols(e, d))
        norm_z = normsA.rows(e, d)
        dx = ops.inv_sqrt_limited(norm_x, lo, hi)
        dz = ops.inv_sqrt_limited(norm_z, lo, hi)
        for rows in uniform:
            if isinstance(rows, tuple):  # views into dz and e: written in place
                a, b, k, size = rows
                er, dr = e[a:b].reshape(k, size), dz[a:b].reshape(k, size)
                dr[...] = ops.row_means(er * dr) / er
            else:
                er = e[rows]
                dz[rows] = ops.row_means(er * dz[rows]) / er
        d, e = d * dx, e * dz
        if ops.max_change(dx, dz) <= tol:
            break
    return ops.numpy(d), ops.numpy(e)


def ruiz(data: ProblemData, max_iter: int, min_scaling: float, max_scaling: float, tol: float = 0.0,
         device="cpu"):
    """Return (scaled ProblemData, Equilibration).

    At most ``max_iter`` passes; stop after a pass whose factors all lie within 1 ± ``tol``
    (the ∞-norms are then within about 2·tol of 1, and further passes only polish them).
    ``device``: where the solve runs; when A is a :class:`BlockMatrix` with a dense X and the setup
    runs there (:func:`setup_on_device`), the whole loop does: the vectors stay on the device and
    only D and E come back.
    """
    block = isinstance(data.A, BlockMatrix)
    P, A, q, b = data.P.copy(), data.A if block else data.A.copy(), data.q, data.b  # (q, b: never written)
    P.sum_duplicates()  # canonical CSC: the O(nnz) norms and in-place scalings rely on it
    if not block:
        A.sum_duplicates()
    n, m = data.n, data.m
    on_device = block and setup_on_device(device) and not A.x_sparse
    ops = _DeviceOps(device) if on_device else _HostOps
    normsP = _DeviceInfNorms(P, ops.device) if on_device else _ScaledInfNorms(P)
    normsA = _BlockInfNorms(A, ops) if block else _ScaledInfNorms(A)
    uniform = _uniform_views(_uniform_blocks(data.cones), ops)
    d, e = _ruiz_factors(normsP, normsA, uniform, n, m, max_iter, min_scaling, max_scaling, tol, ops)
    _scale_csc(P, d, d, _entry_cols(P))
    if block:
        A = A.scaled(e, d)  # X itself is shared, never rescaled
    else:
        _scale_csc(A, e, d, _entry_cols(A))
    q, b = d * q, e * b
    # cost scaling
    colP = _col_inf(P)
    scale = max(colP.mean() if n else 0.0, np.abs(q).max() if n else 0.0)
    scale = min(1.0 if scale < min_scaling else scale, max_scaling)
    c = 1.0 / scale
    P, q = P * c, q * c
    scaled = ProblemData(P=sp.csc_matrix(P), q=q, A=A, b=b, cones=data.cones)
    return scaled, Equilibration(d=d, e=e, c=c)


def no_equilibration(data: ProblemData):
    return data, Equilibration(d=np.ones(data.n), e=np.ones(data.m), c=1.0)
