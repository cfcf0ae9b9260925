"""``structured_wide`` KKT backend (Woodbury/bordered Schur solve of order n·c for d > n):
fits vs the dense ``structured`` backend and CVXPY+Clarabel, its Schur solve vs dense solves,
the structural F_s / eliminated-column paths and the dense fallback."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from mlopt.estimators import (ConvexLinearClassifier, ConvexLinearRegressor, LinearSVC, LogisticRegression,
                              QuantileRegressor)
from mlopt.ipm import IPMSettings, NonnegativeCone, solve
from mlopt.ipm.kkt import KKT_SOLVERS, Regularization, make_kkt_solver
from mlopt.ipm.kkt.sample_structure import SampleStructure
from mlopt.ipm.kkt.structured_wide import WideStructuredKKTSolver
from mlopt.structured import assemble, fit_objective

from .kkt_setup import interior_kkt_setup

CUDA = torch.cuda.is_available()


@pytest.fixture
def instances(monkeypatch):
    """Every structured_wide solver built while the test runs."""
    made = []

    class Recording(WideStructuredKKTSolver):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(self)

    monkeypatch.setitem(KKT_SOLVERS, "structured_wide", Recording)
    return made


def _wide_classification(n=50, d=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, (X[:, :5] @ rng.standard_normal(5) + 0.5 * rng.standard_normal(n) > 0).astype(int)


def _wide_regression(n=50, d=300, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X[:, :5] @ rng.standard_normal(5) + 0.3 * rng.standard_normal(n)


def _cancer_wide(n=40, extra=160, seed=2):
    """The first 40 breast_cancer samples (30 standardized features) plus 160 noise features."""
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:n]
    rng = np.random.default_rng(seed)
    return np.hstack([X, rng.standard_normal((n, extra))]), y[:n]


# name: (estimator, data, coefficients unique?, IPM tol).  Exponential cones at tol 1e-8 where
# that pins the coefficients to 1e-5: at 1e-9 the tail of either backend may end "almost_solved"
CASES = {
    "svc": (lambda: LinearSVC(C=0.7), _wide_classification, True, 1e-9),  # exact K, intercept σ = 0
    "hinge_l1_noint": (lambda: ConvexLinearClassifier(loss="hinge", penalty="l1", alpha=0.02, fit_intercept=False),
                       _wide_classification, False, 1e-9),  # t columns eliminated, σ_j → 0 off zero
    "hinge_enet": (lambda: ConvexLinearClassifier(loss="hinge", penalty="elasticnet", alpha=0.05, l1_ratio=0.5),
                   _wide_classification, True, 1e-9),
    "logistic": (lambda: LogisticRegression(C=0.5), _wide_classification, True, 1e-8),
    "logistic_l1_noint": (lambda: LogisticRegression(C=2.0, l1_ratio=1.0, fit_intercept=False),
                          _wide_classification, False, 1e-8),
    "logistic_enet": (lambda: LogisticRegression(C=1.0, l1_ratio=0.5), _wide_classification, True, 1e-9),
    "quantile": (lambda: QuantileRegressor(quantile=0.3, alpha=0.02), _wide_regression, False, 1e-9),  # zero cones
    "absolute_l2_noint": (lambda: ConvexLinearRegressor(loss="absolute", penalty="l2", alpha=0.05,
                                                        fit_intercept=False), _wide_regression, True, 1e-9),
    "cancer_svc": (lambda: LinearSVC(C=1.0), _cancer_wide, True, 1e-9),
    "cancer_logistic_enet": (lambda: LogisticRegression(C=1.0, l1_ratio=0.5), _cancer_wide, True, 1e-8),
}


@pytest.mark.parametrize("name", list(CASES))
def test_wide_fit_matches_structured_and_clarabel(name, instances):
    make, data, unique, tol = CASES[name]
    X, y = data()
    est = make()
    obj = est.get_objective(X, y)
    prob = assemble(obj)
    coef, b, info = fit_objective(obj, tol=tol, kkt_solver="structured_wide", kkt_structure=prob.structure)
    coef_d, b_d, info_d = fit_objective(obj, tol=tol, kkt_solver="structured", kkt_structure=prob.structure)
    assert info["status"] == info_d["status"] == "solved"
    assert info["kkt_solver"] == "structured_wide"
    # the Woodbury form did every factorisation (no dense fallback)
    (kkt,) = instances
    assert kkt.woodbury and kkt.reason is None
    assert kkt.n_woodbury >= info["iterations"] and kkt.n_dense == 0
    # exponential cones: the last, ill-conditioned steps may differ (either backend may need more)
    assert abs(info["iterations"] - info_d["iterations"]) <= max(3, 0.3 * info_d["iterations"])
    f = info["objective"]
    assert abs(f - info_d["objective"]) <= 1e-7 * max(1.0, abs(f))
    ref = est.get_problem(X, y)
    ref.problem.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert ref.problem.status == "optimal"
    c_ref = np.asarray(ref.coef.value)
    b_ref = np.asarray(ref.intercept.value) if obj.fit_intercept else np.zeros(())
    f_ref = obj.value(c_ref, b_ref)
    assert abs(f - f_ref) <= 1e-7 * max(1.0, abs(f_ref))
    if unique:
        np.testing.assert_allclose(coef, c_ref, atol=1e-5)
        np.testing.assert_allclose(b, b_ref, atol=1e-5)
        np.testing.assert_allclose(coef, coef_d, atol=1e-5)


# ---------------------------------------------------------------------------- Schur solve
SCHUR_CASES = {
    "svc": lambda: LinearSVC(C=0.7),  # exact: the intercept's S0 diagonal is 0
    "hinge_enet": lambda: ConvexLinearClassifier(loss="hinge", penalty="elasticnet", alpha=0.05, l1_ratio=0.5),
    "logistic": lambda: LogisticRegression(C=1.0),  # K_ε: the intercept's S0 diagonal is ε
    "multinomial": lambda: LogisticRegression(C=0.5),  # c = 3 coupling rows per sample
}


def _schur_pair(name, device="cpu"):
    X, y = _wide_classification(30, 150, seed=4)
    if name == "multinomial":
        y = np.random.default_rng(0).integers(0, 3, X.shape[0])
    prob = assemble(SCHUR_CASES[name]().get_objective(X, y))
    settings = IPMSettings(kkt_solver="structured_wide", kkt_structure=prob.structure, device=device)
    kp, blocks, gen = interior_kkt_setup(prob.P, prob.A, prob.cones, device)
    wide = make_kkt_solver("structured_wide", kp, blocks, settings)
    dense = make_kkt_solver("structured", kp, blocks, settings)
    return wide, dense, blocks, gen, kp


@pytest.mark.parametrize("name", list(SCHUR_CASES))
def test_schur_solve_matches_dense_cholesky(name):
    """One factorisation, both backends: S⁻¹r agree and the exact S (= LLᵀ of the dense backend)
    is satisfied to 1e-10 relative; then a refined KKT solve satisfies the exact K."""
    wide, dense, blocks, gen, kp = _schur_pair(name)
    assert wide.woodbury
    for mode in ("update", 1e-8):
        if mode == "update":  # exact K where the cones allow it (hinge), K_ε otherwise
            assert wide.update(blocks, Regularization(1e-8)) and dense.update(blocks, Regularization(1e-8))
        else:
            assert wide._factor(blocks, mode) and dense._factor(blocks, mode)
        assert wide._mode == "woodbury" and wide.F.numel() >= (0 if name == "hinge_enet" else 1)
        S = dense.L @ dense.L.T
        r = torch.randn(wide.nG, dtype=torch.float64, generator=gen)
        x, xd = wide._solve_schur(r), dense._solve_schur(r)
        res, res_d = float((S @ x - r).abs().max()), float((S @ xd - r).abs().max())
        if name == "multinomial":  # S + εI is near-singular (common intercept shift, κ ≈ 1e9): x ≈ 1e5–1e6
            assert res <= 2 * res_d
        else:
            assert res <= 1e-10 * float(r.abs().max())
            assert float((x - xd).abs().max()) <= 1e-9 * float(xd.abs().max())
    # a full KKT solve (with refinement) satisfies the exact K (a consistent right-hand side:
    # the softmax's K is singular)
    rx, rz = wide.apply_K(torch.randn(kp.n, dtype=torch.float64, generator=gen),
                          torch.randn(kp.m, dtype=torch.float64, generator=gen))
    x, z = wide.solve(rx, rz)
    kx, kz = wide.apply_K(x, z)
    tol = 1e-8 if name == "multinomial" else 1e-11  # the softmax's K is singular (common intercept shift)
    assert max(float((kx - rx).abs().max()), float((kz - rz).abs().max())) <= tol * float(max(rx.abs().max(),
                                                                                             rz.abs().max()))


@pytest.mark.parametrize("spread", [0, 4, 8])
def test_schur_solve_extreme_scaling(spread):
    """Synthetic late-IPM scaling of an elastic-net hinge problem: sample weights D and the ±w − t
    row weights spread over 10^±spread, intercept diagonal exactly 0 (exact) or ε: the Woodbury
    solve agrees with a dense LU solve of S; a torch sparse S0 gives the same solve."""
    rng = np.random.default_rng(spread)
    n, d = 30, 120
    X = rng.standard_normal((n, d))
    prob = assemble(ConvexLinearClassifier(loss="hinge", penalty="elasticnet", alpha=0.05, l1_ratio=0.5)
                    .get_objective(X, (X[:, 0] > 0).astype(int)))
    kp, blocks, _ = interior_kkt_setup(prob.P, prob.A, prob.cones)
    wide = make_kkt_solver("structured_wide", kp, blocks,
                           IPMSettings(kkt_solver="structured_wide", kkt_structure=prob.structure))
    nG, w, t = wide.nG, np.arange(d), d + 1 + np.arange(d)
    h1, h2 = 10.0 ** rng.uniform(-spread, spread, d), 10.0 ** rng.uniform(-spread, spread, d)
    S0 = np.zeros((nG, nG))
    S0[w, w], S0[t, t] = 0.3 + h1 + h2, h1 + h2
    S0[w, t] = S0[t, w] = h1 - h2
    B = np.sqrt(10.0 ** rng.uniform(-spread, spread, n))[:, None] * np.hstack([X, np.ones((n, 1))])
    S = S0.copy()
    S[: d + 1, : d + 1] += B.T @ B
    r = rng.standard_normal(nG)
    for exact, eps in ((True, 0.0), (False, 1e-8)):
        S0e = torch.tensor(S0 + eps * np.eye(nG))
        assert wide._factor_schur(S0e.clone(), torch.tensor(B), 1e-8, exact)
        assert wide._mode == "woodbury" and d not in wide.inR.nonzero()  # intercept bordered
        x = wide._solve_schur(torch.tensor(r)).numpy()
        xd = np.linalg.solve(S + eps * np.eye(nG), r)
        assert np.abs(x - xd).max() <= 1e-8 * np.abs(xd).max()
        assert wide._factor_schur(S0e.to_sparse(), torch.tensor(B), 1e-8, exact) and wide._mode == "woodbury"
        np.testing.assert_allclose(wide._solve_schur(torch.tensor(r)).numpy(), x, rtol=0, atol=1e-12 * np.abs(x).max())


# ---------------------------------------------------------------------------- structure paths
def _with_global_row(prob, row: np.ndarray, rhs: float):
    """Append the nonnegative global row ``row``·x ≤ rhs (hinge problems: nonnegative cones only)."""
    assert len(prob.cones) == 1 and isinstance(prob.cones[0], NonnegativeCone)
    m, N = prob.A.shape
    A = sp.vstack([prob.A.tocsc(), sp.csr_matrix(row.reshape(1, -1))]).tocsc()  # entrywise A (the scipy path)
    st = prob.structure
    structure = SampleStructure(st.global_cols, st.local_cols, st.sample_rows, st.coupling,
                                np.append(st.global_rows, m))
    return A, np.append(prob.b, rhs), [NonnegativeCone(m + 1)], structure


def test_dense_global_row_falls_back_to_dense_cholesky(instances):
    """A row Σ w_j ≥ 0.2 couples every coefficient: no Woodbury structure, the parent's Cholesky
    runs and the solution matches the structured and qdldl backends."""
    X, y = _wide_classification(40, 200)
    prob = assemble(LinearSVC(C=1.0).get_objective(X, y))
    row = np.zeros(prob.A.shape[1])
    row[:200] = -1.0
    A, b, cones, structure = _with_global_row(prob, row, -0.2)
    a = solve(prob.P, prob.q, A, b, cones, kkt_solver="structured_wide", kkt_structure=structure, tol=1e-9)
    (kkt,) = instances
    assert not kkt.woodbury and "couple" in kkt.reason and kkt.n_woodbury == 0 and kkt.n_dense > 0
    c = solve(prob.P, prob.q, A, b, cones, kkt_solver="structured", kkt_structure=structure, tol=1e-9)
    q = solve(prob.P, prob.q, A, b, cones, kkt_solver="qdldl", tol=1e-9)
    assert a.status.value == c.status.value == q.status.value == "solved"
    assert a.iterations == c.iterations
    assert abs(float(a.x[:200].sum()) - 0.2) <= 1e-7  # the row is active at the optimum
    np.testing.assert_allclose(a.x[:201], q.x[:201], atol=1e-7)
    assert abs(a.primal_objective - q.primal_objective) <= 1e-8 * abs(q.primal_objective)


def test_tall_data_falls_back():
    X, y = _wide_classification(80, 20)
    prob = assemble(LinearSVC(C=1.0).get_objective(X, y))
    kp, blocks, _ = interior_kkt_setup(prob.P, prob.A, prob.cones)
    kkt = make_kkt_solver("structured_wide", kp, blocks,
                          IPMSettings(kkt_solver="structured_wide", kkt_structure=prob.structure))
    assert not kkt.woodbury and "n·c = 80" in kkt.reason


def test_structural_border_columns_match_qdldl(instances):
    """P_GG with off-diagonal entries (w₀–w₁, w₂–w₃) and a global row w₄ − w₅ ≤ 0.01: those six
    columns form F_s, bordered with their dense M block; the solution matches qdldl."""
    X, y = _wide_classification(40, 200, seed=3)
    prob = assemble(LinearSVC(C=1.0).get_objective(X, y))
    P = sp.lil_matrix(prob.P)
    P[0, 1] = P[1, 0] = 0.4
    P[2, 3] = P[3, 2] = -0.3
    P = sp.csc_matrix(P)
    row = np.zeros(prob.A.shape[1])
    row[4], row[5] = 1.0, -1.0
    A, b, cones, structure = _with_global_row(prob, row, 0.01)
    a = solve(P, prob.q, A, b, cones, kkt_solver="structured_wide", kkt_structure=structure, tol=1e-9)
    (kkt,) = instances
    assert kkt.woodbury and sorted(kkt.Fs_g.tolist()) == [0, 1, 2, 3, 4, 5] and kkt.n_dense == 0
    q = solve(P, prob.q, A, b, cones, kkt_solver="qdldl", tol=1e-9)
    assert a.status.value == q.status.value == "solved" and abs(a.iterations - q.iterations) <= 1
    assert abs(a.x[4] - a.x[5] - 0.01) <= 1e-7  # the row is active
    np.testing.assert_allclose(a.x[:201], q.x[:201], atol=1e-7)


def test_sparse_data_with_empty_feature(instances):
    """Sparse X with an all-zero feature and an ℓ₁ part: w_j, t_j are both uncoupled and adjacent
    in S0 (w_j stays a kept column with a zero column of B); the coupling block arrives sparse."""
    X, y = _wide_classification(40, 250, seed=5)
    X[np.abs(X) < 1.0] = 0.0
    X[:, 7] = 0.0
    est = ConvexLinearClassifier(loss="hinge", penalty="elasticnet", alpha=0.05, l1_ratio=0.5)
    obj = est.get_objective(sp.csr_matrix(X), y)
    prob = assemble(obj)
    coef, b, info = fit_objective(obj, tol=1e-9, kkt_solver="structured_wide", kkt_structure=prob.structure)
    (kkt,) = instances
    assert kkt.woodbury and not kkt.Gc_all and 7 in kkt.kcols[kkt.nKc:].tolist() and kkt.n_dense == 0
    # the same iterations with the dense Schur solve: without centrality correctors, which the wide
    # backend does not run (the dense one would: a 501×501 Cholesky costs many solves)
    coef_d, b_d, info_d = fit_objective(obj, tol=1e-9, kkt_solver="structured", kkt_structure=prob.structure,
                                        centrality_correctors=0)
    assert info["status"] == info_d["status"] == "solved"
    assert abs(info["objective"] - info_d["objective"]) <= 1e-8 * abs(info_d["objective"])
    np.testing.assert_allclose(coef, coef_d, atol=1e-6)
    assert coef[7] == pytest.approx(0.0, abs=1e-9)


def test_missing_structure_is_a_value_error():
    X, y = _wide_classification(20, 60)
    prob = assemble(LinearSVC().get_objective(X, y))
    with pytest.raises(ValueError, match="kkt_structure"):
        solve(prob.P, prob.q, prob.A, prob.b, prob.cones, kkt_solver="structured_wide")


@pytest.mark.cuda
@pytest.mark.skipif(not CUDA, reason="no CUDA")
@pytest.mark.parametrize("name", ["svc", "logistic"])
def test_cuda_matches_cpu(name):
    make, data, _, _ = CASES[name]
    X, y = data()
    obj = make().get_objective(X, y)
    prob = assemble(obj)
    kw = dict(tol=1e-9, kkt_solver="structured_wide", kkt_structure=prob.structure)
    coef, b, info = fit_objective(obj, device="cuda", **kw)
    coef_c, b_c, info_c = fit_objective(obj, device="cpu", **kw)
    assert info["status"] == "solved" and info["device"].startswith("cuda")
    assert abs(info["objective"] - info_c["objective"]) <= 1e-8 * max(1.0, abs(info_c["objective"]))
    np.testing.assert_allclose(coef, coef_c, atol=1e-6)
    wide, dense, blocks, gen, _ = _schur_pair(name, device="cuda")
    assert wide.update(blocks, Regularization(1e-8)) and dense.update(blocks, Regularization(1e-8))
    assert wide._mode == "woodbury"
    r = torch.randn(wide.nG, dtype=torch.float64, generator=gen).cuda()
    x, xd = wide._solve_schur(r), dense._solve_schur(r)
    assert float((x - xd).abs().max()) <= 1e-9 * float(xd.abs().max())
