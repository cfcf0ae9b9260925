"""KKT backends of the structured path: ``diagonal_rows`` (Gram-form lasso) and the structured
backend's exact factorisation / block products, each against a generic backend on the same data."""
import dataclasses

import numpy as np
import pytest
import torch

from mlopt.estimators import ConvexLinearClassifier, ConvexLinearRegressor, ElasticNet, Lasso, LinearSVC, LogisticRegression, \
    QuantileRegressor
from mlopt.ipm import IPMSettings, solve
from mlopt.ipm.kkt import DenseColumns, KKTSolver, Regularization, make_kkt_solver
from mlopt.structured import assemble, fit_objective
from mlopt.structured.gram import assemble_gram

from .kkt_setup import interior_kkt_setup

CUDA = torch.cuda.is_available()
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not CUDA, reason="no CUDA")])]


def _regression(n=300, d=10, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:, :3] *= np.array([0.1, 5.0, 30.0])
    return X, X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n) + 2.0


def _classification(n=200, d=6, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, (X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n) > 0).astype(int)


GRAM_CASES = {
    "lasso": lambda: Lasso(alpha=0.05),
    "elasticnet": lambda: ElasticNet(alpha=0.05, l1_ratio=0.4),
    "lasso_positive": lambda: Lasso(alpha=0.02, positive=True),
    "lasso_no_intercept": lambda: Lasso(alpha=0.05, fit_intercept=False),
    "bounded_ridge": lambda: ConvexLinearRegressor(penalty="l2", alpha=0.1, bounds=(-0.2, 0.3)),
}


@pytest.mark.parametrize("name", list(GRAM_CASES))
def test_diagonal_rows_same_iterates_as_qdldl(name):
    """Same Gram-form conic data, diagonal_rows vs qdldl: same iterations, objectives and solution."""
    X, y = _regression()
    obj = GRAM_CASES[name]().get_objective(X, y)
    g = assemble_gram(obj)
    nd = g.n_features + int(g.fit_intercept)
    c = g.constant  # the fit path passes it too: gaps relative to the model's objective
    a = solve(g.P, g.q, g.A, g.b, g.cones, kkt_solver="diagonal_rows", kkt_structure=DenseColumns(np.arange(nd)),
              objective_constant=c)
    b = solve(g.P, g.q, g.A, g.b, g.cones, kkt_solver="qdldl", objective_constant=c)
    assert a.status.value == b.status.value == "solved"
    assert a.kkt_solver == "diagonal_rows" and a.iterations == b.iterations
    for ha, hb in zip(a.history, b.history):
        assert abs(ha["pobj"] - hb["pobj"]) <= 1e-8 * max(1.0, abs(hb["pobj"]))
    np.testing.assert_allclose(a.x, b.x, atol=1e-8 * max(1.0, np.abs(b.x).max()))
    # the fit path picks this backend for the Gram form with the general IPM
    coef, _, info = fit_objective(obj, form="gram")
    assert info["form"] == "gram" and info["kkt_solver"] == "diagonal_rows"
    np.testing.assert_allclose(coef, b.x[: g.n_features], atol=1e-7)
    # "auto" solves single fits without bounds by the one-member batched Gram IPM: same optimum
    coef_b, _, info_b = fit_objective(obj)
    expected = "diagonal_rows" if obj.bounds is not None else "batched_gram"
    assert info_b["form"] == "gram" and info_b["kkt_solver"] == expected and info_b["status"] == "solved"
    assert info_b["gap"] <= 1e-8
    assert abs(info_b["objective"] - info["objective"]) <= 1e-8 * max(1.0, abs(info["objective"]))


def test_diagonal_rows_detects_dense_columns_itself():
    X, y = _regression(200, 6, seed=5)
    g = assemble_gram(Lasso(alpha=0.05).get_objective(X, y))
    a = solve(g.P, g.q, g.A, g.b, g.cones, kkt_solver="diagonal_rows")  # D = columns with off-diagonal P
    b = solve(g.P, g.q, g.A, g.b, g.cones, kkt_solver="qdldl")
    assert a.iterations == b.iterations
    np.testing.assert_allclose(a.x, b.x, atol=1e-8)


