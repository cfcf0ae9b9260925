"""Sparse data stay sparse in the structured KKT backend: A_c is a CSR matrix (O(nnz) memory) and
A_cᵀDA_c a sparse product; the solutions match the dense-coupling solve and CVXPY+Clarabel."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from mlopt.estimators import LinearSVC, LogisticRegression, QuantileRegressor
from mlopt.ipm import solve
from mlopt.ipm.kkt import sample_structure
from mlopt.ipm.kkt.sample_structure import CouplingMatrix, weighted_gram
from mlopt.structured import assemble, fit_objective


def _sparse_data(n=400, d=120, density=0.03, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, random_state=seed, format="csr",
                  data_rvs=lambda k: rng.standard_normal(k))
    w = rng.standard_normal(d)
    score = X @ w + 0.3 * rng.standard_normal(n)
    if classes == 2:
        return X, (score > np.median(score)).astype(float)
    if classes == 0:
        return X, score
    return X, np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))


def test_coupling_matrix_products_match_dense():
    rng = np.random.default_rng(1)
    M = sp.random(300, 40, density=0.05, random_state=2, format="csr")
    Cs, Cd = CouplingMatrix(M, torch.device("cpu")), CouplingMatrix(sp.csr_matrix(M.toarray() + 1.0), "cpu")
    assert Cs.sparse and not Cd.sparse
    x, z = torch.as_tensor(rng.standard_normal(40)), torch.as_tensor(rng.standard_normal(300))
    np.testing.assert_allclose(Cs.matvec(x).numpy(), M @ x.numpy(), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(Cs.rmatvec(z).numpy(), M.T @ z.numpy(), rtol=1e-14, atol=1e-14)
    w = torch.as_tensor(rng.uniform(0.5, 2, 300))
    G = weighted_gram(Cs.scaled_rows(w)).numpy()
    np.testing.assert_allclose(G, (M.T @ sp.diags(w.numpy() ** 2) @ M).toarray(), rtol=1e-12, atol=1e-13)
    # c = 2 coupling rows per sample: blockdiag(Lᵢᵀ) A_c
    L = torch.linalg.cholesky(torch.as_tensor(np.eye(2) + 0.3 * np.ones((2, 2)))).expand(150, 2, 2)
    B = Cs.block_rows(L.transpose(1, 2).contiguous())
    Bd = torch.bmm(L.transpose(1, 2), torch.as_tensor(M.toarray()).view(150, 2, -1)).reshape(300, -1)
    np.testing.assert_allclose(B.toarray(), Bd.numpy(), rtol=1e-13, atol=1e-14)


CASES = [
    ("svm", lambda: LinearSVC(C=1.0), 2),
    ("logistic", lambda: LogisticRegression(C=1.0), 2),
    ("quantile_l1", lambda: QuantileRegressor(quantile=0.3, alpha=0.01), 0),
    ("multinomial", lambda: LogisticRegression(C=1.0), 3),
]


@pytest.mark.parametrize("name,make,classes", CASES, ids=[c[0] for c in CASES])
def test_sparse_coupling_matches_dense_and_clarabel(name, make, classes, monkeypatch):
    X, y = _sparse_data(classes=classes, seed=len(name))
    est = make()
    obj = est.get_objective(X, y)
    coef, b, info = fit_objective(obj)
    assert info["status"] == "solved"
    # the same problem with the coupling block forced dense
    monkeypatch.setattr(sample_structure, "SPARSE_COUPLING_DENSITY", 0.0)
    coef_d, b_d, info_d = fit_objective(obj)
    monkeypatch.undo()
    assert info_d["status"] == "solved"
    ref = est.get_problem(X, y)
    ref.problem.solve(solver="CLARABEL", tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
    f_ref = obj.value(ref.coef.value, ref.intercept.value)
    for f in (info["objective"], info_d["objective"]):
        assert abs(f - f_ref) <= 1e-7 * max(1.0, abs(f_ref))
    assert abs(info["objective"] - info_d["objective"]) <= 1e-8 * max(1.0, abs(f_ref))


def test_backend_keeps_sparse_data_sparse():
    X, y = _sparse_data(n=3000, d=2000, density=0.002, seed=5)
    prob = assemble(LinearSVC(C=1.0).get_objective(X, y))
    seen = {}
    from mlopt.ipm.kkt import structured

    orig = structured.StructuredKKTSolver.__init__

    def spy(self, *a, **k):
        orig(self, *a, **k)
        seen["ac"] = self.Ac

    structured.StructuredKKTSolver.__init__ = spy
    try:
        res = solve(prob.P, prob.q, prob.A, prob.b, prob.cones, kkt_solver="structured",
                    kkt_structure=prob.structure)
    finally:
        structured.StructuredKKTSolver.__init__ = orig
    assert res.status.value == "solved"
    ac = seen["ac"]
    assert ac.sparse and ac.csr.nnz <= X.nnz + X.shape[0]  # data entries (+ the intercept column)
    assert not hasattr(ac, "dense")  # no dense (n × d) copy of the data
