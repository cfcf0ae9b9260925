"""The structured backend's global pieces (P_GG, A_g) stay sparse, and fit_objective picks the
Woodbury (n·c-order) Schur solve for wide data."""
import numpy as np
import pytest
import torch

import mlopt
from mlopt.ipm.kkt.structured import _SparseBlock
from mlopt.structured import fit_objective


def test_sparse_block_products_and_row_pairs_match_dense():
    rng = np.random.default_rng(0)
    M = np.zeros((30, 12))
    for k in range(30):  # rows with 1–3 nonzeros, as the ±w − t ≤ 0 / bounds rows have
        cols = rng.choice(12, rng.integers(1, 4), replace=False)
        M[k, cols] = rng.standard_normal(cols.size)
    r, c = np.nonzero(M)
    blk = _SparseBlock(r, c, M[r, c], M.shape, torch.device("cpu"))
    x, z, h = rng.standard_normal(12), rng.standard_normal(30), rng.uniform(0.1, 3.0, 30)
    np.testing.assert_allclose(blk.matvec(torch.as_tensor(x)).numpy(), M @ x, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(blk.rmatvec(torch.as_tensor(z)).numpy(), M.T @ z, rtol=1e-14, atol=1e-14)
    np.testing.assert_array_equal(blk.dense().numpy(), M)
    k, index, vals = blk.row_pairs()
    S = torch.sparse_coo_tensor(index, vals * torch.as_tensor(h)[k], (12, 12), check_invariants=True).to_dense().numpy()
    np.testing.assert_allclose(S, M.T @ np.diag(h) @ M, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("make", [lambda: mlopt.LinearSVC(C=1.0),
                                  lambda: mlopt.ConvexLinearClassifier(loss="hinge", penalty="elasticnet",
                                                                       alpha=0.02, l1_ratio=0.5)])
def test_wide_data_pick_the_woodbury_backend(make):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 400))
    y = (X[:, :3].sum(1) > 0).astype(float)
    obj = make().get_objective(X, y)
    coef, b, info = fit_objective(obj)
    assert info["kkt_solver"] == "structured_wide" and info["status"] == "solved"
    coef_s, b_s, info_s = fit_objective(obj, kkt_solver="structured")
    assert info_s["kkt_solver"] == "structured" and info_s["status"] == "solved"
    assert abs(info["objective"] - info_s["objective"]) <= 1e-8 * max(1.0, abs(info_s["objective"]))
    tall = make().get_objective(X[:, :10], y)  # n ≫ d: the d×d Schur Cholesky
    assert fit_objective(tall)[2]["kkt_solver"] == "structured"