@pytest.mark.parametrize("device", DEVICES)
def test_diagonal_rows_solve_matches_dense_lu(device):
    """One regularized solve equals LU on the assembled K_ε; refinement reaches the exact K."""
    X, y = _regression(120, 7, seed=2)
    g = assemble_gram(ElasticNet(alpha=0.05, l1_ratio=0.5, positive=True).get_objective(X, y))
    settings = IPMSettings(kkt_solver="diagonal_rows", device=device,
                           kkt_structure=DenseColumns(np.arange(g.n_features + 1)))
    kp, blocks, gen = interior_kkt_setup(g.P, g.A, g.cones, device)
    ours = make_kkt_solver("diagonal_rows", kp, blocks, settings)
    dense = make_kkt_solver("dense", kp, blocks, settings)
    reg = Regularization(static=1e-7)
    rx = torch.randn(kp.n, dtype=torch.float64, generator=gen).to(kp.device)
    rz = torch.randn(kp.m, dtype=torch.float64, generator=gen).to(kp.device)
    # nonnegative cones only: update() factors K itself (no ε); a direct call with ε factors K_ε
    for eps in (None, 1e-5):
        if eps is None:
            assert ours.update(blocks, reg) and dense._factor(blocks, 0.0)
        else:
            assert ours._factor(blocks, eps) and dense._factor(blocks, eps)
        x1, z1 = ours._solve_reg(rx, rz)
        x2, z2 = dense._solve_reg(rx, rz)
        scale = max(float(x2.abs().max()), float(z2.abs().max()))
        assert float((x1 - x2).abs().max()) <= 1e-9 * scale
        assert float((z1 - z2).abs().max()) <= 1e-9 * scale
    assert ours.update(blocks, reg)
    x3, z3 = ours.solve(rx, rz)
    kx, kz = ours.apply_K(x3, z3)
    assert max(float((kx - rx).abs().max()), float((kz - rz).abs().max())) <= 1e-10 * max(1.0, scale)


def test_diagonal_rows_rejects_other_structures():
    X, y = _classification(60, 4)
    prob = assemble(LinearSVC(C=1.0).get_objective(X, y))  # rows couple many coefficients
    with pytest.raises(ValueError, match="diagonal_rows"):
        solve(prob.P, prob.q, prob.A, prob.b, prob.cones, kkt_solver="diagonal_rows",
              kkt_structure=DenseColumns(np.arange(5)))
    logit = assemble(LogisticRegression(C=1.0).get_objective(X, y))  # exponential cones
    with pytest.raises(ValueError, match="nonnegative"):
        solve(logit.P, logit.q, logit.A, logit.b, logit.cones, kkt_solver="diagonal_rows")
    g = assemble_gram(Lasso(alpha=0.1).get_objective(*_regression(50, 3)))
    with pytest.raises(ValueError, match="DenseColumns"):
        solve(g.P, g.q, g.A, g.b, g.cones, kkt_solver="diagonal_rows", kkt_structure=DenseColumns(np.array([99])))
    with pytest.raises(TypeError, match="DenseColumns"):
        solve(g.P, g.q, g.A, g.b, g.cones, kkt_solver="diagonal_rows", kkt_structure="w")


STRUCTURED_CASES = {
    "svm": (lambda: LinearSVC(C=0.7), _classification),
    "hinge_enet": (lambda: ConvexLinearClassifier(loss="hinge", penalty="elasticnet", alpha=0.05, l1_ratio=0.5),
                   _classification),  # global rows ±w − t ≤ 0 next to the sample blocks
    "logistic_enet": (lambda: LogisticRegression(C=1.0, l1_ratio=0.3), _classification),  # global rows, exp
    "multinomial": (lambda: LogisticRegression(C=0.5),
                    lambda: (_classification(90, 4)[0], np.random.default_rng(0).integers(0, 3, 90))),  # c = 3
    "quantile": (lambda: QuantileRegressor(quantile=0.3, alpha=0.05), lambda: _regression(80, 4)),  # zero cones
}


