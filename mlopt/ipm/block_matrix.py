"""Constraint matrices that keep a data matrix X as one block instead of embedding it entrywise.

    A = S + Σₜ E_{Rₜ} diag(ρₜ) X diag(κₜ) E_{Cₜ}ᵀ

S is a scipy sparse matrix (m × N, everything that is not data), X is the (n × d) data matrix
(dense ndarray or scipy CSR, stored once and never modified), and term t puts the scaled copy
diag(ρₜ) X diag(κₜ) at rows Rₜ (n,) and columns Cₜ (d,) of A.  A linear model's conic program
has one term per loss row that carries xᵢᵀw (one for binary losses, one per class for the
multinomial loss).  Products cost one GEMV with X per term; equilibration only updates ρₜ and
κₜ; :meth:`BlockMatrix.tocsc` materializes A for the generic KKT backends.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import List, Sequence, Tuple

import numpy as np
import scipy.sparse as sp
import torch

from .upload import to_device

__all__ = ["BlockMatrix", "DataTerm", "device_row_blocks", "setup_on_device"]

#: device passes over X go by blocks of rows of at most this many entries (bounded temporaries)
DEVICE_BLOCK_ENTRIES = 1 << 25


#: run the device setup paths (equilibration passes, the structured backend's A_c) on CPU too — off:
#: the host paths are faster there; the tests switch it on to check the device code without a GPU
DEVICE_PATHS_ON_CPU = False


def setup_on_device(device) -> bool:
    """Whether setup passes over a dense X run with torch on ``device`` (every device but the CPU,
    unless :data:`DEVICE_PATHS_ON_CPU`)."""
    return torch.device(device).type != "cpu" or DEVICE_PATHS_ON_CPU


def device_row_blocks(n: int, d: int):
    """(i, j) ranges of row blocks of an n×d matrix, each at most :data:`DEVICE_BLOCK_ENTRIES` entries."""
    step = max(1, DEVICE_BLOCK_ENTRIES // max(1, d))
    return [(i, min(i + step, n)) for i in range(0, n, step)]


@dataclass(frozen=True)
class DataTerm:
    """One placement diag(ρ) X diag(κ) of the data matrix at rows ``rows`` and columns ``cols`` of A."""

    rows: np.ndarray  # (n,) int64
    cols: np.ndarray  # (d,) int64
    row_scale: np.ndarray  # ρ, (n,)
    col_scale: np.ndarray  # κ, (d,)


def _checked_term(t: DataTerm) -> DataTerm:
    """The term with integer index arrays and float64 scales (TypeError otherwise)."""
    if not isinstance(t, DataTerm):
        raise TypeError(f"BlockMatrix: terms must be DataTerm instances, got {type(t).__name__}")
    rows, cols = np.asarray(t.rows), np.asarray(t.cols)
    for name, idx in (("rows", rows), ("cols", cols)):
        if idx.ndim != 1 or not (np.issubdtype(idx.dtype, np.integer) or idx.size == 0):
            raise TypeError(f"BlockMatrix: a term's {name} must be a 1-D integer array, got dtype {idx.dtype}, "
                            f"shape {idx.shape}")
    try:
        rho = np.asarray(t.row_scale, dtype=np.float64)
        kappa = np.asarray(t.col_scale, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError("BlockMatrix: a term's row_scale and col_scale must be numeric vectors") from exc
    return DataTerm(rows=rows.astype(np.int64), cols=cols.astype(np.int64), row_scale=rho, col_scale=kappa)


class BlockMatrix:
    """A = S + Σₜ E_{Rₜ} diag(ρₜ) X diag(κₜ) E_{Cₜ}ᵀ (see the module docstring)."""

    def __init__(self, rest: sp.spmatrix, X, terms: Sequence[DataTerm]) -> None:
        self.rest = sp.csc_matrix(rest, dtype=np.float64)
        if sp.issparse(X):  # CSR float64, shared (not copied) when it already is
            self.X = X if sp.isspmatrix_csr(X) and X.dtype == np.float64 else sp.csr_matrix(X, dtype=np.float64)
        else:
            try:
                self.X = np.asarray(X, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"BlockMatrix: X must be a numeric matrix, got {type(X).__name__}") from exc
        if self.X.ndim != 2:
            raise ValueError(f"BlockMatrix: X must be 2-dimensional, got shape {self.X.shape}")
        self.terms: List[DataTerm] = [_checked_term(t) for t in terms]
        self._device_X: dict = {}  # device → X as a torch tensor (shared with the copies from scaled())
        m, N = self.rest.shape
        n, d = self.X.shape
        for t in self.terms:
            if t.rows.shape != (n,) or t.row_scale.shape != (n,) or t.cols.shape != (d,) or t.col_scale.shape != (d,):
                raise ValueError(f"BlockMatrix: a term needs rows/row_scale of length {n} and cols/col_scale "
                                 f"of length {d} (the data matrix is {n}×{d})")
            if (t.rows.size and (t.rows.min() < 0 or t.rows.max() >= m)) or \
                    (t.cols.size and (t.cols.min() < 0 or t.cols.max() >= N)):
                raise ValueError(f"BlockMatrix: term rows must lie in 0..{m - 1} and cols in 0..{N - 1}")
            if np.bincount(t.rows, minlength=1).max(initial=0) > 1 or np.bincount(t.cols, minlength=1).max(initial=0) > 1:
                raise ValueError("BlockMatrix: the rows (and the columns) of one term must be distinct")

    # ------------------------------------------------------------------ basic protocol
    @property
    def shape(self) -> Tuple[int, int]:
        return self.rest.shape

    @property
    def x_sparse(self) -> bool:
        return sp.issparse(self.X)

    def all_finite(self, device="cpu") -> bool:
        """Whether every entry of S, X and the term scales is finite; a dense X is checked on ``device``
        (by row blocks, on the solver's device copy) when :func:`setup_on_device`."""
        if not (np.all(np.isfinite(self.rest.data))
                and all(np.all(np.isfinite(t.row_scale)) and np.all(np.isfinite(t.col_scale)) for t in self.terms)):
            return False
        if self.x_sparse:
            return bool(np.all(np.isfinite(self.X.data)))
        if setup_on_device(device):
            X = self.device_X(device)
            return all(bool(torch.isfinite(X[i:j]).all()) for i, j in device_row_blocks(*X.shape))
        return bool(np.all(np.isfinite(self.X)))

    def nonzero_columns(self, device="cpu") -> np.ndarray:
        """(d,) bool: which columns of X hold a nonzero entry (a dense X is scanned on ``device`` when
        :func:`setup_on_device`)."""
        X = self.X
        if self.x_sparse:
            return np.bincount(X.indices[X.data != 0], minlength=X.shape[1]) > 0
        if setup_on_device(device):
            Xd = self.device_X(device)
            out = torch.zeros(Xd.shape[1], dtype=torch.bool, device=Xd.device)
            for i, j in device_row_blocks(*Xd.shape):
                out |= (Xd[i:j] != 0).any(dim=0)
            return out.cpu().numpy()
        return (X != 0).any(axis=0)

    def device_X(self, device) -> torch.Tensor:
        """A dense X as a float64 torch tensor on ``device``: zero-copy on CPU, uploaded once per device
        otherwise and shared by every copy made by :meth:`scaled` (equilibration, the products and the
        structured KKT backend all use the one device copy)."""
        if self.x_sparse:
            raise TypeError("BlockMatrix.device_X: X is sparse; only a dense X has a dense device copy")
        dev = torch.device(device)
        key = str(dev)
        if key not in self._device_X:
            with warnings.catch_warnings():  # a read-only X (e.g. memory-mapped) is shared too: it is never written
                warnings.simplefilter("ignore", UserWarning)
                self._device_X[key] = to_device(self.X, dev)  # (large X to CUDA: pinned staging buffers)
        return self._device_X[key]

    def term_block(self, t: DataTerm):
        """diag(ρ) X diag(κ) of one term (dense ndarray, or CSR for sparse X)."""
        if self.x_sparse:
            return sp.csr_matrix(sp.diags(t.row_scale) @ self.X @ sp.diags(t.col_scale))
        out = np.zeros(self.X.shape)
        self.add_term_block(out, t)
        return out

    def add_term_block(self, out: np.ndarray, t: DataTerm) -> None:
        """out += diag(ρ) X diag(κ) for a dense X, ``out`` an (n, d) array or view; row block by row
        block, so no n×d temporary is allocated."""
        X = self.X
        step = max(1, (1 << 16) // max(1, X.shape[1]))
        buf = np.empty((min(step, X.shape[0]), X.shape[1]))
        for i in range(0, X.shape[0], step):
            j = min(i + step, X.shape[0])
            blk = np.multiply(X[i:j], t.row_scale[i:j, None], out=buf[: j - i])
            blk *= t.col_scale
            out[i:j] += blk

    def tocsc(self) -> sp.csc_matrix:
        """A as one scipy CSC matrix (duplicates summed)."""
        parts = [sp.coo_matrix(self.rest)]
        for t in self.terms:
            blk = sp.coo_matrix(self.term_block(t))
            parts.append(sp.coo_matrix((blk.data, (t.rows[blk.row], t.cols[blk.col])), shape=self.shape))
        rows = np.concatenate([p.row for p in parts])
        cols = np.concatenate([p.col for p in parts])
        vals = np.concatenate([p.data for p in parts])
        A = sp.csc_matrix((vals, (rows, cols)), shape=self.shape)
        A.sum_duplicates()
        return A

    def toarray(self) -> np.ndarray:
        return self.tocsc().toarray()

    def __matmul__(self, v: np.ndarray) -> np.ndarray:
        """A v for a vector v (numpy)."""
        out = self.rest @ v
        for t in self.terms:  # a term's rows are distinct: plain fancy-index add
            out[t.rows] += t.row_scale * (self.X @ (t.col_scale * v[t.cols]))
        return out

    def rmatvec(self, z: np.ndarray) -> np.ndarray:
        """Aᵀ z (numpy)."""
        out = self.rest.T @ z
        for t in self.terms:
            out[t.cols] += t.col_scale * (self.X.T @ (t.row_scale * z[t.rows]))
        return out

    def scaled(self, left: np.ndarray, right: np.ndarray) -> "BlockMatrix":
        """diag(left) A diag(right), sharing X (only ρ, κ and a copy of S change)."""
        S = self.rest  # (left_i·s_ij)·right_j entrywise, as the product diag(left)·S·diag(right)
        data = S.data * np.take(left, S.indices)
        data *= np.repeat(right, np.diff(S.indptr))
        if data.all():  # the same pattern: S's index arrays are shared (nothing writes them)
            rest = sp.csc_matrix((data, S.indices, S.indptr), shape=S.shape)
            rest.has_sorted_indices, rest.has_canonical_format = S.has_sorted_indices, S.has_canonical_format
        else:
            rest = sp.csc_matrix((data, S.indices.copy(), S.indptr.copy()), shape=S.shape)
            rest.eliminate_zeros()
        terms = [replace(t, row_scale=t.row_scale * left[t.rows], col_scale=t.col_scale * right[t.cols])
                 for t in self.terms]
        out = BlockMatrix(rest, self.X, terms)
        out._device_X = self._device_X
        return out

