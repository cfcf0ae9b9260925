"""Structured KKT backend for sample-separable problems (linear models: n samples ≫ features).

Variables split into global columns G (coefficients, intercept, penalty epigraphs) and
per-sample local columns Lᵢ (ℓ each); rows split into global rows (touching G only) and
per-sample rows Rᵢ (r each) that touch Lᵢ and — only in the c *coupling* rows of each
sample — the global columns (through xᵢ).  With H_ε = H + εI the regularized KKT system

    [P_GG+ε   0        A_cᵀ      A_gᵀ ] [x_G]   [r_G]
    [0        Kᵢ (per sample, ℓ+r)     ] [uᵢ ] = [rᵢ ]      Kᵢ = [P_LL,ᵢ+ε  Bᵢᵀ; Bᵢ  −H_ε,ᵢ]
    [A_g      0        0        −H_ε,g] [z_g]   [r_g]

is solved by eliminating each sample block and the global rows, which leaves the |G|×|G|
Schur complement

    S = P_GG + εI + A_gᵀ H_ε,g⁻¹ A_g + A_cᵀ D A_c,     Dᵢ = −[Kᵢ⁻¹]_cc  (c×c, positive definite),

formed as BᵀB (B = D^{1/2} A_c: one BLAS syrk on CPU, half a GEMM; three GEMMs of its lower block
triangle on a GPU, :func:`~mlopt.ipm.kkt.sample_structure.gram_matrix`) and factored by Cholesky.
Each Kᵢ is factored as LDLᵀ without
pivoting (it is quasi-definite) in the order [non-coupling z | local x | coupling z]:
eliminating the first ℓ + r − c unknowns leaves Sᵢ = −Dᵢ⁻¹ in the trailing c×c corner.
All samples share one block pattern, so the LDLᵀ is planned once (symbolic fill) and the blocks
are stored "structure of arrays" as their lower-triangle pattern entries, shape (nnz, n): every
step of the small factorisations and substitutions is one vectorized op over all samples
touching only structural nonzeros (a Python loop runs only over the ℓ + r − c pivots).
:meth:`~mlopt.ipm.kkt.base.KKTSolver.update` first factors K itself (ε only on zero-cone rows, where
H = 0), so a solve has no regularization bias and iterative refinement (base class) mostly
stops after its first residual check; when some local variable has no pivot of its own (the
softmax epigraph) or after a breakdown it factors K_ε and refinement removes the ε bias.  The
residuals of refinement use :meth:`~StructuredKKTSolver.apply_K`: the per-sample blocks over
their static nonzeros and A_c, A_cᵀ as GEMVs (dense, or CSR for sparse data) — no sparse A.
P_GG and the global rows A_g stay sparse (index-add products; S0 = P_GG + εI + A_gᵀH_g⁻¹A_g is
assembled as a sparse tensor from the pairs of nonzeros of each global row).  The structure (which
rows/columns are global or belong to which sample) is passed as a
:class:`SampleStructure` in the ``kkt_structure`` setting; it refers to the original
row/column numbering, which equilibration does not permute.
"""
from __future__ import annotations

import time
from typing import List, Optional, Tuple

import numpy as np
import scipy.sparse as sp
import torch

from ..block_matrix import device_row_blocks, setup_on_device
from ..cones import ScalingBlock
from .base import KKTProblem, KKTSolver, apply_blocks
from .sample_structure import CouplingMatrix, SampleStructure, StaticEntries, canonical, lookup, weighted_gram

__all__ = ["SampleStructure", "StructuredKKTSolver"]

#: largest number of position tuples nb^d for which cone slots are grouped by a bincount of integer keys
#: (an array of that length); beyond it (large second-order cones) by np.unique
_SLOT_KEYS = 1 << 22
#: a Cholesky pivot of the exact Schur complement below this fraction of its diagonal entry marks
#: S as numerically singular; S is then factored with the static ε added to its diagonal
SINGULAR_PIVOT = 1e-12


