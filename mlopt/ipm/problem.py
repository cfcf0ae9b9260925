"""Validation of the problem data and conversion to torch.

Problem:  minimize ½xᵀPx + qᵀx  subject to  Ax + s = b,  s ∈ K.
P, A may be scipy sparse matrices, dense numpy arrays or torch tensors; P must be
symmetric, or upper triangular (then, as in Clarabel, only its upper triangle is read).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import scipy.sparse as sp
import torch

from .block_matrix import BlockMatrix
from .cones import check_cones


def _to_sparse(M: object, name: str, device="cpu") -> sp.csc_matrix:
    if isinstance(M, BlockMatrix):
        if name != "A":
            raise TypeError(f"{name} must be a scipy sparse, numpy or torch matrix; a BlockMatrix is accepted for A only "
                            "(use .tocsc() to pass its entries)")
        if not M.all_finite(device):
            raise ValueError(f"{name} contains NaN or inf entries; remove them before solving")
        return M
    if isinstance(M, torch.Tensor):
        M = M.detach().to("cpu")
        M = M.to_dense() if M.layout != torch.strided else M
        M = M.to(torch.float64).numpy()
    if sp.issparse(M):
        M = sp.csc_matrix(M, dtype=np.float64)
    else:
        if isinstance(M, (str, bytes)):
            raise TypeError(f"{name} must be a matrix (scipy sparse, numpy or torch), got a string")
        try:
            M = np.asarray(M, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a numeric matrix (scipy sparse, numpy array or "
                            f"torch tensor), got {type(M).__name__}") from exc
        if M.ndim != 2:
            raise ValueError(f"{name} must be 2-dimensional, got shape {M.shape}")
        M = sp.csc_matrix(M)
    if not np.all(np.isfinite(M.data)):
        raise ValueError(f"{name} contains NaN or inf entries; remove them before solving")
    return M


def _to_vector(v: object, name: str, length: int) -> np.ndarray:
    if isinstance(v, torch.Tensor):
        v = v.detach().to("cpu").to(torch.float64).numpy()
    if sp.issparse(v):
        v = v.toarray()
    if isinstance(v, (str, bytes)):
        raise TypeError(f"{name} must be a numeric vector, got a string")
    try:
        v = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric vector, got {type(v).__name__}") from exc
    if v.ndim == 2 and 1 in v.shape:
        v = v.ravel()
    if v.ndim != 1 or v.shape[0] != length:
        raise ValueError(f"{name} must be a vector of length {length}, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN or inf entries; remove them before solving")
    return v.copy()


@dataclass
class ProblemData:
    """Validated problem in scipy/numpy form (CPU, float64)."""

    P: sp.csc_matrix  # full symmetric
    q: np.ndarray
    A: object  # scipy CSC, or a BlockMatrix (data matrix kept as a block)
    b: np.ndarray
    cones: list

    @property
    def n(self) -> int:
        return self.q.shape[0]

    @property
    def m(self) -> int:
        return self.b.shape[0]


def validate_problem(P: Optional[object], q: object, A: object, b: object,
                     cones: Sequence[object], device="cpu") -> ProblemData:
    """Check shapes, finiteness and cones; return a :class:`ProblemData` (``device``: where the solve runs;
    a BlockMatrix's dense data block is checked there)."""
    if A is None:
        raise TypeError("A must be a matrix; pass an (0, n) matrix for a problem without constraints")
    A = _to_sparse(A, "A", device)
    m, n = A.shape
    q = _to_vector(q, "q", n)
    b = _to_vector(b, "b", m)
    if P is None:
        P = sp.csc_matrix((n, n))
    else:
        P = _to_sparse(P, "P")
        if P.shape != (n, n):
            raise ValueError(f"P must have shape ({n}, {n}) to match A with {n} columns, got {P.shape}")
        lower = sp.tril(P, k=-1)
        if lower.nnz and abs(P - P.T).max() > 1e-12 * max(1.0, abs(P).max()):
            raise ValueError("P must be symmetric (or upper triangular, as in Clarabel)")
        upper = sp.triu(P)
        P = sp.csc_matrix(upper + sp.triu(P, k=1).T)
    if m == 0:
        raise ValueError("A has no rows; the IPM needs at least one constraint row")
    cones = check_cones(cones, m)
    return ProblemData(P=P, q=q, A=A, b=b, cones=cones)


class SparseOperator:
    """A sparse matrix for matrix–vector products on torch vectors of one device.

    On CPU the product uses scipy's CSR kernel on zero-copy numpy views (torch's CPU
    sparse kernels are much slower); on CUDA it uses a torch sparse CSR tensor.
    """

    def __init__(self, M: sp.spmatrix, device: torch.device) -> None:
        self.sp = sp.csr_matrix(M, dtype=np.float64)
        self.shape = self.sp.shape
        self.device = torch.device(device)
        self.torch = None if self.device.type == "cpu" else sparse_to_torch(self.sp, self.device)

    def __matmul__(self, v: torch.Tensor) -> torch.Tensor:
        if self.torch is None:
            return torch.from_numpy(self.sp @ v.detach().numpy())
        if self.shape[0] == 0 or self.shape[1] == 0:
            return torch.zeros(self.shape[0], dtype=v.dtype, device=v.device)
        return (self.torch @ v[:, None])[:, 0]


class BlockOperator:
    """Products with a :class:`~mlopt.ipm.block_matrix.BlockMatrix` A on torch vectors (Aᵀ:
    :meth:`transposed`): the sparse part as a :class:`SparseOperator`, then one GEMV with X per
    data term (X zero-copy on CPU; sparse X stays CSR, scipy on CPU and torch on CUDA)."""

    def __init__(self, A: BlockMatrix, device: torch.device) -> None:
        self.device = torch.device(device)
        self.transpose = False
        self.shape = A.shape
        self.rest = SparseOperator(A.rest, self.device)
        long = dict(dtype=torch.long, device=self.device)
        f64 = dict(dtype=torch.float64, device=self.device)
        self.terms = [(torch.as_tensor(t.rows, **long), torch.as_tensor(t.cols, **long),
                       torch.as_tensor(t.row_scale, **f64), torch.as_tensor(t.col_scale, **f64)) for t in A.terms]
        if A.x_sparse:
            self.X = SparseOperator(A.X, self.device)
            self.Xt = SparseOperator(A.X.T, self.device)
        else:
            X = A.device_X(self.device)  # the one device copy of X (zero-copy on CPU)
            self.X, self.Xt = X, X.T

    def transposed(self) -> "BlockOperator":
        """The operator of the transpose, sharing X and the term tensors (one device copy of X)."""
        other = object.__new__(BlockOperator)
        other.__dict__.update(self.__dict__)
        other.transpose = not self.transpose
        other.shape = self.shape[::-1]
        other.rest = SparseOperator(self.rest.sp.T, self.device)  # the sparse part is small: its own copy
        return other

    def __matmul__(self, v: torch.Tensor) -> torch.Tensor:
        out = self.rest @ v
        for rows, cols, rho, kappa in self.terms:
            if self.transpose:  # Aᵀz: columns C get κ ∘ Xᵀ(ρ ∘ z_R)
                out.index_add_(0, cols, kappa * (self.Xt @ (rho * v.index_select(0, rows))))
            else:  # Ax: rows R get ρ ∘ X(κ ∘ x_C)
                out.index_add_(0, rows, rho * (self.X @ (kappa * v.index_select(0, cols))))
        return out


def operator_pair(M, device: torch.device):
    """(operator of M, operator of Mᵀ): :class:`BlockOperator`s for a BlockMatrix (sharing one device
    copy of X), else :class:`SparseOperator`s."""
    if isinstance(M, BlockMatrix):
        op = BlockOperator(M, device)
        return op, op.transposed()
    return SparseOperator(M, device), SparseOperator(M.T, device)


def sparse_to_torch(M: sp.spmatrix, device: torch.device) -> torch.Tensor:
    """scipy matrix -> torch sparse CSR float64 on ``device``."""
    M = sp.csr_matrix(M)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(
            torch.as_tensor(M.indptr, dtype=torch.int64),
            torch.as_tensor(M.indices, dtype=torch.int64),
            torch.as_tensor(M.data, dtype=torch.float64),
            size=M.shape, check_invariants=False,
        ).to(device)