def _check_apply_A(ours, x, z):
    """The residual products (Aᵀz, Ax) from the blocks equal the sparse ones of the base class."""
    ax, az = ours.apply_A(x, z)
    rx, rz = KKTSolver.apply_A(ours, x, z)
    assert float((ax - rx).abs().max()) <= 1e-12 * float(rx.abs().max())
    assert float((az - rz).abs().max()) <= 1e-12 * float(rz.abs().max())


@pytest.mark.parametrize("make", [lambda: ConvexLinearClassifier(loss="squared_hinge", penalty="l2", alpha=0.1),
                                  lambda: ConvexLinearRegressor(loss="huber", penalty="l2", alpha=0.1)])
def test_structured_apply_A_leaves_out_local_P(make):
    """Squared hinge / Huber put ½ξ² on local variables (P_LL ≠ 0): apply_A must be A alone."""
    X, y = _classification() if isinstance(make(), ConvexLinearClassifier) else _regression(80, 4)
    prob = assemble(make().get_objective(X, y))
    settings = IPMSettings(kkt_solver="structured", kkt_structure=prob.structure)
    kp, blocks, gen = interior_kkt_setup(prob.P, prob.A, prob.cones)
    ours = make_kkt_solver("structured", kp, blocks, settings)
    assert ours.apat is not ours.kpat  # local P entries exist: a separate A-only pattern
    x = torch.randn(kp.n, dtype=torch.float64, generator=gen)
    z = torch.randn(kp.m, dtype=torch.float64, generator=gen)
    _check_apply_A(ours, x, z)


@pytest.mark.parametrize("name", list(STRUCTURED_CASES))
@pytest.mark.parametrize("device", DEVICES)
def test_structured_block_product_and_exact_factor(name, device):
    make, data = STRUCTURED_CASES[name]
    X, y = data()
    prob = assemble(make().get_objective(X, y))
    settings = IPMSettings(kkt_solver="structured", kkt_structure=prob.structure, device=device)
    kp, blocks, gen = interior_kkt_setup(prob.P, prob.A, prob.cones, device)
    ours = make_kkt_solver("structured", kp, blocks, settings)
    assert ours.update(blocks, Regularization(static=1e-8))
    x = torch.randn(kp.n, dtype=torch.float64, generator=gen).to(kp.device)
    z = torch.randn(kp.m, dtype=torch.float64, generator=gen).to(kp.device)
    # the block product equals the sparse product of the base class (P x + Aᵀz, A x − H z)
    kx, kz = ours.apply_K(x, z)
    bx, bz = KKTSolver.apply_K(ours, x, z)
    assert max(float((kx - bx).abs().max()), float((kz - bz).abs().max())) <= 1e-12 * float(bx.abs().max())
    _check_apply_A(ours, x, z)
    # every local variable has a pivot of its own (all but the softmax, whose epigraph t has none
    # and whose K is singular: the common intercept shift), so K is factored exactly with ε only
    # on zero-cone rows, and a single solve already satisfies the exact K, to rounding
    sx, sz = ours._solve_reg(bx, bz)
    rx, rz = KKTSolver.apply_K(ours, sx, sz)
    res = max(float((rx - bx).abs().max()), float((rz - bz).abs().max())) / float(bx.abs().max())
    exact = name in ("svm", "hinge_enet", "logistic_enet")
    assert ours.exact_ok == (name != "multinomial")
    if exact:
        assert res <= 1e-11
        np.testing.assert_allclose(sx.cpu().numpy(), x.cpu().numpy(), atol=1e-9 * float(x.abs().max()))
    else:  # refinement removes the ε bias (K of the softmax is singular: it stalls near 1e-9)
        fx, fz = ours.solve(bx, bz)
        rx, rz = KKTSolver.apply_K(ours, fx, fz)
        tol = 1e-8 if name == "multinomial" else 1e-11
        assert max(float((rx - bx).abs().max()), float((rz - bz).abs().max())) <= tol * float(bx.abs().max())