class StructuredKKTSolver(KKTSolver):
    """Schur complement on the global variables; per-sample blocks eliminated in batch."""

    name = "structured"
    #: dynamic regularization of the per-sample pivots (see :meth:`_factor`)
    dynamic_pivots = True

    def __init__(self, problem: KKTProblem, blocks: List[ScalingBlock], settings) -> None:
        super().__init__(problem, blocks, settings)
        st = getattr(settings, "kkt_structure", None)
        if not isinstance(st, SampleStructure):
            raise ValueError("kkt_solver='structured' needs the setting kkt_structure=SampleStructure(...) "
                             "(built by mlopt.structured.assemble)")
        st.check(problem.m, problem.n)
        dev, f64 = problem.device, dict(dtype=torch.float64, device=problem.device)
        self.dev = dev
        n, ell = st.local_cols.shape
        r = st.sample_rows.shape[1]
        self.ns, self.ell, self.r = n, ell, r
        self.nb = ell + r
        m, N = problem.m, problem.n
        row_owner, row_pos = lookup(st.sample_rows, m)
        col_owner, col_pos = lookup(st.local_cols, N)
        gcol_pos = np.full(N, -1, dtype=np.int64)
        gcol_pos[st.global_cols] = np.arange(st.global_cols.size)
        grow_pos = np.full(m, -1, dtype=np.int64)
        grow_pos[st.global_rows] = np.arange(st.global_rows.size)
        coup_of_pos = np.full(r, -1, dtype=np.int64)
        coup_of_pos[st.coupling] = np.arange(st.coupling.size)
        self.c = c = st.coupling.size
        nG, mg = st.global_cols.size, st.global_rows.size
        self.nG, self.mg = nG, mg

        # ---- split A: local blocks B (n, r, ℓ), coupling A_c (n, c, |G|), global A_g (m_g, |G|)
        # (a BlockMatrix A: the sparse part is split here, its data terms go straight into A_c)
        blockA = problem.A_block
        A = canonical(problem.A_sp if blockA is None else blockA.rest)  # CSC, unique (row, col) pairs
        # the local columns' entries (B) straight from the CSC arrays when every sample has the same layout
        # (what assemble builds); then only the other columns' entries go through the per-entry split below
        regular_b = _regular_local_entries(A, st, row_pos, ell)
        c0 = int(st.local_cols[0, 0])  # (with regular_b: the local columns are c0 .. c0 + n·ℓ − 1)
        i, j, v = _column_entries(A, [(0, N)] if regular_b is None else [(0, c0), (c0 + n * ell, N)])
        keep = v != 0
        if not keep.all():
            i, j, v = i[keep], j[keep], v[keep]
        ro, co = row_owner[i], col_owner[j]
        both = (ro >= 0) & (co >= 0)
        if np.any(ro[both] != co[both]):
            raise ValueError("kkt_structure: a sample row touches another sample's local column")
        if np.any((ro < 0) & (co >= 0)):
            raise ValueError("kkt_structure: a global row touches a local column")
        # the static per-sample blocks' B entries (sample, row, column, value) in natural block positions
        # [local x | sample rows]; with P_LL below they become sparse entries, never a dense (n, nb, nb) array
        bi, bv = i[both], v[both]
        b_owner, b_row, b_col = ro[both], ell + row_pos[bi], col_pos[j[both]]
        cpl = (ro >= 0) & (co < 0)
        kc = coup_of_pos[row_pos[i[cpl]]]
        if np.any(kc < 0):
            raise ValueError("kkt_structure: a non-coupling sample row touches a global column")
        # restrict the coupling block to the global columns it really touches
        gc_all = gcol_pos[j[cpl]]
        terms = [] if blockA is None else self._locate_terms(blockA, row_owner, row_pos, coup_of_pos, gcol_pos)
        touched = np.nonzero(np.bincount(np.concatenate([gc_all] + [g[nz] for _, g, nz in terms]), minlength=nG))[0]
        self.Gc = torch.as_tensor(touched, dtype=torch.long, device=dev)
        self.Gc_all = touched.size == nG
        where = np.full(nG, -1, dtype=np.int64)
        where[touched] = np.arange(touched.size)
        if blockA is not None:
            sub = self._coupling_from_terms(blockA, terms, (ro[cpl] * c + kc, where[gc_all], v[cpl]), where)
        else:
            # rows i·c + k of A_c: sample i's k-th coupling row; scipy's CSR row gather + toarray (C loops)
            sub = sp.csr_matrix(problem.A_sp)[st.sample_rows[:, st.coupling].reshape(-1)]
            gsel = st.global_cols[touched]
            if gsel.size and np.array_equal(gsel, np.arange(gsel[0], gsel[0] + gsel.size)):
                sub = sub[:, int(gsel[0]): int(gsel[0]) + gsel.size]  # contiguous: slice, not fancy index
            else:
                sub = sub[:, gsel]
        self.Ac = CouplingMatrix(sub, dev)  # (n·c, |G_c|): dense, or CSR for sparse data on CPU
        glob = ro < 0
        self.Ag = _SparseBlock(grow_pos[i[glob]], gcol_pos[j[glob]], v[glob], (mg, nG), dev)

        # ---- split P: P_GG dense, per-sample P_LL into K; P_LG must vanish
        Pc = sp.coo_matrix(canonical(problem.P_sp))
        pi, pj, pv = Pc.row, Pc.col, Pc.data
        po, qo = col_owner[pi], col_owner[pj]
        if np.any((po >= 0) != (qo >= 0)) or np.any(po[po >= 0] != qo[po >= 0]):
            raise ValueError("kkt_structure: P couples local variables to global or other samples' variables")
        loc = po >= 0
        p_loc = loc & (pv != 0)
        self.PGG = _SparseBlock(gcol_pos[pi[~loc]], gcol_pos[pj[~loc]], pv[~loc], (nG, nG), dev)
        # S0 = P_GG + εI + A_gᵀH_g⁻¹A_g is assembled sparsely: the entries of A_gᵀ diag(h) A_g are
        # Σ_k a_ki a_kj h_k over the pairs of nonzeros in each global row k (few per row)
        self._gram_pairs = self.Ag.row_pairs()
        self._diag_index = torch.arange(nG, dtype=torch.long, device=dev).expand(2, nG)
        # block order [non-coupling z | local x | coupling z]; newpos[natural position]
        noncpl = np.setdiff1d(np.arange(r), st.coupling)
        order = np.concatenate([ell + noncpl, np.arange(ell), ell + st.coupling])
        self.newpos = newpos = np.empty(self.nb, dtype=np.int64)
        newpos[order] = np.arange(self.nb)
        self.ny = self.nb - c
        # static entries in block order, both triangles: B, Bᵀ, then P_LL; the first two parts are A's alone
        static = StaticEntries(n, self.nb)
        if regular_b is None:
            static.add(b_owner, b_row, b_col, bv, posmap=newpos, mirror=True)
        else:
            static.add_regular(*regular_b, posmap=newpos, mirror=True)
        static.add(po[p_loc], col_pos[pi[p_loc]], col_pos[pj[p_loc]], pv[p_loc], posmap=newpos)
        # local x that neither P nor a non-coupling row reaches gets a zero pivot in the exact
        # factorisation (e.g. the softmax epigraph t): such problems keep K_ε throughout;
        # otherwise K is factored exactly (ε only where H = 0): refinement then stops after its
        # first residual check (measured on binary logistic: 30–45% fewer solves, same iterations)
        nnc = r - c
        self.exact_ok = static.covers(lambda ka, kb: (kb >= nnc) & (kb < nnc + ell) & ((ka == kb) | (ka < nnc)),
                                      nnc, nnc + ell)
        # structural nonzeros of the static blocks (P_LL and B entries, shared by all samples)
        # for apply_K: far fewer than nb² rows of n, which matters when n is large
        self.kpat = self._static_pattern(static)
        self.apat = self.kpat if not p_loc.any() else self._static_pattern(static.head(2))
        sign = np.where(order < ell, 1.0, -1.0)
        self.sign = torch.as_tensor(sign[:, None], **f64)
        self.sign_y = self.sign[: self.ny, 0]
        self.sign_list = sign[: self.ny].tolist()
        # where the block unknowns live: block rows [0, nnc) and [nnc + ℓ, nb) are z entries (sample rows),
        # [nnc, nnc + ℓ) are x entries (local columns); each piece is one (rows, n) index into z or x, so
        # they are gathered from and scattered to x and z directly (no concatenated [x; z] copy)
        def piece(lo: int, hi: int) -> torch.Tensor:
            out = np.empty((hi - lo, n), dtype=np.int64)
            for q in range(lo, hi):  # block position q holds natural position order[q]: local x, then sample rows
                o = order[q]
                out[q - lo] = st.local_cols[:, o] if o < ell else st.sample_rows[:, o - ell]
            return torch.as_tensor(out.reshape(-1), dtype=torch.long, device=dev)
        self._pieces = [(lo, hi, from_x, piece(lo, hi))
                        for lo, hi, from_x in ((0, nnc, False), (nnc, nnc + ell, True), (nnc + ell, self.nb, False))
                        if hi > lo]
        self._last_Axg = None
        #: seconds spent forming the weighted Gram term of the Schur complement (B = D^{1/2}A_c, BᵀB)
        self.timers = {"gram": 0.0}

        # ---- index maps: x/z vectors <-> (per-sample, global) pieces
        self.gcols = torch.as_tensor(st.global_cols, dtype=torch.long, device=dev)
        self.grows = torch.as_tensor(st.global_rows, dtype=torch.long, device=dev)
        self._block_maps = self._map_blocks(blocks, row_owner, row_pos, grow_pos, st.sample_rows)
        self._plan_factorization(static)

    @property
    def factor_cost_in_solves(self) -> float:
        """A factorization: BᵀB by SYRK, (n·c)·|G_c|² flops, and the Cholesky of S, |G|³/3; a refined
        solve: about four products with A_c (4·n·c·|G_c|), the per-sample substitutions (~10·n·n_b) and
        the triangular solves with S (2|G|²).  About |G_c|/4 for n ≫ |G_c|."""
        n, nGc, nG = self.ns * self.c, self.Gc.numel(), self.nG
        return (n * nGc ** 2 + nG ** 3 / 3) / (4 * n * nGc + 10 * self.ns * self.nb + 2 * nG ** 2)

    # ------------------------------------------------------------------ setup helpers
    def _locate_terms(self, blockA, row_owner, row_pos, coup_of_pos, gcol_pos):
        """(coupling position k, global positions of its columns, which of them hold a nonzero) of every
        data term of a BlockMatrix A: a term must be one coupling row of every sample, in sample order,
        on global columns.  All-zero columns (an empty feature) stay out of G_c, as in the entrywise A."""
        x_nz = blockA.nonzero_columns(self.dev)
        out = []
        for t in blockA.terms:
            own, pos = row_owner[t.rows], row_pos[t.rows]
            if not (np.array_equal(own, np.arange(self.ns)) and pos.size and pos.min() == pos.max()):
                raise ValueError("kkt_structure: a data term of A must occupy one row of every sample, in sample order")
            k = int(coup_of_pos[pos[0]])
            if k < 0:
                raise ValueError("kkt_structure: a data term of A lies on a non-coupling sample row")
            g = gcol_pos[t.cols]
            if np.any(g < 0):
                raise ValueError("kkt_structure: a data term of A touches a local column")
            out.append((k, g, x_nz & (t.col_scale != 0) & np.any(t.row_scale != 0)))
        return out

    def _coupling_from_terms(self, blockA, terms, triplets, where):
        """A_c ((n·c)×|G_c|) from the data terms diag(ρ)Xdiag(κ) and the sparse part's coupling
        triplets (rows i·c + k, columns, values): a dense array, or CSR when it stays sparse."""
        n, c, nGc = self.ns, self.c, int((where >= 0).sum())
        r_rest, c_rest, v_rest = triplets
        if not blockA.x_sparse and setup_on_device(self.dev):
            return self._coupling_on_device(blockA, terms, triplets, where)
        if blockA.x_sparse:  # CSR (CouplingMatrix densifies it unless it stays sparse)
            rows, cols, vals = [r_rest], [c_rest], [v_rest]
            for t, (k, g, _) in zip(blockA.terms, terms):
                blk = sp.coo_matrix(blockA.term_block(t))
                keep = blk.data != 0
                rows.append(blk.row[keep] * c + k)
                cols.append(where[g][blk.col[keep]])
                vals.append(blk.data[keep])
            return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                 shape=(n * c, nGc))
        # (n, c, |G_c|) view of a column-major (n·c)×|G_c| array (CouplingMatrix keeps it so on CPU)
        out = np.zeros((nGc, n, c)).transpose(1, 2, 0)
        for t, (k, g, _) in zip(blockA.terms, terms):
            cols = where[g]
            sel = cols >= 0  # untouched (all-zero) columns are left out of A_c
            # += : terms may overlap (A = S + Σ terms, as in BlockMatrix.tocsc); a term's columns are distinct
            if sel.all() and cols.size and np.array_equal(cols, np.arange(cols[0], cols[0] + cols.size)):
                blockA.add_term_block(out[:, k, int(cols[0]): int(cols[0]) + cols.size], t)
            else:
                out[:, k, cols[sel]] += blockA.term_block(t)[:, sel]
        out = out.reshape(n * c, nGc)
        np.add.at(out, (r_rest, c_rest), v_rest)
        return out

    def _coupling_on_device(self, blockA, terms, triplets, where) -> torch.Tensor:
        """The dense A_c of :meth:`_coupling_from_terms` built on the solver's device, by blocks of rows,
        from the one device copy of X (:meth:`BlockMatrix.device_X`): the host never holds an n×d array."""
        n, c, nGc, dev = self.ns, self.c, int((where >= 0).sum()), self.dev
        f64, lng = dict(dtype=torch.float64, device=dev), dict(dtype=torch.long, device=dev)
        X = blockA.device_X(dev)
        out = torch.zeros((n, c, nGc), **f64)
        for t, (k, g, _) in zip(blockA.terms, terms):
            cols = where[g]
            sel = np.nonzero(cols >= 0)[0]  # untouched (all-zero) columns are left out of A_c
            src, dst = torch.as_tensor(sel, **lng), torch.as_tensor(cols[sel], **lng)
            rho, kappa = torch.as_tensor(t.row_scale, **f64), torch.as_tensor(t.col_scale[sel], **f64)
            for i, j in device_row_blocks(n, X.shape[1]):  # += : terms may overlap, as on the host
                out[i:j, k].index_add_(1, dst, X[i:j].index_select(1, src) * rho[i:j, None] * kappa)
        out = out.view(n * c, nGc)
        r_rest, c_rest, v_rest = triplets
        if len(v_rest):
            out.index_put_((torch.as_tensor(r_rest, **lng), torch.as_tensor(c_rest, **lng)),
                           torch.as_tensor(v_rest, **f64), accumulate=True)
        return out

    def _static_pattern(self, static: StaticEntries):
        """(rows, cols, values (nnz, n)) of the structural nonzeros of the per-sample static blocks."""
        pa, pb = np.nonzero(static.pattern())
        slot = np.full((self.nb, self.nb), -1, dtype=np.int64)
        slot[pa, pb] = np.arange(pa.size)
        vals = np.zeros((pa.size, self.ns))
        static.scatter(vals, slot)
        f64 = dict(dtype=torch.float64, device=self.dev)
        return (torch.as_tensor(pa, dtype=torch.long, device=self.dev),
                torch.as_tensor(pb, dtype=torch.long, device=self.dev), torch.as_tensor(vals, **f64))

    def _map_blocks(self, blocks, row_owner, row_pos, grow_pos, sample_rows):
        """Per scaling block: where its H entries go in the per-sample blocks K and in H_g (global).

        The cones on sample rows are grouped into *slots*: the cones that sit at the same block
        positions (e.g. the first exponential cone of every sample).  A slot is stored as the cones
        it holds (a strided slice when they are evenly spaced, else an index), their samples (None
        when they are all samples in order) and its d block positions — O(cones) integers, not one
        flat index per H entry (at n = 10⁶ logistic samples: 18·10⁶ of those).  Global cones keep
        flat indices into H_g.  Also marks the rows of zero cones (H = 0): ``zero_blk`` (nb, n) and
        ``zero_g`` (m_g,).
        """
        maps, nb, ell, mg = [], self.nb, self.ell, self.mg
        self.global_dense = False
        f64 = dict(dtype=torch.float64, device=self.dev)
        zero_blk = torch.zeros((nb, self.ns), **f64)
        zero_g = np.zeros(mg)
        t = lambda a: torch.as_tensor(a, dtype=torch.long, device=self.dev)  # noqa: E731
        for blk in blocks:
            rows = blk.rows.detach().cpu().numpy()
            if blk.kind == "zero":
                rows = rows.ravel()
                own = row_owner[rows]
                sr = rows[own >= 0]
                zero_blk[t(self.newpos[ell + row_pos[sr]]), t(own[own >= 0])] = 1.0
                zero_g[grow_pos[rows[own < 0]]] = 1.0
                maps.append(None)
                continue
            rows2 = rows.reshape(rows.shape[0], -1)  # (k, d): one row per cone (d = 1 for "diag")
            k, d = rows2.shape
            # global cones first (the nonnegative rows of a penalty), then every sample's cones alike, sample
            # by sample (what assemble builds): no per-cone owner lookups
            g0 = int(np.argmin(grow_pos[rows2[:, 0]] >= 0)) if k and grow_pos[rows2[-1, 0]] < 0 else k
            first = _regular_cones(rows2[g0:], row_owner, row_pos, sample_rows) if g0 < k else None
            if first is not None and (grow_pos[rows2[:g0]] >= 0).all():
                cg = np.arange(g0)
                slots = self._slots(None, None, None, first=self.newpos[ell + first], offset=g0)
            else:
                own_rows = row_owner[rows2]
                own = own_rows[:, 0]
                if np.any(own_rows != own[:, None]):
                    raise ValueError("kkt_structure: a cone mixes rows of different samples (or global rows)")
                cs, cg = np.nonzero(own >= 0)[0], np.nonzero(own < 0)[0]
                slots = self._slots(cs, own[cs], self.newpos[ell + row_pos[rows2[cs]]])
            gr = grow_pos[rows2[cg]]  # (k_g, d)
            if blk.kind == "diag":
                g_sel, flat_g, gdiag = cg, gr[:, 0] * mg + gr[:, 0], gr[:, 0]
            else:  # entries (cone, a, b) of the H values
                g_sel = (cg[:, None] * (d * d) + np.arange(d * d)).ravel()
                flat_g = (gr[:, :, None] * mg + gr[:, None, :]).ravel()
                gdiag = np.repeat(gr, d, axis=1).ravel()  # the row of entry (a, b): its a
                if cg.size:
                    self.global_dense = True
            maps.append((slots, t(g_sel), t(flat_g), t(gdiag)))
        # −1 on zero-cone rows: they keep −ε at the static ε
        self.zero_blk = zero_blk.mul_(self.sign)
        self.zero_g = torch.as_tensor(zero_g, **f64)
        return maps

    def _slots(self, cones: Optional[np.ndarray], owner: Optional[np.ndarray], positions: Optional[np.ndarray],
               first: Optional[np.ndarray] = None, offset: int = 0) -> list:
        """Group sample cones by their block positions: [(cones, samples, positions (d,))], where
        ``cones`` is a slice (evenly spaced cone numbers, in sample order) or a LongTensor, and
        ``samples`` is None when the slot holds every sample once, in order, else a LongTensor.
        ``first`` (per, d): the block's cones from ``offset`` on are known to be every sample's ``per``
        cones, sample by sample, the q-th at block positions first[q] (:func:`_regular_cones`); the
        other arguments are then not read."""
        ns = self.ns
        if first is not None:  # slot q: cones q, q + per, … — the slices the grouping below would build
            per = first.shape[0]
            step = per if ns > 1 else 1
            return [(slice(offset + int(q), offset + int(q) + step * (ns - 1) + 1, step), None, first[q])
                    for q in self._position_order(first)]
        if not cones.size:
            return []
        d = positions.shape[1]
        by_key = self.nb ** d <= _SLOT_KEYS  # one integer key per position tuple: O(k) grouping by bincount
        per = cones.size // ns
        if per * ns == cones.size and (owner.reshape(ns, per) == np.arange(ns)[:, None]).all() and \
                (positions.reshape(ns, per, d) == positions[:per]).all():
            # every sample holds `per` cones, its q-th at positions[q]: slot q is every per-th cone from q
            groups = [slice(int(q), None, per) for q in self._position_order(positions[:per])]
        elif by_key:
            key = (positions * self.nb ** np.arange(d)).sum(axis=1)
            present = np.nonzero(np.bincount(key))[0]
            groups = [np.nonzero(key == kv)[0] for kv in present] if present.size > 1 else [np.arange(key.size)]
        else:
            _, inverse = np.unique(positions, axis=0, return_inverse=True)
            groups = [np.nonzero(inverse.ravel() == j)[0] for j in range(int(inverse.max()) + 1)]
        slots = []
        for g in groups:
            c, o = cones[g], owner[g]
            if o.size == ns and np.array_equal(o, np.arange(ns)):
                samples = None
                step = int(c[1] - c[0]) if ns > 1 else 1
                if step > 0 and np.array_equal(c, c[0] + step * np.arange(ns)):
                    c = slice(int(c[0]), int(c[0]) + step * (ns - 1) + 1, step)
            else:
                samples = torch.as_tensor(o, dtype=torch.long, device=self.dev)
            if not isinstance(c, slice):
                c = torch.as_tensor(c, dtype=torch.long, device=self.dev)
            slots.append((c, samples, positions[g.start if isinstance(g, slice) else g[0]]))
        return slots

    def _position_order(self, first: np.ndarray) -> np.ndarray:
        """The order of the slots with block positions first (per, d): as the general grouping of
        :meth:`_slots` orders them (by integer key, or lexicographically for large cones)."""
        d = first.shape[1]
        if self.nb ** d <= _SLOT_KEYS:
            return np.argsort((first * self.nb ** np.arange(d)).sum(axis=1))
        return np.lexsort(first.T[::-1])

    def _plan_factorization(self, static: StaticEntries) -> None:
        """Symbolic LDLᵀ of the per-sample blocks (one pattern shared by all samples).

        The pattern is that of the static entries, the cone scalings H and the diagonal, plus the
        fill of eliminating positions 0..ny−1.  Blocks are stored compactly as the lower-triangle
        entries of that pattern, ``(nnz, n)``; elimination step k touches only the rows Rₖ below
        k in its column: Lₖ = K[Rₖ, k]/dₖ and K[i, j] −= K[i, k]K[j, k]/dₖ for i ≥ j in Rₖ.
        """
        nb, ns, dev = self.nb, self.ns, self.dev
        lng = dict(dtype=torch.long, device=dev)
        pat = static.pattern() | np.eye(nb, dtype=bool)
        for mp in self._block_maps:
            for _, _, ps in ([] if mp is None else mp[0]):
                pat[np.ix_(ps, ps)] = True
        for k in range(self.ny):  # symbolic fill
            rows = k + 1 + np.nonzero(pat[k + 1:, k])[0]
            pat[np.ix_(rows, rows)] = True
        pat = pat | pat.T
        li, lj = np.nonzero(np.tril(pat))
        pos = np.full((nb, nb), -1, dtype=np.int64)
        pos[li, lj] = np.arange(li.size)
        pos[lj, li] = np.arange(li.size)
        Kc_stat = np.zeros((li.size, ns))
        static.scatter(Kc_stat, pos, select=lambda a, b: a >= b)  # the lower triangle of the symmetric blocks
        self.Kc_stat = torch.as_tensor(Kc_stat, dtype=torch.float64, device=dev)  # (nnz, n)
        self.dpos = torch.as_tensor(pos[np.arange(nb), np.arange(nb)], **lng)
        self.dpos_list = pos[np.arange(nb), np.arange(nb)].tolist()
        # H entries of the sample blocks: per slot, the entries (a, b) of each cone's d×d block that
        # fall in the lower triangle, and their rows of the compact storage
        maps = []
        for mp in self._block_maps:
            if mp is None:
                maps.append(None)
                continue
            slots = []
            for cones, samples, ps in mp[0]:
                a, b = np.meshgrid(ps, ps, indexing="ij")
                low = np.nonzero((a >= b).ravel())[0]
                slots.append((cones, samples, torch.as_tensor(low, **lng),
                              torch.as_tensor(pos[a.ravel()[low], b.ravel()[low]], **lng)))
            maps.append((slots,) + tuple(mp[1:]))
        self._block_maps = maps
        # per elimination step: rows below the pivot, their compact L entries, and the
        # lower-triangle update targets (pairs ii ≥ jj of those rows)
        self.steps = []
        for k in range(self.ny):
            rows = k + 1 + np.nonzero(pat[k + 1:, k])[0]
            ii, jj = np.nonzero(rows[:, None] >= rows[None, :])
            self.steps.append((torch.as_tensor(rows, **lng), torch.as_tensor(pos[rows, k], **lng),
                               torch.as_tensor(ii, **lng), torch.as_tensor(jj, **lng),
                               torch.as_tensor(pos[rows[ii], rows[jj]], **lng)))
        cpl = self.ny + np.arange(self.c)
        self.sc_idx = torch.as_tensor(pos[np.ix_(cpl, cpl)].reshape(-1), **lng)
        # back substitution by columns of Lᵀ: once unknown j is final, L[j, k]·x_j leaves every earlier
        # k with j below its pivot; per j: those k and the compact positions of the L[j, k]
        back, back_pos, start = [], [], 0
        for j in range(nb - 1, -1, -1):
            ks = [k for k in range(min(j, self.ny)) if pat[j, k]]
            if ks:
                back.append((j, torch.as_tensor(ks, **lng), start, start + len(ks)))
                back_pos.extend(pos[j, ks].tolist())
                start += len(ks)
        self.back = back
        self.back_pos = torch.as_tensor(back_pos, **lng)

    # ------------------------------------------------------------------ factor
    def _factor(self, blocks: List[ScalingBlock], eps: float, exact: bool = False) -> bool:
        """Factor the per-sample blocks and the Schur complement S of K_ε.

        ``exact``: no ε except on zero-cone rows, where H = 0 needs −ε to stay quasi-definite;
        the solves then have no regularization bias and iterative refinement ends after one
        residual check.  On a breakdown :meth:`update` falls back to K_ε (every diagonal entry).
        """
        self.blocks = blocks
        n, ny, c, mg = self.ns, self.ny, self.c, self.mg
        eps_all = 0.0 if exact else eps
        Kc = self.Kc_stat.clone()  # compact lower-triangle entries, (nnz, n)
        f64 = dict(dtype=torch.float64, device=self.dev)
        Hg = torch.zeros(mg * mg if self.global_dense else mg, **f64)
        for blk, mp in zip(blocks, self._block_maps):
            if mp is None:
                continue
            slots, g_sel, flat_g, gdiag = mp
            H = blk.H.reshape(blk.H.shape[0], -1)  # (cones, d·d)
            for cones, samples, entries, rows in slots:  # −H of every sample's cone at its block entries
                vals = H[cones].T.index_select(0, entries)  # (entries, samples)
                if samples is None:
                    Kc.index_add_(0, rows, vals, alpha=-1.0)
                else:
                    Kc.index_put_((rows[:, None], samples[None, :]), -vals, accumulate=True)
            vals = blk.H.reshape(-1)
            if g_sel.numel():
                if self.global_dense:
                    Hg.index_put_((flat_g,), vals[g_sel], accumulate=True)
                else:
                    Hg.index_put_((gdiag,), vals[g_sel], accumulate=True)
        Kc.index_add_(0, self.dpos, eps_all * self.sign.expand(-1, n) if eps_all else eps * self.zero_blk)
        # ---- LDLᵀ of the first ny unknowns of every sample block (no pivoting: quasi-definite)
        piv = torch.empty(ny, n, **f64)
        Ls = []
        dyn = self.dynamic_pivots and self.settings.dynamic_regularization_enable
        dyn_eps, dyn_delta = self.settings.dynamic_regularization_eps, self.settings.dynamic_regularization_delta
        for k, (rows, lidx, ii, jj, tgt) in enumerate(self.steps):
            d = Kc[self.dpos_list[k]]  # a view: a bump below lands in Kc
            if dyn:  # dynamic regularization (as QDLDL in Clarabel): a pivot of the wrong sign or ~0 → ±δ
                sk = self.sign_list[k]
                d.masked_fill_(d * sk <= dyn_eps, sk * dyn_delta)
            piv[k] = d
            if lidx.numel():
                col = Kc.index_select(0, lidx)
                lk = col / d
                Kc.index_add_(0, tgt, col.index_select(0, ii) * lk.index_select(0, jj), alpha=-1.0)
                Kc.index_copy_(0, lidx, lk)
                Ls.append(lk)
            else:
                Ls.append(None)
        # pivot signs are checked once after the loop (no per-step device sync)
        if not bool((piv * self.sign_y[:, None] > 0).all()):
            return False
        Sc = Kc.index_select(0, self.sc_idx).view(c, c, n)  # = −Dᵢ⁻¹, negative definite
        if dyn and c == 1:  # the last pivot of each block (a coupling z, sign −1) likewise
            Sc.masked_fill_(Sc >= -dyn_eps, -dyn_delta)
        # ---- S0 = P_GG + εI + A_gᵀ H_g⁻¹ A_g as a sparse (coalesced COO) |G|×|G| tensor
        idx, val = [self.PGG.index], [self.PGG.values]
        if eps_all:
            idx.append(self._diag_index)
            val.append(torch.full((self.nG,), eps_all, **f64))
        S_dense_extra = None
        if mg:
            geps = eps_all if eps_all else eps * self.zero_g
            if self.global_dense:
                Hm = Hg.view(mg, mg)
                Hm.diagonal().add_(geps)
                Lh, inf_h = torch.linalg.cholesky_ex(Hm)
                if int(inf_h) != 0:
                    return False
                self.Lh = Lh
                Agd = self.Ag.dense()
                S_dense_extra = Agd.T @ torch.cholesky_solve(Agd, Lh)
            else:
                self.hg_inv = 1.0 / (Hg + geps)
                k, pair_index, pair_vals = self._gram_pairs
                idx.append(pair_index)
                val.append(pair_vals * self.hg_inv[k])
        S = torch.sparse_coo_tensor(torch.cat(idx, 1), torch.cat(val), (self.nG, self.nG),
                                    check_invariants=False).coalesce()
        if S_dense_extra is not None:
            S = S.to_dense() + S_dense_extra
        # ---- coupling term A_cᵀ D A_c = BᵀB with B = Lᵀ A_c (D = LLᵀ): one symmetric rank-n·c update
        if c == 1:
            if not bool((Sc[0, 0] < 0).all()):
                return False
            D = -1.0 / Sc[0, 0]  # (n,)
            t0 = time.perf_counter()
            B = self.Ac.scaled_rows(D.sqrt())
            self.D1 = D
        else:
            Sinv, info = torch.linalg.inv_ex(Sc.permute(2, 0, 1))
            if bool((info != 0).any()):
                return False
            D = -0.5 * (Sinv + Sinv.transpose(1, 2))  # (n, c, c)
            LD, info = torch.linalg.cholesky_ex(D)
            if bool((info != 0).any()):
                return False
            t0 = time.perf_counter()
            B = self.Ac.block_rows(LD.transpose(1, 2).contiguous())
            self.D = D
        self.timers["gram"] += time.perf_counter() - t0
        if not self._factor_schur(S, B, eps, exact=not eps_all):
            return False
        self.Ls = Ls
        self.L_back = Kc.index_select(0, self.back_pos)  # the L[j, k] of the back substitution, by j
        self._last_Axg = None
        self.inv_piv = 1.0 / piv  # (ny, n)
        return True

    # ------------------------------------------------------------------ Schur complement
    def _factor_schur(self, S0: torch.Tensor, B: torch.Tensor, eps: float, exact: bool) -> bool:
        """Factor S = S0 + E_cᵀ BᵀB E_c (E_c: the coupled global columns G_c) by Cholesky.

        ``S0`` (|G|×|G|, a coalesced sparse COO tensor, or dense when the global rows carry dense cone
        blocks) holds P_GG, the global rows' term and ε; ``B`` is
        D^{1/2} A_c, (n·c)×|G_c| (a tensor, or a scipy CSR matrix for sparse data).  ``exact``: S0 has no ε, so a (near-)singular S — e.g. a
        softmax's common intercept shift — is regularized by ε here.  Subclasses may factor S
        differently (e.g. by the Woodbury identity when n·c < |G_c|); :meth:`_solve_schur` solves.
        """
        S = S0.to_dense() if S0.is_sparse else S0
        t0 = time.perf_counter()
        SG = weighted_gram(B).to(S.device)
        self.timers["gram"] += time.perf_counter() - t0
        if self.Gc_all:
            S += SG
        else:
            S[self.Gc[:, None], self.Gc[None, :]] += SG
        L, info = torch.linalg.cholesky_ex(S)
        if exact and int(info) == 0:
            ratio = (L.diagonal() ** 2 / S.diagonal()).min()
            if not bool(ratio > SINGULAR_PIVOT):
                S.diagonal().add_(eps)
                L, info = torch.linalg.cholesky_ex(S)
        if int(info) != 0 or not bool(torch.isfinite(L).all()):
            return False
        self.L = L
        return True

    def _solve_schur(self, rhs: torch.Tensor) -> torch.Tensor:
        """S⁻¹ rhs for the S factored by :meth:`_factor_schur`."""
        return torch.cholesky_solve(rhs[:, None], self.L)[:, 0]

    def _hg_solve(self, v: torch.Tensor) -> torch.Tensor:
        if self.global_dense:
            return torch.cholesky_solve(v[:, None], self.Lh)[:, 0]
        return self.hg_inv * v

    def _apply_D(self, r: torch.Tensor) -> torch.Tensor:
        """Dᵢ rᵢ for r of shape (c, n)."""
        if self.c == 1:
            return self.D1 * r
        return torch.einsum("nij,jn->in", self.D, r)

    # ------------------------------------------------------------------ solve
    def _solve_reg(self, rx: torch.Tensor, rz: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        n, ny, c = self.ns, self.ny, self.c
        r = self._gather_blocks(rx, rz)  # (nb, n) block right-hand sides
        for k, ((rows, *_), lk) in enumerate(zip(self.steps, self.Ls)):  # forward, unit lower factor
            if lk is not None:
                r.index_add_(0, rows, lk * r[k], alpha=-1.0)
        rc = r[ny:]  # (c, n): coupling right-hand sides after eliminating the rest
        Drc = self._apply_D(rc)  # Dᵢ r̂ᵢ
        rhs_g = rx.index_select(0, self.gcols)
        if self.mg:
            rhs_g += self.Ag.rmatvec(self._hg_solve(rz.index_select(0, self.grows)))
        ACD = self.Ac.rmatvec(Drc.T.reshape(-1))
        if self.Gc_all:
            rhs_g += ACD
        else:
            rhs_g.index_add_(0, self.Gc, ACD)
        xg = self._solve_schur(rhs_g)
        xgc = xg if self.Gc_all else xg.index_select(0, self.Gc)
        Axg = self.Ac.matvec(xgc)
        self._last_Axg = (xg, Axg)  # apply_K on this solution reuses A_c x_G (same bits)
        a = Axg.view(n, c).T  # (c, n)
        r[ny:] = self._apply_D(a - rc)  # z_c = Sᵢ⁻¹(r̂ᵢ − A_c,i x_G)
        r[:ny] *= self.inv_piv
        L_back = self.L_back
        for j, ks, a0, a1 in self.back:  # back substitution, Lᵀ by columns: r becomes the solution
            r.index_add_(0, ks, L_back[a0:a1] * r[j], alpha=-1.0)
        ox, oz = self._scatter_blocks(r, rx, rz)
        ox.index_copy_(0, self.gcols, xg)
        if self.mg:
            oz.index_copy_(0, self.grows, self._hg_solve(self.Ag.matvec(xg) - rz.index_select(0, self.grows)))
        return ox, oz

    def _gather_blocks(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The (nb, n) block unknowns (rows in block order) gathered from x and z."""
        out = torch.empty(self.nb, self.ns, dtype=x.dtype, device=x.device)
        for lo, hi, from_x, index in self._pieces:
            torch.index_select(x if from_x else z, 0, index, out=out[lo:hi].view(-1))
        return out

    def _scatter_blocks(self, blk: torch.Tensor, x: torch.Tensor, z: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Fresh (x, z)-shaped vectors holding the (nb, n) block values at their entries; the global
        entries are left for the caller to fill."""
        ox, oz = torch.empty_like(x), torch.empty_like(z)
        for lo, hi, from_x, index in self._pieces:
            (ox if from_x else oz).index_copy_(0, index, blk[lo:hi].reshape(-1))
        return ox, oz

    # ------------------------------------------------------------------ exact K, from the blocks
    def apply_K(self, x: torch.Tensor, z: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """K [x; z] = [Px + Aᵀz; Ax − Hz] from the per-sample blocks and dense coupling GEMVs.

        Same product as the base class (which multiplies by the sparse A), without the
        scipy round trips: per-sample blocks by one broadcast multiply, A_c x_G and A_cᵀ z_c
        as dense matrix–vector products.
        """
        ox, oz = self._apply(x, z, self.kpat, with_P=True)
        return ox, oz - apply_blocks(self.blocks, z)

    def apply_A(self, x: torch.Tensor, z: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(Aᵀz, Ax) from the same blocks (the residuals of the core loop)."""
        return self._apply(x, z, self.apat, with_P=False)

    def _apply(self, x, z, pattern, with_P: bool):
        """[P̃x + Aᵀz; Ax] with P̃ = P (``with_P``) or 0; ``pattern``: the static block entries to use."""
        n, ny = self.ns, self.ny
        blk = self._gather_blocks(x, z)
        ob = torch.zeros_like(blk)  # (nb, n): [P_LL] u + Bᵀz, B u over the structural nonzeros
        rows, cols, vals = pattern
        ob.index_add_(0, rows, vals * blk.index_select(0, cols))
        xg = x.index_select(0, self.gcols)
        last = self._last_Axg
        if last is not None and torch.equal(last[0], xg):
            Axg = last[1]
        else:
            Axg = self.Ac.matvec(xg if self.Gc_all else xg.index_select(0, self.Gc))
        ob[ny:] += Axg.view(n, self.c).T
        og = self.PGG.matvec(xg) if with_P else torch.zeros_like(xg)
        ACz = self.Ac.rmatvec(blk[ny:].T.reshape(-1).contiguous())
        if self.Gc_all:
            og += ACz
        else:
            og.index_add_(0, self.Gc, ACz)
        ox, oz = self._scatter_blocks(ob, x, z)
        if self.mg:
            zg = z.index_select(0, self.grows)
            og += self.Ag.rmatvec(zg)
            oz.index_copy_(0, self.grows, self.Ag.matvec(xg))
        ox.index_copy_(0, self.gcols, og)
        return ox, oz


def _regular_cones(rows2: np.ndarray, row_owner: np.ndarray, row_pos: np.ndarray, sample_rows: np.ndarray):
    """Positions P (per, d) among a sample's rows when the cones (k, d rows each) are every sample's
    ``per`` cones in sample order, cone i·per + q at rows sample_rows[i, P[q]] (what assemble builds);
    else None.  One gather and compare over the cones' rows, no per-row owner lookups."""
    k, d = rows2.shape
    ns = sample_rows.shape[0]
    per = k // ns if ns else 0
    if per == 0 or per * ns != k:
        return None
    head = rows2[:per]
    if (row_owner[head] != 0).any():
        return None
    P = row_pos[head]
    if not np.array_equal(rows2.reshape(ns, per * d), np.take(sample_rows, P.ravel(), axis=1)):
        return None
    return P


def _column_entries(M: sp.csc_matrix, ranges):
    """(rows, columns, values) of the entries of a CSC matrix in the column ranges [lo, hi) of ``ranges``
    (in increasing order), in CSC order (the order of ``sp.coo_matrix(M)`` restricted to those columns)."""
    ptr = M.indptr
    parts = [(a, b) for a, b in ranges if b > a]
    rows = [M.indices[ptr[a]:ptr[b]] for a, b in parts]
    cols = [np.repeat(np.arange(a, b), np.diff(ptr[a:b + 1])) for a, b in parts]
    vals = [M.data[ptr[a]:ptr[b]] for a, b in parts]
    cat = lambda xs, dt: np.concatenate(xs) if xs else np.zeros(0, dt)  # noqa: E731
    return cat(rows, np.int64), cat(cols, np.int64), cat(vals, np.float64)


def _regular_local_entries(A: sp.csc_matrix, st: SampleStructure, row_pos: np.ndarray, ell: int):
    """The static B entries of every sample as one regular part — block rows a (k,), block columns b (k,)
    (natural positions [local x | sample rows]) and values (k, n) — when the local columns are the
    contiguous range c₀ + i·ℓ + p, every sample's column p holds the same number of nonzero entries, and
    sample i's entries lie on its own rows sample_rows[i, ·] at the same positions as sample 0's.
    Checked with O(n·k) compares and one gather, no per-entry owner lookups; None otherwise (the
    per-entry split then handles, or rejects, the layout)."""
    n = st.local_cols.shape[0]
    if ell == 0 or n == 0:
        return None
    c0 = int(st.local_cols[0, 0])
    if not np.array_equal(st.local_cols, c0 + np.arange(n * ell).reshape(n, ell)):
        return None
    counts = np.diff(A.indptr[c0:c0 + n * ell + 1]).reshape(n, ell)
    if not (counts == counts[0]).all() or counts[0].sum() == 0:
        return None
    k = int(counts[0].sum())
    lo, hi = A.indptr[c0], A.indptr[c0 + n * ell]
    rows, vals = A.indices[lo:hi].reshape(n, k), A.data[lo:hi].reshape(n, k)
    pos0 = row_pos[rows[0]]  # sample 0's entries: their positions among its rows (−1: not a sample row)
    if (pos0 < 0).any() or not (vals != 0).all() or not np.array_equal(rows, np.take(st.sample_rows, pos0, axis=1)):
        return None
    return ell + pos0, np.repeat(np.arange(ell), counts[0]), np.ascontiguousarray(vals.T)


class _SparseBlock:
    """A small sparse matrix (P_GG or A_g) as COO index tensors on the device: products are one
    gather and one index_add (CPU and CUDA alike), never a dense |G|×|G| or m_g×|G| matrix."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, shape: Tuple[int, int],
                 device: torch.device) -> None:
        keep = vals != 0
        self.shape = shape
        self.r = torch.as_tensor(rows[keep], dtype=torch.long, device=device)
        self.c = torch.as_tensor(cols[keep], dtype=torch.long, device=device)
        self.values = torch.as_tensor(vals[keep], dtype=torch.float64, device=device)
        self.index = torch.stack([self.r, self.c])

    def matvec(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(self.shape[0]).index_add_(0, self.r, self.values * x.index_select(0, self.c))

    def rmatvec(self, z: torch.Tensor) -> torch.Tensor:
        return z.new_zeros(self.shape[1]).index_add_(0, self.c, self.values * z.index_select(0, self.r))

    def dense(self) -> torch.Tensor:
        out = torch.zeros(self.shape, dtype=torch.float64, device=self.values.device)
        return out.index_put_((self.r, self.c), self.values, accumulate=True)

    def row_pairs(self) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(row k, (2, P) index (i, j), a_ki·a_kj) for every ordered pair of nonzeros sharing a row k:
        then AᵀDA = Σ_pairs a_ki a_kj d_k e_i e_jᵀ."""
        r = self.r.cpu().numpy()
        order = np.argsort(r, kind="stable")
        r, c, v = r[order], self.c.cpu().numpy()[order], self.values.cpu().numpy()[order]
        counts = np.bincount(r, minlength=self.shape[0])
        start = np.concatenate([[0], np.cumsum(counts)])[r]  # first nonzero of each entry's row
        lens = counts[r]
        e1 = np.repeat(np.arange(r.size), lens)
        e2 = np.repeat(start, lens) + (np.arange(e1.size) - np.repeat(np.cumsum(lens) - lens, lens))
        dev = self.values.device
        t = lambda a, dt=torch.long: torch.as_tensor(a, dtype=dt, device=dev)  # noqa: E731
        return t(r[e1]), t(np.stack([c[e1], c[e2]])), t(v[e1] * v[e2], torch.float64)
