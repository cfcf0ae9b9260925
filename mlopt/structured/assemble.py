"""Conic data (P, q, A, b, cones) of an :class:`~mlopt.objective.Objective`, built directly.

No CVXPY: the loss's per-sample template (:mod:`mlopt.structured.templates`) and the
penalty are laid out with numpy/scipy in one vectorized pass.  Variables are ordered

    [ w (d·K, class-major) | b (K, if fit_intercept) | t (d·K, if the penalty has an ℓ₁ part)
      | u₁ … u_n (ℓ local variables per sample) ]

and rows as [zero rows of the samples | nonneg: global rows, then the samples' rows |
exp triples of the samples].  A is a :class:`~mlopt.ipm.block_matrix.BlockMatrix`: the data
matrix X is one block (a term γ ∘ X per loss row that carries xᵢᵀw), never copied entrywise
into the sparse part.  Penalty α₁‖w‖₁ + α₂·½‖w‖²: P_ww = α₂I, q_t = α₁ and
global rows ±w − t ≤ 0; ``positive`` adds −w ≤ 0 and ``bounds`` lo ≤ w ≤ hi.
The :class:`~mlopt.ipm.kkt.structured.SampleStructure` returned alongside tells the
structured KKT backend which rows/columns are global and which belong to each sample.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import scipy.sparse as sp

from mlopt.ipm import ExponentialCone, NonnegativeCone, ZeroCone
from mlopt.ipm.block_matrix import BlockMatrix, DataTerm
from mlopt.ipm.kkt.structured import SampleStructure
from mlopt.objective import Objective, ScaledHuberObjective
from mlopt.structured.templates import LossTemplate, loss_template

__all__ = ["StructuredProblem", "assemble"]


@dataclass
class StructuredProblem:
    """Conic data of an objective, its sample structure and the variable layout."""

    P: sp.csc_matrix
    q: np.ndarray
    A: BlockMatrix  # X kept as a block (A.tocsc() for the entrywise matrix)
    b: np.ndarray
    cones: list
    structure: SampleStructure
    n_features: int
    n_outputs: int  # K
    fit_intercept: bool
    coef_shape: Tuple[int, ...]
    sample_y: Optional[np.ndarray] = None  #: targets of the samples with positive weight
    sample_c: Optional[np.ndarray] = None  #: their loss weights cᵢ = loss_weight·sᵢ

    def unpack(self, x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(coef of shape ``coef_shape``, intercept: float-like 0-d or (K,)) from the IPM's x."""
        d, K = self.n_features, self.n_outputs
        W = x[: d * K].reshape(K, d).T
        coef = W[:, 0].copy() if len(self.coef_shape) == 1 else W.copy()
        b = x[d * K: d * K + K].copy() if self.fit_intercept else np.zeros(K)
        return coef, (np.asarray(b[0]) if len(self.coef_shape) == 1 else b)


def _penalty_parts(objective: Objective) -> Tuple[float, float]:
    name = objective.penalty.name
    if name not in ("none", "l2", "l1", "elasticnet"):
        raise ValueError(f"penalty {name!r} has no structured form; supported: none, l2, l1, elasticnet")
    return objective.penalty_weights