def test_one_member_lasso_reports_the_objective_when_almost_solved():
    """An iteration-limited one-member fit that ends almost_solved keeps its objective (not NaN)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 20))
    y = X @ rng.standard_normal(20) + 0.5 * rng.standard_normal(200)
    obj = Lasso(alpha=1e-3).get_objective(X, y)
    seen = set()
    for max_iter in (3, 4, 5, 8):
        coef, intercept, info = fit_objective(obj, max_iter=max_iter, tol=1e-15)
        assert info["kkt_solver"] == "batched_gram"
        seen.add(info["status"])
        if info["status"] in ("solved", "almost_solved"):
            assert np.isfinite(info["objective"]) and np.all(np.isfinite(coef))
            assert info["objective"] == pytest.approx(obj.value(coef, intercept), rel=1e-12)
        else:
            assert np.isnan(info["objective"])
    assert "almost_solved" in seen


def test_dynamic_regularization_keeps_the_exp_cone_factorisation_exact(monkeypatch):
    """End of a logistic solve: exp-cone scaling blocks with cond ~1e17 give per-sample pivots of the
    wrong sign in rounding.  Bumping those pivots to ±δ (QDLDL's dynamic regularization) keeps every
    factorisation the exact one (no fall back to K_ε with ε grown to 1e-4, whose bias refinement could
    not remove), and the solve reaches a 1e-9 gap like Clarabel (which factors the same K by QDLDL)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    from mlopt.ipm.kkt.structured import StructuredKKTSolver

    X, y = load_breast_cancer(return_X_y=True)
    X, y = StandardScaler().fit_transform(X)[:300], y[:300]
    obj = LogisticRegression(C=0.5).get_objective(X, y)
    calls = []
    factor = StructuredKKTSolver._factor

    def spy(self, blocks, eps, exact=False):
        ok = factor(self, blocks, eps, exact)
        calls.append((exact, ok))
        return ok

    monkeypatch.setattr(StructuredKKTSolver, "_factor", spy)
    _, _, info = fit_objective(obj, tol=1e-9)
    assert info["status"] == "solved" and info["gap"] < 1e-9
    assert calls and all(exact and ok for exact, ok in calls)
    calls.clear()
    _, _, info = fit_objective(obj, tol=1e-9, dynamic_regularization_enable=False)
    assert any(not exact for exact, _ in calls)  # without it the exact factorisation breaks down


@pytest.mark.parametrize("name, C, tol", [("breast_cancer", 1.0, 1e-10), ("wine", 100.0, 1e-9)])
def test_exp_cone_products_through_the_scaling_factor_reach_tight_tolerances(name, C, tol):
    """Logistic fits at tight tolerances need H z = Wᵀ(W z) from the scaling's factor in the end game.
    With products by the rounded H (cond ~1e17 there) both stalled at almost_solved (28 and 36
    iterations, gaps 1.3e-9 and 4.9e-9); now every measure of the solution is below tol, and the
    objective matches CVXPY+Clarabel."""
    from sklearn import datasets
    from sklearn.preprocessing import StandardScaler

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    obj = LogisticRegression(C=C).get_objective(X, y)
    coef, b, info = fit_objective(obj, tol=tol)
    assert info["status"] == "solved"
    assert max(info["gap"], info["primal_residual"], info["dual_residual"]) < tol
    ref = LogisticRegression(C=C, solver="clarabel").fit(X, y)
    ref_coef = ref.coef_.ravel() if ref.coef_.shape[0] == 1 else ref.coef_.T  # estimator (K, d) → objective (d, K)
    assert info["objective"] == pytest.approx(obj.value(ref_coef, ref.intercept_ if ref_coef.ndim == 2 else float(ref.intercept_[0])), rel=1e-7)


def _permuted_structure(st, perm):
    """The same problem with the samples of the structure listed in another order."""
    return dataclasses.replace(st, local_cols=st.local_cols[perm], sample_rows=st.sample_rows[perm])


@pytest.mark.parametrize("name", list(STRUCTURED_CASES))
def test_structured_solve_does_not_depend_on_the_sample_order(name):
    """Cone scalings enter the per-sample blocks by slots (the cones at the same block positions of
    every sample).  Listing the samples in a shuffled order makes each slot's cones arrive in another
    sample order (the indexed path, not the strided one); the IPM must take the same iterations to
    the same solution."""
    make, data = STRUCTURED_CASES[name]
    X, y = data()
    prob = assemble(make().get_objective(X, y))
    A = prob.A.tocsc() if hasattr(prob.A, "tocsc") else prob.A  # data terms need sample order: entrywise A
    perm = np.random.default_rng(0).permutation(prob.structure.local_cols.shape[0])
    runs = {}
    for label, st in (("ordered", prob.structure), ("shuffled", _permuted_structure(prob.structure, perm))):
        kp, blocks, _ = interior_kkt_setup(prob.P, A, prob.cones)
        solver = make_kkt_solver("structured", kp, blocks, IPMSettings(kkt_solver="structured", kkt_structure=st))
        indexed = [samples is not None for mp in solver._block_maps if mp is not None for _, samples, *_ in mp[0]]
        assert any(indexed) == (label == "shuffled")
        runs[label] = solve(prob.P, prob.q, A, prob.b, prob.cones, kkt_solver="structured", kkt_structure=st)
    a, b = runs["ordered"], runs["shuffled"]
    assert a.status.value == b.status.value == "solved"
    assert abs(a.iterations - b.iterations) <= 1
    assert abs(a.primal_objective - b.primal_objective) <= 1e-9 * max(1.0, abs(a.primal_objective))
    if name != "multinomial":  # (the softmax's intercepts are unique only up to a common shift)
        np.testing.assert_allclose(b.x, a.x, atol=1e-6 * max(1.0, np.abs(a.x).max()))


@pytest.mark.parametrize("by_unique", [False, True])
def test_slots_group_cones_by_block_positions(by_unique, monkeypatch):
    """Evenly spaced cones of every sample in order → a slice; uneven spacing → an index; a sample
    order other than 0..n−1 → an index of samples too."""
    prob = assemble(LinearSVC(C=1.0).get_objective(*_classification(4, 2)))
    kp, blocks, _ = interior_kkt_setup(prob.P, prob.A, prob.cones)
    solver = make_kkt_solver("structured", kp, blocks, IPMSettings(kkt_solver="structured",
                                                                  kkt_structure=prob.structure))
    assert solver.nb == 3
    if by_unique:  # the grouping used for large cones (too many position tuples for a bincount)
        monkeypatch.setattr("mlopt.ipm.kkt.structured._SLOT_KEYS", 1)
    pos = np.array([[0, 2], [0, 2], [2, 1], [0, 2], [2, 1], [0, 2], [2, 1], [2, 1]])
    cones = np.arange(8)
    owner = np.array([0, 1, 0, 2, 1, 3, 2, 3])
    slots = sorted(solver._slots(cones, owner, pos), key=lambda slot: slot[2].tolist())
    (c0, s0, p0), (c1, s1, p1) = slots
    assert p0.tolist() == [0, 2] and s0 is None and c0.tolist() == [0, 1, 3, 5]
    assert p1.tolist() == [2, 1] and s1 is None and c1.tolist() == [2, 4, 6, 7]
    (c, s, p), = solver._slots(np.arange(0, 8, 2), np.arange(4), np.zeros((4, 1), dtype=int))
    assert c == slice(0, 7, 2) and s is None
    (c, s, p), = solver._slots(np.arange(4), np.array([2, 0, 3, 1]), np.zeros((4, 1), dtype=int))
    assert s.tolist() == [2, 0, 3, 1] and c.tolist() == [0, 1, 2, 3]
