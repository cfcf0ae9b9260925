"""Structured fast path: direct conic assembly + structured KKT backend vs CVXPY+Clarabel and
the generic IPM backends on the same conic data."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.preprocessing import StandardScaler

from mlopt.estimators import (ConvexLinearClassifier, ConvexLinearRegressor, ElasticNet, Lasso, LinearSVC,
                              LogisticRegression, QuantileRegressor, Ridge)
from mlopt.ipm import IPMSettings, solve
from mlopt.ipm.kkt import Regularization, make_kkt_solver
from mlopt.ipm.kkt.structured import SampleStructure
from mlopt.losses import LogisticLoss
from mlopt.objective import Objective
from mlopt.penalties import GroupLassoPenalty, L2Penalty
from mlopt.structured import assemble, fit_objective

from .kkt_setup import interior_kkt_setup

CUDA = torch.cuda.is_available()
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not CUDA, reason="no CUDA")])]


def _std(X):
    return StandardScaler().fit_transform(X)


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    return _std(X), (y - y.mean()) / y.std()


def _cancer(n=300):
    X, y = load_breast_cancer(return_X_y=True)
    return _std(X)[:n], y[:n]


def _wine():
    X, y = load_wine(return_X_y=True)
    return _std(X), y


def _generated_regression(n=150, d=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X @ rng.standard_normal(d) + 0.3 * rng.standard_normal(n)


def _generated_classification(n=200, d=6, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, (X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n) > 0).astype(int)


# (estimator, data, coefficient tolerance): LPs and Huber can have flat optimal faces → looser coef tol
CASES = [
    ("ridge", lambda: Ridge(alpha=1.0), _diabetes, 1e-6),
    ("lasso", lambda: Lasso(alpha=0.05), _diabetes, 1e-6),
    ("lasso_positive", lambda: Lasso(alpha=0.02, positive=True), _diabetes, 1e-6),
    ("elasticnet", lambda: ElasticNet(alpha=0.05, l1_ratio=0.3), _generated_regression, 1e-6),
    ("quantile", lambda: QuantileRegressor(quantile=0.3, alpha=0.01), _generated_regression, 1e-5),
    ("huber", lambda: ConvexLinearRegressor(loss="huber", epsilon=1.0, alpha=0.1), _diabetes, 1e-5),
    ("absolute_l1", lambda: ConvexLinearRegressor(loss="absolute", penalty="l1", alpha=0.01), _diabetes, 1e-5),
    ("bounded", lambda: ConvexLinearRegressor(penalty="l2", alpha=0.1, bounds=(-0.2, 0.3)), _diabetes, 1e-6),
    ("svm", lambda: LinearSVC(C=0.5), _cancer, 1e-6),
    ("squared_hinge", lambda: ConvexLinearClassifier(loss="squared_hinge", alpha=0.01), _generated_classification,
     1e-6),
    ("logistic", lambda: LogisticRegression(C=0.5), _cancer, 1e-6),
    ("logistic_enet", lambda: LogisticRegression(C=1.0, l1_ratio=0.5), _generated_classification, 2e-6),
    # flat directions (elastic net, softmax): at a 1e-9 gap coefficients sit up to 1.4e-6 from the optimum
    ("multinomial", lambda: LogisticRegression(C=0.5), _wine, 2e-6),
]


@pytest.mark.parametrize("name,make,data,coef_tol", CASES, ids=[c[0] for c in CASES])
def test_structured_matches_cvxpy_clarabel(name, make, data, coef_tol):
    X, y = data()
    est = make()
    obj = est.get_objective(X, y)
    # both solvers at a tight tolerance: flat objectives pin coefficients only to ~sqrt(tol)
    coef, intercept, info = fit_objective(obj, tol=1e-9)
    assert info["status"] == "solved"
    ref = est.get_problem(X, y)
    ref.problem.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    c_ref, b_ref = np.asarray(ref.coef.value), np.asarray(ref.intercept.value)
    f_ref = obj.value(c_ref, b_ref)
    assert abs(info["objective"] - f_ref) <= 1e-6 * max(1.0, abs(f_ref))
    assert abs(info["primal_objective"] - f_ref) <= 1e-6 * max(1.0, abs(f_ref))
    if np.ndim(intercept):  # softmax: intercepts defined up to a common shift
        intercept, b_ref = intercept - intercept.mean(), b_ref - b_ref.mean()
    np.testing.assert_allclose(coef, c_ref, atol=coef_tol)
    np.testing.assert_allclose(intercept, b_ref, atol=coef_tol)


def test_sample_weights_and_sparse_input():
    X, y = _generated_classification(120, 5, seed=3)
    w = np.random.default_rng(0).uniform(0, 2, X.shape[0])
    w[:5] = 0.0  # zero-weight samples are dropped from the program
    est = LinearSVC(C=2.0)
    obj = est.get_objective(sp.csr_matrix(X), y, sample_weight=w)
    coef, b, info = fit_objective(obj)
    ref = est.get_problem(X, y, sample_weight=w)
    ref.problem.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    f_ref = obj.value(ref.coef.value, ref.intercept.value)
    assert info["iterations"] > 0 and abs(info["objective"] - f_ref) <= 1e-8 * abs(f_ref)
    # ½‖w‖²-strong convexity: ‖Δw‖ ≤ √(2Δf) — both solvers stop at gap ~1e-9 relative
    np.testing.assert_allclose(coef, ref.coef.value, atol=2e-5)
    assert abs(float(b) - float(ref.intercept.value)) < 2e-5


@pytest.mark.parametrize("name", ["lasso", "svm", "quantile", "multinomial"])
def test_structured_and_qdldl_give_same_iterates(name):
    """Same conic data, two KKT backends: same iteration count and solution (symmetric cones)."""
    _, make, data, _ = next(c for c in CASES if c[0] == name)
    X, y = data()
    prob = assemble(make().get_objective(X, y))
    a = solve(prob.P, prob.q, prob.A, prob.b, prob.cones, kkt_solver="structured", kkt_structure=prob.structure)
    b = solve(prob.P, prob.q, prob.A, prob.b, prob.cones, kkt_solver="qdldl")
    assert a.status.is_optimal and b.status.is_optimal
    if name != "multinomial":  # exp cones: the trajectory may differ in the last, ill-conditioned steps
        assert a.iterations == b.iterations
        for ha, hb in zip(a.history, b.history):
            assert abs(ha["pobj"] - hb["pobj"]) <= 1e-6 * max(1.0, abs(hb["pobj"]))
        np.testing.assert_allclose(a.x[: X.shape[1]], b.x[: X.shape[1]], atol=1e-6)
    assert abs(a.primal_objective - b.primal_objective) <= 1e-7 * max(1.0, abs(b.primal_objective))


@pytest.mark.parametrize("device", DEVICES)
def test_kkt_solve_matches_dense_lu(device):
    """One regularized solve of the structured backend equals LU on the assembled K_ε."""
    X, y = _generated_classification(40, 4, seed=5)
    est = LogisticRegression(C=1.0, l1_ratio=0.3)
    prob = assemble(est.get_objective(X, y))
    settings = IPMSettings(kkt_solver="structured", kkt_structure=prob.structure, device=device)
    kp, blocks, gen = interior_kkt_setup(prob.P, prob.A, prob.cones, device)  # A: the BlockMatrix
    dev = kp.device
    ours = make_kkt_solver("structured", kp, blocks, settings)
    dense = make_kkt_solver("dense", kp, blocks, settings)
    reg = Regularization(static=1e-7)
    # update() would factor K exactly (every local variable has a pivot here); compare K_ε itself
    assert ours._factor(blocks, reg.static) and dense.update(blocks, reg)
    rx = torch.randn(prob.A.shape[1], dtype=torch.float64, generator=gen).to(dev)
    rz = torch.randn(prob.A.shape[0], dtype=torch.float64, generator=gen).to(dev)
    x1, z1 = ours._solve_reg(rx, rz)
    x2, z2 = dense._solve_reg(rx, rz)
    scale = max(float(x2.abs().max()), float(z2.abs().max()))
    assert float((x1 - x2).abs().max()) <= 1e-8 * scale
    assert float((z1 - z2).abs().max()) <= 1e-8 * scale
    x3, z3 = ours.solve(rx, rz)  # refined against the exact K
    kx, kz = ours.apply_K(x3, z3)
    assert max(float((kx - rx).abs().max()), float((kz - rz).abs().max())) <= 1e-9 * max(1.0, scale)


@pytest.mark.parametrize("device", DEVICES)
def test_devices_agree(device):
    X, y = _cancer(150)
    obj = LinearSVC(C=1.0).get_objective(X, y)
    coef_cpu, b_cpu, _ = fit_objective(obj, device="cpu")
    coef, b, info = fit_objective(obj, device=device)
    assert info["device"].startswith(device)
    np.testing.assert_allclose(coef, coef_cpu, atol=1e-7)


def test_bad_inputs_raise():
    X, y = _generated_regression(30, 4)
    with pytest.raises(ValueError, match="penalty"):
        assemble(Objective(X, y, LogisticLoss(), GroupLassoPenalty([[0, 1], [2, 3]]), alpha=1.0))
    with pytest.raises(TypeError, match="objective"):
        assemble("not an objective")
    obj = Objective(X, y, LogisticLoss(), L2Penalty(), alpha=1.0, sample_weight=np.zeros(30))
    with pytest.raises(ValueError, match="positive weight"):
        assemble(obj)
    prob = assemble(Ridge(alpha=1.0).get_objective(X, y))
    with pytest.raises(ValueError, match="kkt_structure"):
        solve(prob.P, prob.q, prob.A, prob.b, prob.cones, kkt_solver="structured")
    bad = SampleStructure(prob.structure.global_cols, prob.structure.local_cols, prob.structure.sample_rows,
                          prob.structure.coupling, prob.structure.global_rows[:0])
    bad.global_rows = np.array([0])  # row 0 listed twice
    with pytest.raises(ValueError, match="partition"):
        solve(prob.P, prob.q, prob.A, prob.b, prob.cones, kkt_solver="structured", kkt_structure=bad)


@pytest.mark.parametrize("rows,cols,ok", [
    ((np.array([4, 5]), np.array([[0, 1], [2, 3]])), (np.array([0]), np.array([[1], [2]])), True),
    ((np.array([4, 4]), np.array([[0, 1], [2, 3]])), (np.array([0]), np.array([[1], [2]])), False),  # row twice, 5 missing
    ((np.array([4, 6]), np.array([[0, 1], [2, 3]])), (np.array([0]), np.array([[1], [2]])), False),  # out of range
    ((np.array([4, 5]), np.array([[0, 1], [2, 3]])), (np.array([0]), np.array([[1], [1]])), False),  # column twice
    ((np.array([4, 5]), np.array([[0, 1], [2, 3]])), (np.array([-1]), np.array([[1], [2]])), False),  # negative
    ((np.array([4]), np.array([[0, 1], [2, 3]])), (np.array([0]), np.array([[1], [2]])), False),  # too few rows
])
def test_structure_partition_check(rows, cols, ok):
    """SampleStructure.check: the global and sample rows (columns) must be 0..m−1 (0..N−1), each once."""
    st = SampleStructure(global_cols=cols[0], local_cols=cols[1], sample_rows=rows[1], coupling=np.array([0]),
                         global_rows=rows[0])
    if ok:
        st.check(6, 3)
    else:
        with pytest.raises(ValueError, match="partition"):
            st.check(6, 3)


@pytest.mark.parametrize("model", ["logistic", "multinomial", "svm"])
def test_timings_split_the_solve(model):
    """info["timings"]: every phase is a nonnegative time, the phases fit inside the solve, and the Gram
    products are part of the factorizations (binary: c = 1 scaled rows; multinomial: c > 1 block rows;
    SVM: symmetric cones, whose initial point costs one factorization too; solved by sample screening, whose
    predictor is a phase of its own, outside the IPM's solve_time)."""
    X, y = load_wine(return_X_y=True) if model == "multinomial" else load_breast_cancer(return_X_y=True)
    X = _std(X)
    if model == "logistic":
        X = X[:, :6]
    est = LinearSVC(C=1.0) if model == "svm" else LogisticRegression(C=1.0)
    coef, b, info = fit_objective(est.get_objective(X, y))
    tm = info["timings"]
    assert info["status"] == "solved"
    phases = {"validate", "equilibrate", "setup", "iterations", "kkt_update", "kkt_solve", "cones", "gram"}
    newton = model == "logistic"  # binary logistic with an ℓ₂ penalty: the Newton start (its own phase)
    assert info["start"] == ("newton" if newton else "default")
    screened = model == "svm"  # 569 samples ≥ 5(d + 1): "auto" screens (mlopt.structured.hinge_screen)
    assert set(tm) == phases | ({"start"} if newton else set()) | ({"screen"} if screened else set())
    assert ("screening" in info) == screened
    assert tm.get("screen", 0.0) + info["solve_time"] <= info["wall_time"]
    assert all(v >= 0 for v in tm.values())
    assert 0 < tm["gram"] <= tm["kkt_update"]
    assert tm["kkt_update"] + tm["kkt_solve"] + tm["cones"] <= tm["iterations"]
    outer = tm["validate"] + tm.get("start", 0.0) + tm["equilibrate"] + tm["setup"] + tm["iterations"]
    assert outer <= info["solve_time"]


def test_timings_count_the_initial_factorization(monkeypatch):
    """Symmetric cones start from a KKT solve: that factorization is in kkt_update too.  The start's
    factorization is made to take 50 ms more; kkt_update must contain them."""
    import time as _time

    from mlopt.ipm.kkt.base import KKTSolver
    update = KKTSolver.update
    calls = []

    def slow_first_update(self, blocks, reg):
        calls.append(1)
        if len(calls) == 1:
            _time.sleep(0.05)
        return update(self, blocks, reg)

    monkeypatch.setattr(KKTSolver, "update", slow_first_update)
    X, y = load_breast_cancer(return_X_y=True)
    coef, b, info = fit_objective(LinearSVC(C=1.0).get_objective(_std(X)[:100, :5], y[:100]), max_iter=1)
    assert info["status"] == "max_iterations" and len(calls) == 2  # the start and one step
    assert 0.05 <= info["timings"]["kkt_update"] <= info["timings"]["iterations"]


@pytest.mark.parametrize("seed", [0, 1])
def test_static_entries_regular_and_general_forms_agree(seed):
    """StaticEntries: the same entries given sample by sample (kept regular: k positions, (k, n) values)
    and shuffled (kept as per-entry arrays) give the same pattern, the same scattered block storage and
    the same exact-pivot test."""
    from mlopt.ipm.kkt.sample_structure import StaticEntries

    rng = np.random.default_rng(seed)
    n, nb, k = 9, 6, 5
    a0, b0 = rng.choice(nb, k), rng.choice(nb, k)
    key = np.unique(a0 * nb + b0)  # distinct positions
    a0, b0 = key // nb, key % nb
    k = a0.size
    samples = np.repeat(np.arange(n), k)
    a, b = np.tile(a0, n), np.tile(b0, n)
    v = rng.uniform(0.5, 2.0, n * k)
    perm = rng.permutation(n * k)
    posmap = rng.permutation(nb)
    forms = []
    for order in (np.arange(n * k), perm):
        st = StaticEntries(n, nb)
        st.add(samples[order], a[order], b[order], v[order], posmap=posmap, mirror=True)
        forms.append(st)
    regular, general = forms
    assert regular.regular and not general.regular
    np.testing.assert_array_equal(regular.pattern(), general.pattern())
    row_of = np.arange(nb * nb).reshape(nb, nb)
    for select in (None, lambda x, y: x >= y):
        outs = [np.zeros((nb * nb, n)) for _ in forms]
        for st, out in zip(forms, outs):
            st.scatter(out, row_of, select=select)
        np.testing.assert_array_equal(outs[0], outs[1])
        assert np.count_nonzero(outs[0]) > 0
    hit = lambda x, y: x >= 0  # noqa: E731 - every entry counts: is every column of [0, nb) reached?
    assert regular.covers(hit, 0, nb) == general.covers(hit, 0, nb)
    cols = np.unique(np.concatenate([posmap[a0], posmap[b0]]))
    assert regular.covers(hit, int(cols[0]), int(cols[0]) + 1)
    # a sample missing one entry: no longer regular, and the test sees the gap
    drop = np.arange(n * k) != 3
    st = StaticEntries(n, nb)
    st.add(samples[drop], a[drop], b[drop], v[drop])
    assert not st.regular and not st.covers(lambda x, y: (x == a[3]) & (y == b[3]), int(b[3]), int(b[3]) + 1)


@pytest.mark.parametrize("by_key", [True, False])
def test_slots_of_regular_samples_match_grouping(by_key, monkeypatch):
    """The cone slots of a sample-by-sample layout (fast path: slot q is every per-th cone) are the
    groups of cones with equal block positions, in the order of the general grouping (by key, or
    lexicographic when the keys would be too many); a shuffled layout takes the general path."""
    import mlopt.ipm.kkt.structured as structured

    if not by_key:
        monkeypatch.setattr(structured, "_SLOT_KEYS", 1)
    solver = object.__new__(structured.StructuredKKTSolver)
    solver.nb, solver.ns, solver.dev = 7, 5, torch.device("cpu")
    per, d = 3, 2
    first = np.array([[4, 5], [1, 2], [6, 0]])  # a sample's cones: their block positions
    cones = np.arange(solver.ns * per)
    owner = np.repeat(np.arange(solver.ns), per)
    positions = np.tile(first, (solver.ns, 1))
    perm = np.random.default_rng(0).permutation(cones.size)
    for c_in, o_in, p_in in ((cones, owner, positions), (cones[perm], owner[perm], positions[perm])):
        slots = solver._slots(c_in, o_in, p_in)
        got = []
        for c, samples, pos in slots:
            c = np.arange(cones.size)[c] if isinstance(c, slice) else c.numpy()
            s = np.arange(solver.ns) if samples is None else samples.numpy()
            got.append((tuple(pos), sorted(zip(s.tolist(), c.tolist()))))
        keys = [tuple(p) for p in first]
        order = sorted(keys, key=lambda p: (p[0] + 7 * p[1]) if by_key else p)
        want = [(p, sorted((int(o), int(c)) for c, o, q in zip(cones, owner, positions) if tuple(q) == p))
                for p in order]
        assert [(tuple(int(x) for x in p), m) for p, m in got] == want
    assert isinstance(solver._slots(cones, owner, positions)[0][0], slice)  # regular: strided slices


@pytest.mark.parametrize("name,make,data", [c[:3] for c in CASES], ids=[c[0] for c in CASES])
def test_sparse_part_is_canonical_csc(name, make, data):
    """assemble writes S in CSC order itself (no sort): the same arrays as scipy's COO → CSC sort of
    its entries, and the canonical-format flags it sets hold."""
    X, y = data()
    S = assemble(make().get_objective(X, y)).A.rest
    coo = S.tocoo()
    ref = sp.coo_matrix((coo.data, (coo.row, coo.col)), shape=S.shape).tocsc()
    ref.sum_duplicates()
    for got, want in ((S.indptr, ref.indptr), (S.indices, ref.indices), (S.data, ref.data)):
        np.testing.assert_array_equal(got, want)
    check = sp.csc_matrix((S.data, S.indices, S.indptr), shape=S.shape)
    assert check.has_canonical_format and S.has_canonical_format


@pytest.mark.parametrize("name", ["logistic", "multinomial", "svm", "huber", "absolute_l1", "bounded"])
def test_regular_layout_shortcuts_match_the_per_entry_split(name, monkeypatch):
    """assemble's layouts (every sample alike, sample by sample) take the backend's shortcuts for the
    local B entries and the cone slots; with the shortcuts switched off, the per-entry split builds the
    same backend: the same iterates, bit for bit."""
    import mlopt.ipm.kkt.structured as structured

    _, make, data, _ = next(c for c in CASES if c[0] == name)
    X, y = data()
    prob = assemble(make().get_objective(X, y))
    calls = []
    for name_, fn in (("_regular_local_entries", structured._regular_local_entries),
                      ("_regular_cones", structured._regular_cones)):
        monkeypatch.setattr(structured, name_, lambda *a, _fn=fn: calls.append(_fn(*a) is not None) or _fn(*a))
    fast = solve(prob.P, prob.q, prob.A, prob.b, prob.cones, kkt_solver="structured", kkt_structure=prob.structure)
    assert calls and all(calls)  # every shortcut applied
    monkeypatch.setattr(structured, "_regular_local_entries", lambda *a: None)
    monkeypatch.setattr(structured, "_regular_cones", lambda *a: None)
    slow = solve(prob.P, prob.q, prob.A, prob.b, prob.cones, kkt_solver="structured", kkt_structure=prob.structure)
    assert fast.status.is_optimal and fast.iterations == slow.iterations
    for a, b in ((fast.x, slow.x), (fast.z, slow.z), (fast.s, slow.s)):
        np.testing.assert_array_equal(a, b)


def test_regular_layout_checks_reject_other_layouts():
    """The shortcuts' checks: a sample whose rows sit elsewhere, an explicit zero entry, unequal counts
    per sample or cones out of sample order give None (the per-entry split then decides)."""
    from mlopt.ipm.kkt.sample_structure import lookup
    from mlopt.ipm.kkt.structured import _regular_cones, _regular_local_entries

    n, ell, r = 4, 2, 3
    local_cols = 1 + np.arange(n * ell).reshape(n, ell)  # column 0 is global
    sample_rows = np.arange(n * r).reshape(n, r)
    st = SampleStructure(global_cols=np.array([0]), local_cols=local_cols, sample_rows=sample_rows,
                         coupling=np.array([0]), global_rows=np.zeros(0, dtype=np.int64))
    m, N = n * r, 1 + n * ell
    owner, pos = lookup(sample_rows, m)

    def csc(entries):
        i, j, v = (np.array(t) for t in zip(*entries))
        return sp.csc_matrix((v.astype(float), (i, j)), shape=(m, N))

    good = [(sample_rows[s, 1], local_cols[s, 0], 1.0) for s in range(n)] + \
        [(sample_rows[s, 2], local_cols[s, 1], -2.0) for s in range(n)]
    a, b, vals = _regular_local_entries(csc(good), st, pos, ell)
    np.testing.assert_array_equal(a, [ell + 1, ell + 2])
    np.testing.assert_array_equal(b, [0, 1])
    np.testing.assert_array_equal(vals, np.tile([[1.0], [-2.0]], n))
    moved = list(good)
    moved[3] = (sample_rows[3, 2], local_cols[3, 0], 1.0)  # sample 3's entry on another of its rows
    assert _regular_local_entries(csc(moved), st, pos, ell) is None
    zero = csc(good)
    zero.data[0] = 0.0  # an explicit zero: the per-entry split drops it
    assert _regular_local_entries(zero, st, pos, ell) is None
    assert _regular_local_entries(csc(good[:-1]), st, pos, ell) is None  # sample 3 lacks an entry
    cones = sample_rows[:, 1:].reshape(-1, 1)  # cone i·2 + q at row sample_rows[i, 1 + q]
    np.testing.assert_array_equal(_regular_cones(cones, owner, pos, sample_rows), [[1], [2]])
    assert _regular_cones(cones[::-1].copy(), owner, pos, sample_rows) is None
    assert _regular_cones(cones[:-1], owner, pos, sample_rows) is None