def global_rows_of(objective: Objective, nw: int, t_start: int
                   ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nonnegative rows on w (and t): ±w − t ≤ 0 (if ``t_start``), −w ≤ 0, lo ≤ w ≤ hi.

    Returns (row, column, value, rhs) with rows numbered from 0; w is columns 0..nw−1,
    t columns ``t_start``.. (``t_start = 0``: no ℓ₁ epigraph).
    """
    gr, gc, gv, gb = [], [], [], []
    n_grow = 0

    def add_rows(cols_coefs: List[Tuple[np.ndarray, float]], rhs: np.ndarray) -> None:
        nonlocal n_grow
        k = rhs.size
        for cols, coef in cols_coefs:
            gr.append(n_grow + np.arange(k))
            gc.append(cols)
            gv.append(np.full(k, coef))
        gb.append(rhs)
        n_grow += k

    wcols = np.arange(nw)
    if t_start:
        tcols = t_start + np.arange(nw)
        add_rows([(wcols, 1.0), (tcols, -1.0)], np.zeros(nw))
        add_rows([(wcols, -1.0), (tcols, -1.0)], np.zeros(nw))
    if objective.positive:
        add_rows([(wcols, -1.0)], np.zeros(nw))
    if objective.bounds is not None:
        lo, hi = objective.bounds
        if np.isfinite(lo):
            add_rows([(wcols, -1.0)], np.full(nw, -lo))
        if np.isfinite(hi):
            add_rows([(wcols, 1.0)], np.full(nw, hi))
    if not gb:
        e = np.zeros(0, dtype=np.int64)
        return e, e, np.zeros(0), np.zeros(0)
    return np.concatenate(gr), np.concatenate(gc), np.concatenate(gv), np.concatenate(gb)


def prepare_data(objective: Objective) -> Tuple[object, np.ndarray, np.ndarray]:
    """(X, y, c) of the samples with positive weight cᵢ = loss_weight·sᵢ; X CSR or ndarray."""
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be a mlopt.objective.Objective, got {type(objective).__name__}")
    if isinstance(objective, ScaledHuberObjective):
        raise ValueError("objective: the scaled HuberRegressor objective has no structured form; "
                         "use loss='huber' with a fixed scale (ConvexLinearRegressor)")
    X = objective.X
    X = sp.csr_matrix(X, dtype=np.float64) if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    y = np.asarray(objective.y, dtype=np.float64)
    if y.ndim != 1 and objective.loss.name != "multinomial":
        raise ValueError("objective: multi-output targets are supported only with the multinomial loss "
                         "(one-vs-rest problems: fit one output at a time)")
    n_all = X.shape[0]
    sw = np.ones(n_all) if objective.sample_weight is None else np.asarray(objective.sample_weight, float)
    c_all = objective.loss_weight * sw
    keep = c_all > 0  # samples of zero weight do not enter the objective
    if not keep.all():
        X, y, c_all = X[keep], y[keep], c_all[keep]
    if c_all.size == 0 or not keep.any():
        raise ValueError("objective: no sample has a positive weight (loss_weight·sample_weight)")
    return X, y, c_all


def _sparse_part(tmpl: LossTemplate, sample_rows: np.ndarray, global_entries, m: int, nG: int) -> sp.csc_matrix:
    """The sparse part S of A as canonical CSC (sorted rows, no duplicates), built in CSC order.

    ``global_entries``: (rows, cols, values) lists of the entries on the global columns 0..nG−1, put
    in order by scipy's counting sort.  The local columns nG + i·ℓ + p follow in sample order; column
    (i, p) holds one entry per template row j with local[p] ≠ 0, at row sample_rows[i, j].  Rows are
    numbered by cone kind, then by the row's rank within its kind, then by sample (see :func:`assemble`),
    so those rows come in the same order for every sample: the local part is one (n, k) index array
    and one (k,) value pattern, with no sort over its n·k entries."""
    n, ell = sample_rows.shape[0], tmpl.n_local
    rows, cols, vals = global_entries
    cat = (lambda parts, dtype: np.concatenate(parts) if parts else np.zeros(0, dtype))  # noqa: E731
    glob = sp.coo_matrix((cat(vals, np.float64), (cat(rows, np.int64), cat(cols, np.int64))), shape=(m, nG)).tocsc()
    # the template rows that touch each local position, in row-number order (kind rank, then rank within it)
    kind_rank = {"zero": 0, "nonneg": 1, "exp": 2}
    by_row = sorted(range(len(tmpl.rows)), key=lambda j: kind_rank[tmpl.rows[j].kind])  # stable: rank in kind
    per_pos = [[j for j in by_row if tmpl.rows[j].local[p] != 0] for p in range(ell)]
    js = np.array([j for pos in per_pos for j in pos], dtype=np.int64)
    pattern = np.array([tmpl.rows[j].local[p] for p, pos in enumerate(per_pos) for j in pos], dtype=np.float64)
    # the arrays are written once, in scipy's index dtype (no concatenated or down-cast copies)
    g, k, N = glob.nnz, js.size, nG + n * ell
    idx = np.int32 if max(m, N, g + n * k) < np.iinfo(np.int32).max else np.int64
    indptr = np.empty(N + 1, dtype=idx)
    indptr[:nG + 1] = glob.indptr
    np.cumsum(np.tile(np.array([len(pos) for pos in per_pos], dtype=idx), n), out=indptr[nG + 1:])
    indptr[nG + 1:] += g
    indices = np.empty(g + n * k, dtype=idx)
    indices[:g] = glob.indices
    indices[g:].reshape(n, k)[...] = np.take(sample_rows, js, axis=1)
    data = np.empty(g + n * k)
    data[:g] = glob.data
    data[g:].reshape(n, k)[...] = pattern
    out = sp.csc_matrix((data, indices, indptr), shape=(m, N))
    out.has_sorted_indices = True  # by construction (checked against scipy's own sort in the tests)
    out.has_canonical_format = True
    return out


def assemble(objective: Objective) -> StructuredProblem:
    """Build the conic program of ``objective`` (see the module docstring)."""
    X, y, c = prepare_data(objective)
    n, d = X.shape
    loss = objective.loss
    K = y.shape[1] if loss.name == "multinomial" else 1
    a1, a2 = _penalty_parts(objective)
    tmpl = loss_template(loss, y, c)
    ell = tmpl.n_local

    # ---- columns -----------------------------------------------------------------
    nw = d * K
    nb = K if objective.fit_intercept else 0
    nt = nw if a1 > 0 else 0
    nG = nw + nb + nt
    N = nG + n * ell
    local_cols = nG + np.arange(n * ell).reshape(n, ell)

    # ---- global rows (all nonnegative): ±w − t ≤ 0, −w ≤ 0, lo ≤ w ≤ hi ------------
    gr, gc, gv, gb = global_rows_of(objective, nw, nG - nt if nt else 0)
    n_grow = gb.size

    # ---- sample rows: number them by cone kind ------------------------------------
    kinds = [row.kind for row in tmpl.rows]
    nz, nn, ne = kinds.count("zero"), kinds.count("nonneg"), kinds.count("exp")
    off_nn, off_e = n * nz, n * nz + n_grow + n * nn
    m = off_e + n * ne
    ar = np.arange(n)
    sample_rows = np.empty((n, len(tmpl.rows)), dtype=np.int64)
    seen = {"zero": 0, "nonneg": 0, "exp": 0}
    for j, row in enumerate(tmpl.rows):
        k = seen[row.kind]
        seen[row.kind] += 1
        if row.kind == "zero":
            sample_rows[:, j] = ar * nz + k
        elif row.kind == "nonneg":
            sample_rows[:, j] = off_nn + n_grow + ar * nn + k
        else:
            sample_rows[:, j] = off_e + ar * ne + k
    global_rows = off_nn + np.arange(n_grow)

    rows, cols, vals = [], [], []  # entries on the global columns (w, intercept, t)
    if n_grow:
        rows.append(off_nn + gr)
        cols.append(gc)
        vals.append(gv)
    b = np.zeros(m)
    if n_grow:
        b[global_rows] = gb
    coupling, terms = [], []
    for j, row in enumerate(tmpl.rows):
        R = sample_rows[:, j]
        b[R] = row.b
        if row.gamma is not None:
            coupling.append(j)
            # γᵢ xᵢᵀ w_klass: the data matrix stays one block (a term of the BlockMatrix A)
            terms.append(DataTerm(rows=R, cols=row.klass * d + np.arange(d),
                                  row_scale=np.asarray(row.gamma, dtype=np.float64), col_scale=np.ones(d)))
            if nb:
                rows.append(R)
                cols.append(np.full(n, nw + row.klass))
                vals.append(row.gamma)
    rest = _sparse_part(tmpl, sample_rows, (rows, cols, vals), m, nG)
    A = BlockMatrix(rest, X, terms)

    # ---- cost ------------------------------------------------------------------------
    q = np.zeros(N)
    q[local_cols] = tmpl.q_local
    if nt:
        q[nG - nt:nG] = a1
    if tmpl.beta is not None:  # Σᵢₖ βᵢₖ zᵢₖ
        q[:nw] += np.asarray(X.T @ tmpl.beta).T.ravel()
        if nb:
            q[nw:nw + nb] += tmpl.beta.sum(axis=0)
    pdiag = np.zeros(N)
    pdiag[:nw] = a2
    pdiag[local_cols] = tmpl.p_local
    P = sp.diags(pdiag).tocsc()
    P.eliminate_zeros()

    cones = []
    if nz:
        cones.append(ZeroCone(n * nz))
    if n_grow + n * nn:
        cones.append(NonnegativeCone(n_grow + n * nn))
    if ne:
        cones.append(ExponentialCone(n * ne // 3))
    structure = SampleStructure(global_cols=np.arange(nG), local_cols=local_cols, sample_rows=sample_rows,
                                coupling=np.asarray(coupling, dtype=np.int64), global_rows=global_rows)
    return StructuredProblem(P=P, q=q, A=A, b=b, cones=cones, structure=structure, n_features=d,
                             n_outputs=K, fit_intercept=bool(nb), coef_shape=objective.coef_shape,
                             sample_y=y, sample_c=c)
