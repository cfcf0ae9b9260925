"""The device setup paths (equilibration passes over X and the structured backend's coupling block
built on the solve device from one device copy of X), exercised on CPU: they must reproduce the host
paths exactly (same operations, same rounding)."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.preprocessing import StandardScaler

import mlopt.ipm.block_matrix as block_matrix
from mlopt.estimators import ConvexLinearRegressor, LinearSVC, LogisticRegression
from mlopt.ipm.block_matrix import BlockMatrix, DataTerm, device_row_blocks
from mlopt.ipm.equilibrate import x_norms_on_device
from mlopt.structured import fit_objective


def _cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X)[:300], y[:300]


def _wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _regression():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 7))
    return X, X @ rng.standard_normal(7) + 0.2 * rng.standard_normal(200)


CASES = [  # binary (one data term), multinomial (one term per class, c > 1), hinge, Huber
    ("logistic", lambda: LogisticRegression(C=1.0), _cancer),
    ("multinomial", lambda: LogisticRegression(C=0.5), _wine),
    ("svm", lambda: LinearSVC(C=0.5), _cancer),
    ("huber", lambda: ConvexLinearRegressor(loss="huber", epsilon=1.0, alpha=0.1), _regression),
]


@pytest.mark.parametrize("name,make,data", CASES, ids=[c[0] for c in CASES])
def test_device_setup_reproduces_host_setup(name, make, data, monkeypatch):
    X, y = data()
    obj = make().get_objective(X, y)
    coef, b, info = fit_objective(obj)
    monkeypatch.setattr(block_matrix, "DEVICE_PATHS_ON_CPU", True)
    monkeypatch.setattr(block_matrix, "DEVICE_BLOCK_ENTRIES", 7 * X.shape[1])  # many row blocks
    coef_d, b_d, info_d = fit_objective(obj)
    assert info["status"] == info_d["status"] == "solved"
    assert info_d["iterations"] == info["iterations"]
    np.testing.assert_allclose(coef_d, coef, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b_d, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n,d", [(9, 4), (1, 3), (0, 3), (5, 0)])
def test_x_norms_on_device_match_numpy(n, d, monkeypatch):
    monkeypatch.setattr(block_matrix, "DEVICE_BLOCK_ENTRIES", 2 * max(d, 1))
    rng = np.random.default_rng(n + d)
    X = rng.standard_normal((n, d))
    left, right = rng.uniform(0.1, 3.0, n), rng.uniform(0.1, 3.0, d)
    scaled = np.abs(X) * left[:, None] * right[None, :]
    cols = scaled.max(axis=0) if n else np.zeros(d)
    rows = scaled.max(axis=1) if d else np.zeros(n)
    Xt, lt, rt = torch.from_numpy(X), torch.from_numpy(left), torch.from_numpy(right)
    np.testing.assert_allclose(x_norms_on_device(Xt, lt, rt, axis=0).numpy(), cols, rtol=1e-15)
    np.testing.assert_allclose(x_norms_on_device(Xt, lt, rt, axis=1).numpy(), rows, rtol=1e-15)


def test_device_row_blocks_cover_the_rows(monkeypatch):
    monkeypatch.setattr(block_matrix, "DEVICE_BLOCK_ENTRIES", 10)
    blocks = device_row_blocks(23, 3)
    assert blocks[0] == (0, 3) and blocks[-1][1] == 23
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:]))
    assert device_row_blocks(0, 3) == [] and device_row_blocks(4, 100)[0] == (0, 1)


def test_device_X_is_one_shared_copy():
    X = np.arange(12.0).reshape(4, 3)
    term = DataTerm(rows=np.arange(4), cols=np.arange(3), row_scale=np.ones(4), col_scale=np.ones(3))
    A = BlockMatrix(sp.csc_matrix((4, 3)), X, [term])
    Xt = A.device_X("cpu")
    assert np.shares_memory(Xt.numpy(), X)  # zero-copy on CPU
    scaled = A.scaled(np.full(4, 2.0), np.full(3, 0.5))
    assert scaled.device_X("cpu") is Xt  # equilibrated copies share the device copy
    with pytest.raises(TypeError, match="sparse"):
        BlockMatrix(sp.csc_matrix((4, 3)), sp.csr_matrix(X), [term]).device_X("cpu")


@pytest.mark.parametrize("shape,order,rows_per_chunk,threads", [
    ((23, 5), "C", 4, 3), ((23, 5), "F", 4, 2), ((24, 5), "C", 8, 1), ((1, 7), "C", 3, 4), ((9, 1), "C", 2, 3),
    ((0, 4), "C", 2, 2), ((4, 0), "C", 2, 2), ((6, 3), "C", 100, 2)])
def test_staged_copy_reproduces_X(shape, order, rows_per_chunk, threads):
    """The chunked copy through two staging buffers (synchronous on CPU: the same chunking and thread
    split as on CUDA) gives X bit for bit, row-major, for any chunk boundary and memory layout."""
    from mlopt.ipm.upload import staged_copy

    X = np.asarray(np.random.default_rng(sum(shape)).standard_normal(shape), order=order)
    X.setflags(write=False)  # a read-only X is only read
    out = staged_copy(X, "cpu", rows_per_chunk * 8 * max(shape[1], 1), threads)
    assert out.shape == shape and out.is_contiguous() and out.dtype == torch.float64
    np.testing.assert_array_equal(out.numpy(), X)


def test_to_device_reads_negative_strides():
    """A reversed view (negative strides, which torch cannot view) is copied, bit for bit; a row-major
    X on the CPU is viewed, not copied."""
    from mlopt.ipm.upload import staged_copy, to_device

    X = np.random.default_rng(3).standard_normal((7, 4))
    for view in (X[::-1], X[:, ::-1], X[::-2, ::-1]):
        np.testing.assert_array_equal(to_device(view, "cpu").numpy(), view)
        np.testing.assert_array_equal(staged_copy(view, "cpu", 2 * 8 * 4, 2).numpy(), view)
    assert np.shares_memory(to_device(X, "cpu").numpy(), X)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("shape", [(1001, 37), (64, 64), (3, 5)])
def test_upload_to_cuda_is_exact(shape, monkeypatch):
    """X reaches the GPU bit for bit through pinned staging buffers (several chunks) and plainly
    (a matrix within one buffer); BlockMatrix.device_X uses that copy."""
    import mlopt.ipm.upload as upload

    monkeypatch.setattr(upload, "STAGING_BYTES", 8 * 37 * 50)  # the first shape: 21 chunks of 50 rows
    X = np.random.default_rng(0).standard_normal(shape)
    Xd = upload.to_device(X, "cuda")
    assert Xd.device.type == "cuda"
    np.testing.assert_array_equal(Xd.cpu().numpy(), X)
    term = DataTerm(rows=np.arange(shape[0]), cols=np.arange(shape[1]), row_scale=np.ones(shape[0]),
                    col_scale=np.ones(shape[1]))
    A = BlockMatrix(sp.csc_matrix(shape), X, [term])
    np.testing.assert_array_equal(A.device_X("cuda").cpu().numpy(), X)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device")])])
def test_blocked_gram_matches_gemm(device, monkeypatch):
    """BᵀB from the lower 2×2 block triangle (the GPU path for wide B; float32 takes it on CPU too):
    exactly symmetric and equal to the one-GEMM product to rounding."""
    from mlopt.ipm.kkt import sample_structure

    monkeypatch.setattr(sample_structure, "GRAM_BLOCKS_MIN_COLS", 4)
    rng = np.random.default_rng(3)
    for dtype, p, tol in ((torch.float64, 9, 1e-13), (torch.float32, 8, 1e-5), (torch.float64, 3, 1e-13)):
        if device == "cpu" and dtype == torch.float64:
            continue  # (float64 on CPU: BLAS syrk)
        B = torch.as_tensor(rng.standard_normal((50, p)), dtype=dtype, device=device)
        S = sample_structure.gram_matrix(B)
        if p >= 4:
            assert torch.equal(S, S.T)
        torch.testing.assert_close(S, B.T @ B, rtol=tol, atol=tol)


@pytest.mark.parametrize("on_device", [False, True])
def test_finiteness_and_nonzero_columns_host_and_device(on_device, monkeypatch):
    monkeypatch.setattr(block_matrix, "DEVICE_PATHS_ON_CPU", on_device)
    monkeypatch.setattr(block_matrix, "DEVICE_BLOCK_ENTRIES", 6)
    X = np.random.default_rng(0).standard_normal((7, 3))
    X[:, 1] = 0.0  # an empty feature
    term = DataTerm(rows=np.arange(7), cols=np.arange(3), row_scale=np.ones(7), col_scale=np.ones(3))
    A = BlockMatrix(sp.csc_matrix((7, 3)), X, [term])
    assert A.all_finite("cpu")
    np.testing.assert_array_equal(A.nonzero_columns("cpu"), [True, False, True])
    X_bad = X.copy()
    X_bad[6, 2] = np.nan  # in the last row block
    assert not BlockMatrix(sp.csc_matrix((7, 3)), X_bad, [term]).all_finite("cpu")
    with pytest.raises(ValueError, match="NaN or inf"):
        from mlopt.ipm import NonnegativeCone, solve
        solve(None, np.zeros(3), BlockMatrix(sp.csc_matrix((7, 3)), X_bad, [term]), np.ones(7), [NonnegativeCone(7)])


@pytest.mark.parametrize("shape,density", [((30, 20), 0.15), ((5, 4), 0.0), ((0, 3), 0.0)])
def test_sparse_norms_on_device_equal_host_norms(shape, density):
    """The Ruiz norms of the sparse part on the device: the same products and maxima, the same bits
    (empty rows and columns give 0)."""
    from mlopt.ipm.equilibrate import _DeviceInfNorms, _ScaledInfNorms

    rng = np.random.default_rng(1)
    M = sp.random(*shape, density=density, random_state=2, format="csc") * 10 - sp.random(*shape, density=density / 2,
                                                                                           random_state=3, format="csc")
    M = sp.csc_matrix(M)
    M.sum_duplicates()
    left, right = rng.uniform(0.1, 3.0, shape[0]), rng.uniform(0.1, 3.0, shape[1])
    host, device = _ScaledInfNorms(M), _DeviceInfNorms(M, "cpu")
    lt, rt = torch.from_numpy(left), torch.from_numpy(right)
    np.testing.assert_array_equal(device.cols(lt, rt).numpy(), host.cols(left, right))
    np.testing.assert_array_equal(device.rows(lt, rt).numpy(), host.rows(left, right))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name,make,data", CASES, ids=[c[0] for c in CASES])
def test_ruiz_on_cuda_matches_host(name, make, data):
    """The Ruiz loop on the GPU (torch vectors there, CUDA's correctly rounded sqrt, its own summation
    order for the cone means) gives the host's factors to rounding."""
    from mlopt.ipm.equilibrate import ruiz
    from mlopt.ipm.problem import validate_problem
    from mlopt.structured import assemble

    X, y = data()
    prob = assemble(make().get_objective(X, y))
    factors = {}
    for device in ("cpu", "cuda"):
        d = validate_problem(prob.P, prob.q, prob.A, prob.b, prob.cones, device)
        scaled, eq = ruiz(d, 10, 1e-4, 1e4, 0.02, device=device)
        factors[device] = (eq.d, eq.e, eq.c, scaled.b)
    for host, dev in zip(factors["cpu"], factors["cuda"]):
        np.testing.assert_allclose(dev, host, rtol=1e-13, atol=0)
