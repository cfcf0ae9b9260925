"""BlockMatrix (the data matrix kept as a block of A) against its materialized scipy form."""
from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mlopt.estimators import LinearSVC, LogisticRegression
from mlopt.ipm import BlockMatrix, DataTerm, NonnegativeCone, solve
from mlopt.ipm.equilibrate import ruiz
from mlopt.ipm.problem import operator_pair, validate_problem
from mlopt.structured import assemble

CUDA = torch.cuda.is_available()
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not CUDA, reason="no CUDA")])]


def _random_block(n=30, d=5, n_terms=2, sparse_x=False, seed=0):
    """A (m × N) BlockMatrix with ``n_terms`` placements of X and a random sparse part."""
    rng = np.random.default_rng(seed)
    m, N = n * (n_terms + 1), d * n_terms + 7
    X = rng.standard_normal((n, d))
    if sparse_x:
        X[np.abs(X) < 0.8] = 0.0
        X = sp.csr_matrix(X)
    rest = sp.random(m, N, density=0.05, random_state=seed, format="csc")
    terms = [DataTerm(rows=np.arange(n) * (n_terms + 1) + t, cols=t * d + np.arange(d),
                      row_scale=rng.uniform(-2, 2, n), col_scale=rng.uniform(0.5, 2, d)) for t in range(n_terms)]
    return BlockMatrix(rest, X, terms)


@pytest.mark.parametrize("sparse_x", [False, True])
def test_products_and_scaling_match_the_materialized_matrix(sparse_x):
    A = _random_block(sparse_x=sparse_x)
    M = A.tocsc()
    rng = np.random.default_rng(1)
    v, z = rng.standard_normal(A.shape[1]), rng.standard_normal(A.shape[0])
    np.testing.assert_allclose(A @ v, M @ v, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(A.rmatvec(z), M.T @ z, rtol=1e-13, atol=1e-13)
    left, right = rng.uniform(0.1, 3, A.shape[0]), rng.uniform(0.1, 3, A.shape[1])
    S = A.scaled(left, right)
    assert S.X is A.X  # the data matrix is shared, never rescaled
    np.testing.assert_allclose(S.toarray(), left[:, None] * M.toarray() * right[None, :], rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("sparse_x", [False, True])
@pytest.mark.parametrize("device", DEVICES)
def test_torch_operator_matches_numpy(sparse_x, device):
    A = _random_block(sparse_x=sparse_x, seed=2)
    M = A.tocsc()
    v = torch.randn(A.shape[1], dtype=torch.float64)
    z = torch.randn(A.shape[0], dtype=torch.float64)
    op, op_t = operator_pair(A, device)  # the transpose shares the device copy of X
    assert op_t.X is op.X
    np.testing.assert_allclose((op @ v.to(device)).cpu().numpy(), M @ v.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose((op_t @ z.to(device)).cpu().numpy(), M.T @ z.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("sparse_x", [False, True])
def test_ruiz_equilibrates_the_block_like_the_entrywise_matrix(sparse_x):
    """Same scalings D, E, c whether A arrives as a BlockMatrix or materialized, and the scaled
    block equals the scaled entrywise matrix."""
    X, y = np.random.default_rng(3).standard_normal((60, 4)), np.arange(60) % 2
    X[:, 1] *= 50.0
    prob = assemble(LogisticRegression(C=1.0).get_objective(sp.csr_matrix(X) if sparse_x else X, y))
    blk = validate_problem(prob.P, prob.q, prob.A, prob.b, prob.cones)
    ent = validate_problem(prob.P, prob.q, prob.A.tocsc(), prob.b, prob.cones)
    (sb, eb), (se, ee) = ruiz(blk, 10, 1e-4, 1e4), ruiz(ent, 10, 1e-4, 1e4)
    np.testing.assert_allclose(eb.d, ee.d, rtol=1e-13)
    np.testing.assert_allclose(eb.e, ee.e, rtol=1e-13)
    assert eb.c == pytest.approx(ee.c, rel=1e-13)
    np.testing.assert_allclose(sb.A.toarray(), se.A.toarray(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("make", [lambda: LinearSVC(C=0.5), lambda: LogisticRegression(C=1.0, l1_ratio=0.3)])
@pytest.mark.parametrize("kkt_solver", ["structured", "qdldl"])
def test_solve_block_and_entrywise_agree(make, kkt_solver):
    """The IPM on the BlockMatrix and on its materialized CSC: the same optimum (the structured backend
    reads the data terms directly; qdldl materializes the block itself)."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((120, 6))
    y = (X @ rng.standard_normal(6) + 0.3 * rng.standard_normal(120) > 0).astype(int)
    prob = assemble(make().get_objective(X, y))
    opts = dict(kkt_solver=kkt_solver, tol=1e-9)
    if kkt_solver == "structured":
        opts["kkt_structure"] = prob.structure
    a = solve(prob.P, prob.q, prob.A, prob.b, prob.cones, **opts)
    b = solve(prob.P, prob.q, prob.A.tocsc(), prob.b, prob.cones, **opts)
    assert a.status.value == b.status.value == "solved"
    # each run stops at a relative gap ≤ 1e-9 (with residuals ≤ 1e-9): their objectives agree to about twice that
    assert abs(a.primal_objective - b.primal_objective) <= 2e-9 * max(1.0, abs(b.primal_objective))
    # w is unique (ℓ₂ term); at a 1e-9 gap it is determined to ~1e-6 relative (measured 6e-7)
    np.testing.assert_allclose(a.x[:7], b.x[:7], rtol=1e-5, atol=1e-7)


def test_bad_blocks_are_value_errors():
    X = np.ones((4, 2))
    rest = sp.csc_matrix((8, 5))
    good = dict(rows=np.arange(4), cols=np.arange(2), row_scale=np.ones(4), col_scale=np.ones(2))
    with pytest.raises(ValueError, match="length 4"):
        BlockMatrix(rest, X, [DataTerm(**{**good, "rows": np.arange(3)})])
    with pytest.raises(ValueError, match="must lie in"):
        BlockMatrix(rest, X, [DataTerm(**{**good, "cols": np.array([4, 5])})])
    with pytest.raises(ValueError, match="distinct"):
        BlockMatrix(rest, X, [DataTerm(**{**good, "rows": np.array([0, 0, 1, 2])})])
    Xnan = X.copy()
    Xnan[1, 1] = np.nan
    A = BlockMatrix(rest, Xnan, [DataTerm(**good)])
    with pytest.raises(ValueError, match="NaN"):
        solve(None, np.zeros(5), A, np.zeros(8), [NonnegativeCone(8)])


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 12), d=st.integers(1, 6), n_terms=st.integers(0, 3), sparse_x=st.booleans(),
       seed=st.integers(0, 10_000))
def test_block_products_any_shape(n, d, n_terms, sparse_x, seed):
    A = _random_block(n, d, n_terms, sparse_x, seed)
    M = A.tocsc()
    assert M.shape == A.shape
    rng = np.random.default_rng(seed)
    v, z = rng.standard_normal(A.shape[1]), rng.standard_normal(A.shape[0])
    np.testing.assert_allclose(A @ v, M @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(A.rmatvec(z), M.T @ z, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("sparse_x", [False, True])
def test_overlapping_terms_add_up_in_the_structured_backend(sparse_x):
    """Terms may share rows and columns (A = S + Σ terms): splitting each term of an assembled problem
    into two halves leaves A — and the structured solve — unchanged (a dense A_c once overwrote)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 4))
    y = (X[:, 0] + 0.5 * rng.standard_normal(80) > 0).astype(int)
    prob = assemble(LogisticRegression(C=1.0).get_objective(sp.csr_matrix(X) if sparse_x else X, y))
    halves = [replace(t, row_scale=0.5 * t.row_scale) for t in prob.A.terms for _ in range(2)]
    A2 = BlockMatrix(prob.A.rest, prob.A.X, halves)
    assert abs(A2.tocsc() - prob.A.tocsc()).max() <= 1e-15
    ref = solve(prob.P, prob.q, prob.A.tocsc(), prob.b, prob.cones, kkt_solver="qdldl", tol=1e-9)
    res = solve(prob.P, prob.q, A2, prob.b, prob.cones, kkt_solver="structured", kkt_structure=prob.structure, tol=1e-9)
    assert ref.status.value == res.status.value == "solved"
    assert abs(res.primal_objective - ref.primal_objective) <= 1e-8 * abs(ref.primal_objective)


def test_read_only_data_is_shared_without_warnings():
    X = np.random.default_rng(1).standard_normal((60, 3))
    X.setflags(write=False)
    y = np.arange(60) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = LogisticRegression(C=1.0, solver="mlopt").fit(X, y)
    assert clf.solution_.status == "optimal"


def test_block_input_errors_name_the_problem():
    rest = sp.csc_matrix((8, 5))
    good = dict(rows=np.arange(4), cols=np.arange(2), row_scale=np.ones(4), col_scale=np.ones(2))
    A = BlockMatrix(rest, np.ones((4, 2)), [DataTerm(**{**good, "rows": [0, 1, 2, 3]})])  # lists are fine
    assert A.terms[0].rows.dtype == np.int64
    with pytest.raises(TypeError, match="integer"):
        BlockMatrix(rest, np.ones((4, 2)), [DataTerm(**{**good, "rows": np.arange(4.0)})])
    with pytest.raises(ValueError, match="2-dimensional"):
        BlockMatrix(rest, np.ones(4), [])
    with pytest.raises(TypeError, match="DataTerm"):
        BlockMatrix(rest, np.ones((4, 2)), [good])
    with pytest.raises(TypeError, match="for A only"):
        solve(A, np.zeros(5), rest, np.zeros(8), [NonnegativeCone(8)])


def test_empty_coupling_block_needs_no_blas_call():
    from mlopt.ipm.kkt.sample_structure import gram_matrix

    assert gram_matrix(torch.zeros(7, 0, dtype=torch.float64)).shape == (0, 0)
    assert torch.equal(gram_matrix(torch.zeros(0, 3, dtype=torch.float64)), torch.zeros(3, 3, dtype=torch.float64))


@pytest.mark.parametrize("layout", ["contiguous", "scattered"])
def test_ruiz_keeps_each_cone_uniform(layout):
    """Rows of one second-order / exponential cone share one scaling, whether a size group's rows form
    one contiguous range (slice view) or are scattered between other cones (fancy index), and the
    two layouts give the same scalings on the same rows."""
    from mlopt.ipm import ExponentialCone, SecondOrderCone
    from mlopt.ipm.problem import ProblemData

    rng = np.random.default_rng(5)
    soc = [SecondOrderCone(3), SecondOrderCone(3)]
    cones = (soc + [NonnegativeCone(4), ExponentialCone(2)] if layout == "contiguous"
             else [soc[0], NonnegativeCone(4), soc[1], ExponentialCone(2)])
    m, n = 3 + 3 + 4 + 6, 5
    A = sp.csc_matrix(rng.standard_normal((m, n)) * rng.uniform(0.01, 100, (m, 1)))
    data = ProblemData(P=sp.csc_matrix((n, n)), q=rng.standard_normal(n), A=A, b=rng.standard_normal(m),
                       cones=cones)
    _, eq = ruiz(data, 10, 1e-4, 1e4)
    socs = [slice(0, 3), slice(3, 6)] if layout == "contiguous" else [slice(0, 3), slice(7, 10)]
    exps = [slice(10, 13), slice(13, 16)]
    for blk in socs + exps:
        np.testing.assert_allclose(eq.e[blk], eq.e[blk][0], rtol=1e-15)
    assert len(set(np.round(eq.e[:10], 12))) > 2  # the scalings are not trivially all equal
