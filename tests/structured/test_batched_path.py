"""Batched interior-point regularization paths (mlopt.structured.batched_path) against scikit-learn,
CVXPY+Clarabel with tight tolerances, closed forms and independent duality-gap certificates."""
from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as sk
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold

import mlopt
from mlopt.certificates import certificate
from mlopt.datasets import load_dataset
from mlopt.estimators.cv import ElasticNetCV, LassoCV, RidgeCV
from mlopt.paths import alpha_grid, lasso_path, regularization_path
from mlopt.structured import fit_objective
from mlopt.structured.batched_path import GramData, fit_path_batched, gram_data, model_objectives
from mlopt.structured.gram import assemble_gram

CLARABEL_TIGHT = dict(tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12, max_iter=500)


@pytest.fixture(scope="module")
def diabetes():
    ds = load_dataset("diabetes")  # standardized features
    return ds.X, np.asarray(ds.y, dtype=float)


def _sparse_truth(n, d, k=5, seed=0, noise=0.5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = np.zeros(d)
    support = rng.choice(d, k, replace=False)
    w[support] = rng.uniform(1.0, 3.0, k) * rng.choice([-1.0, 1.0], k)
    return X, X @ w + noise * rng.standard_normal(n) + 2.0, np.sort(support)


def _clarabel_value(obj, alpha, l1_ratio=None):
    """min of the objective (its loss weight, weights, penalty split, positivity) by CVXPY + Clarabel."""
    X = obj.X.toarray() if sp.issparse(obj.X) else obj.X
    n, d = X.shape
    c1, c2 = obj.penalty.weights(obj.l1_ratio if l1_ratio is None else l1_ratio)
    s = np.ones(n) if obj.sample_weight is None else np.asarray(obj.sample_weight, float)
    w, b = cp.Variable(d), cp.Variable()
    r = obj.y - X @ w - (b if obj.fit_intercept else 0.0)
    f = obj.loss_weight * 0.5 * cp.sum(cp.multiply(s, cp.square(r)))
    f = f + alpha * (c1 * cp.norm1(w) + 0.5 * c2 * cp.sum_squares(w))
    prob = cp.Problem(cp.Minimize(f), [w >= 0] if obj.positive else [])
    prob.solve(solver="CLARABEL", **CLARABEL_TIGHT)
    assert prob.status in ("optimal", "optimal_inaccurate")
    return prob.value


def _certify(obj, res, alphas=None, l1_ratios=None):
    """Independent certificate (mlopt.certificates) for every member; returns the largest relative gap."""
    worst = 0.0
    saved = obj.alpha, obj.l1_ratio
    for k, a in enumerate(res.alphas if alphas is None else alphas):
        obj.alpha = float(a)
        if l1_ratios is not None:
            obj.l1_ratio = float(l1_ratios[k])
        worst = max(worst, certificate(obj, res.coefs[k], res.intercepts[k]).relative_gap)
    obj.alpha, obj.l1_ratio = saved
    return worst


# ----------------------------------------------------------------------------- against references
def test_lasso_path_matches_sklearn_and_clarabel_on_diabetes(diabetes):
    X, y = diabetes
    obj = mlopt.Lasso().get_objective(X, y)
    alphas = alpha_grid(X, y, n_alphas=40)
    res = fit_path_batched(obj, alphas)
    assert set(res.statuses) == {"solved"} and np.all(res.relative_gaps <= 1e-8)
    _, ref, _ = sk.lasso_path(X - X.mean(0), y - y.mean(), alphas=alphas, tol=1e-12, max_iter=1_000_000)
    np.testing.assert_allclose(res.coefs, ref.T, rtol=0, atol=1e-6)
    np.testing.assert_allclose(res.intercepts, y.mean() - ref.T @ X.mean(0), rtol=0, atol=1e-6)
    ours = model_objectives(obj, alphas, 1.0, res.coefs, res.intercepts)
    theirs = model_objectives(obj, alphas, 1.0, ref.T, y.mean() - ref.T @ X.mean(0))
    assert np.all(np.abs(ours - theirs) <= 1e-8 * np.abs(theirs))
    # the reported objective is the model's value f(w, b) (const included)
    for k in (0, 17, 39):
        obj.alpha = alphas[k]
        assert res.primal_objectives[k] == pytest.approx(obj.value(res.coefs[k], res.intercepts[k]), rel=1e-12)
    for k in range(0, 40, 6):
        ref_value = _clarabel_value(obj, alphas[k])
        assert abs(ours[k] - ref_value) <= 1e-8 * abs(ref_value)
    assert _certify(obj, res) <= 1e-7


def test_elastic_net_path_on_sparse_truth_matches_sklearn():
    X, y, support = _sparse_truth(400, 30, k=5, seed=1)
    obj = mlopt.ElasticNet(l1_ratio=0.6).get_objective(X, y)
    alphas = alpha_grid(X, y, l1_ratio=0.6, n_alphas=30)
    res = fit_path_batched(obj, alphas)
    assert set(res.statuses) == {"solved"}
    _, ref, _ = sk.enet_path(X - X.mean(0), y - y.mean(), l1_ratio=0.6, alphas=alphas, tol=1e-12, max_iter=1_000_000)
    np.testing.assert_allclose(res.coefs, ref.T, rtol=0, atol=1e-6)
    ours = model_objectives(obj, alphas, 0.6, res.coefs, res.intercepts)
    theirs = model_objectives(obj, alphas, 0.6, ref.T, y.mean() - ref.T @ X.mean(0))
    assert np.all(np.abs(ours - theirs) <= 1e-8 * np.abs(theirs))
    # the path passes through the true support, and the weakest penalty keeps it
    supports = [tuple(np.flatnonzero(np.abs(c) > 1e-9)) for c in res.coefs]
    assert tuple(support) in supports
    assert set(support) <= set(supports[-1])
    for k in (3, 15, 29):
        assert abs(ours[k] - _clarabel_value(obj, alphas[k])) <= 1e-8 * abs(ours[k])
    assert _certify(obj, res) <= 1e-7


def test_positive_lasso_matches_sklearn_and_clarabel(diabetes):
    X, y = diabetes
    obj = mlopt.Lasso(positive=True).get_objective(X, y)
    alphas = alpha_grid(X, y, n_alphas=25, positive=True)
    res = fit_path_batched(obj, alphas)
    assert set(res.statuses) == {"solved"} and np.all(res.coefs >= 0)
    _, ref, _ = sk.lasso_path(X - X.mean(0), y - y.mean(), alphas=alphas, positive=True, tol=1e-12,
                              max_iter=1_000_000)
    np.testing.assert_allclose(res.coefs, ref.T, rtol=0, atol=1e-6)
    for k in (2, 12, 24):
        ref_value = _clarabel_value(obj, alphas[k])
        assert abs(res.primal_objectives[k] - ref_value) <= 1e-8 * abs(ref_value)
    assert _certify(obj, res) <= 1e-7


def test_positive_ridge_and_elastic_net_against_clarabel(diabetes):
    X, y = diabetes
    for est, alphas in ((mlopt.Ridge(positive=True), [200.0, 20.0, 2.0, 0.2]),
                        (mlopt.ElasticNet(l1_ratio=0.3, positive=True), [1.0, 0.1, 0.01])):
        obj = est.get_objective(X, y)
        obj_alphas = [obj.alpha * a / est.alpha for a in alphas]  # the objective's α (Ridge: 2·alpha)
        res = fit_path_batched(obj, obj_alphas)
        assert set(res.statuses) == {"solved"} and np.all(res.coefs >= 0)
        assert np.any(res.coefs == 0)  # the constraint is active somewhere
        for k, a in enumerate(obj_alphas):
            ref_value = _clarabel_value(obj, a)
            assert abs(res.primal_objectives[k] - ref_value) <= 1e-8 * abs(ref_value)
        assert _certify(obj, res) <= 1e-7


def test_more_features_than_samples():
    X, y, _ = _sparse_truth(30, 90, k=4, seed=2)
    obj = mlopt.Lasso().get_objective(X, y)
    alphas = alpha_grid(X, y, n_alphas=15, eps=1e-2)
    res = fit_path_batched(obj, alphas)
    assert set(res.statuses) == {"solved"}
    for k in (4, 9, 14):
        ref = sk.Lasso(alpha=alphas[k], tol=1e-13, max_iter=10_000_000).fit(X, y)
        np.testing.assert_allclose(res.coefs[k], ref.coef_, rtol=0, atol=1e-6)
        assert res.intercepts[k] == pytest.approx(ref.intercept_, abs=1e-6)
        ref_value = _clarabel_value(obj, alphas[k])
        assert abs(res.primal_objectives[k] - ref_value) <= 1e-8 * abs(ref_value)
    assert np.count_nonzero(res.coefs[-1]) < X.shape[0]  # a lasso solution uses at most n features
    assert _certify(obj, res) <= 1e-7
    # ridge with d > n (singular Gram matrix, closed form) and least squares (minimum-norm)
    robj = mlopt.Ridge().get_objective(X, y)
    rres = fit_path_batched(robj, [2.0, 0.02, 0.0])
    assert set(rres.statuses) == {"solved"} and np.all(rres.iterations == 0)
    for k, a in enumerate([1.0, 0.01]):
        ref = sk.Ridge(alpha=a, solver="svd").fit(X, y)
        np.testing.assert_allclose(rres.coefs[k], ref.coef_, rtol=0, atol=1e-9)
    Xc = X - X.mean(0)
    np.testing.assert_allclose(rres.coefs[2], np.linalg.pinv(Xc) @ (y - y.mean()), rtol=0, atol=1e-8)


@pytest.mark.parametrize("est", [mlopt.Lasso(), mlopt.Lasso(positive=True), mlopt.ElasticNet(l1_ratio=0.5)],
                         ids=["lasso", "positive", "enet"])
def test_degenerate_columns(est):
    """Duplicate, all-zero, constant (collinear with the intercept) and badly scaled columns: singular G,
    a degenerate support; every member must still be certified and match Clarabel."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((200, 30))
    X[:, 1] = X[:, 0]
    X[:, 2] = 0.0
    X[:, 3] = 5.0
    X[:, 4] *= 1e4
    X[:, 5] *= 1e-4
    y = X[:, 0] - 2 * X[:, 7] + 1e-4 * X[:, 4] + 0.3 * rng.standard_normal(200) + 3
    obj = est.get_objective(X, y)
    alphas = alpha_grid(X, y, n_alphas=30, positive=est.positive)
    res = fit_path_batched(obj, alphas)
    assert set(res.statuses) == {"solved"}
    assert np.all(res.coefs[:, [2, 3]] == 0)  # the penalty alone fixes them (intercept takes the constant)
    assert _certify(obj, res) <= 1e-7
    for k in (5, 29):
        ref_value = _clarabel_value(obj, alphas[k])
        assert res.primal_objectives[k] <= ref_value + 1e-8 * abs(ref_value)


def test_ridge_closed_form_with_weights(diabetes):
    X, y = diabetes
    sw = np.random.default_rng(3).uniform(0.0, 2.0, X.shape[0])
    sw[:10] = 0.0
    obj = mlopt.Ridge().get_objective(X, y, sample_weight=sw)
    ridge_alphas = np.array([1e3, 10.0, 0.1, 0.0])
    res = fit_path_batched(obj, 2.0 * ridge_alphas)  # Ridge's objective: α_obj = 2·alpha
    assert set(res.statuses) == {"solved"} and np.all(res.iterations == 0)
    for k, a in enumerate(ridge_alphas):
        xm = np.average(X, axis=0, weights=sw)
        ym = np.average(y, weights=sw)
        Xc, yc = X - xm, y - ym
        w = np.linalg.solve(Xc.T @ (sw[:, None] * Xc) + a * np.eye(X.shape[1]), Xc.T @ (sw * yc))
        np.testing.assert_allclose(res.coefs[k], w, rtol=1e-10, atol=1e-10)
        assert res.intercepts[k] == pytest.approx(ym - xm @ w, rel=1e-10)
        obj.alpha = 2.0 * a
        assert res.primal_objectives[k] == pytest.approx(obj.value(w, ym - xm @ w), rel=1e-10)


# ----------------------------------------------------------------------------- batch mechanics
def test_members_stop_independently(diabetes):
    X, y = diabetes
    obj = mlopt.Lasso().get_objective(X, y)
    grid = alpha_grid(X, y, n_alphas=20)
    alphas = np.concatenate([[3.0 * grid[0]], grid])  # above α_max: w = 0, screened exactly
    res = fit_path_batched(obj, alphas)
    assert res.iterations[0] == 0 and np.all(res.coefs[0] == 0) and res.gaps[0] <= 1e-12 * abs(res.primal_objectives[0])
    assert len(set(res.iterations.tolist())) >= 3  # members converge at different iterations
    # a member's result does not depend on the batch it runs in (converged members are frozen)
    for k in (1, 7, 20):
        one = fit_path_batched(obj, [alphas[k]])
        assert one.iterations[0] == res.iterations[k]
        np.testing.assert_allclose(one.coefs[0], res.coefs[k], rtol=0, atol=1e-10)
    threads = torch.get_num_threads()
    chunked = fit_path_batched(obj, alphas, chunk_size=4, cpu_threads=1)
    assert torch.get_num_threads() == threads  # the solve's thread setting is restored
    np.testing.assert_array_equal(chunked.iterations, res.iterations)
    np.testing.assert_allclose(chunked.coefs, res.coefs, rtol=0, atol=1e-10)


def test_sparse_input_weights_and_gram_inputs(diabetes):
    X, y = diabetes
    sw = np.random.default_rng(4).uniform(0.2, 3.0, X.shape[0])
    dense = mlopt.ElasticNet(l1_ratio=0.8).get_objective(X, y, sample_weight=sw)
    sparse = mlopt.ElasticNet(l1_ratio=0.8).get_objective(sp.csr_matrix(X), y, sample_weight=sw)
    alphas = [2.0, 0.5, 0.05, 0.005]
    a = fit_path_batched(dense, alphas)
    b = fit_path_batched(sparse, alphas)
    np.testing.assert_allclose(a.coefs, b.coefs, rtol=0, atol=1e-9)
    for k in (0, 3):
        assert abs(a.primal_objectives[k] - _clarabel_value(dense, alphas[k])) <= 1e-8 * abs(a.primal_objectives[k])
    assert _certify(dense, a) <= 1e-7
    # the same problem from Gram data (GramData, or an alpha=0 GramProblem) with l1_ratio given
    gd = gram_data(dense)
    c = fit_path_batched(GramData(gd.G, gd.g, gd.constant, gd.n_features, gd.fit_intercept), alphas, l1_ratio=0.8)
    np.testing.assert_allclose(c.coefs, a.coefs, rtol=0, atol=1e-9)
    dense.alpha = 0.0
    e = fit_path_batched(assemble_gram(dense), alphas, l1_ratio=0.8)
    np.testing.assert_allclose(e.coefs, a.coefs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(e.primal_objectives, a.primal_objectives, rtol=1e-12)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(alphas=[]), ValueError, "alphas"),
    (dict(alphas=[0.1, -1.0]), ValueError, "alphas"),
    (dict(alphas=[0.1, np.nan]), ValueError, "alphas"),
    (dict(alphas="0.1"), TypeError, "alphas"),
    (dict(alphas=[0.1], device="tpu"), ValueError, "device"),
    (dict(alphas=[0.1], device=3), TypeError, "device"),
    (dict(alphas=[0.1], chunk_size=0), ValueError, "chunk_size"),
    (dict(alphas=[0.1], tol=-1.0), ValueError, "tol"),
    (dict(alphas=[0.1], max_iter=0), ValueError, "max_iter"),
    (dict(alphas=[0.1, 0.2], l1_ratio=[0.5]), ValueError, "l1_ratio"),
    (dict(alphas=[0.1], l1_ratio=1.5), ValueError, "l1_ratio"),
    (dict(alphas=[0.1], cpu_threads=0), ValueError, "cpu_threads"),
    (dict(alphas=[0.1], positive="yes"), TypeError, "positive"),
])
def test_bad_input_raises(diabetes, kwargs, error, match):
    X, y = diabetes
    obj = mlopt.Lasso().get_objective(X, y)
    with pytest.raises(error, match=match):
        fit_path_batched(obj, **kwargs)


def test_unsupported_objectives_raise(diabetes):
    X, y = diabetes
    with pytest.raises(TypeError, match="objective_or_gram"):
        fit_path_batched((X, y), [0.1])
    with pytest.raises(ValueError, match="objective_or_gram"):
        fit_path_batched(mlopt.QuantileRegressor().get_objective(X, y), [0.1])
    with pytest.raises(ValueError, match="objective_or_gram"):
        fit_path_batched(mlopt.ConvexLinearRegressor(bounds=(-1, 1)).get_objective(X, y), [0.1])
    with pytest.raises(ValueError, match="GramProblem"):
        fit_path_batched(assemble_gram(mlopt.Lasso(alpha=0.1).get_objective(X, y)), [0.1])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without a GPU")
def test_cuda_without_gpu_raises(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="cuda"):
        fit_path_batched(mlopt.Lasso().get_objective(X, y), [0.1], device="cuda")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(diabetes):
    X, y = diabetes
    for est in (mlopt.Lasso(), mlopt.Lasso(positive=True), mlopt.Ridge()):
        obj = est.get_objective(X, y)
        alphas = alpha_grid(X, y, n_alphas=30) * (obj.alpha / est.alpha)
        cpu = fit_path_batched(obj, alphas, device="cpu")
        gpu = fit_path_batched(obj, alphas, device="cuda")
        assert gpu.device.startswith("cuda") and set(gpu.statuses) == {"solved"}
        np.testing.assert_allclose(gpu.coefs, cpu.coefs, rtol=0, atol=1e-8)
        np.testing.assert_allclose(gpu.primal_objectives, cpu.primal_objectives, rtol=1e-10)
        assert _certify(obj, gpu) <= 1e-7


# ----------------------------------------------------------------------------- paths and CV
def test_regularization_path_uses_batched_solve(diabetes):
    X, y = diabetes
    alphas = alpha_grid(X, y, n_alphas=12)
    path = regularization_path(mlopt.Lasso(solver="mlopt"), X, y, "alpha", alphas)
    assert path.solver == "MLOPT (batched)" and set(path.statuses) == {"optimal"}
    assert np.all(path.iterations >= 0) and np.all(path.times > 0)
    obj = mlopt.Lasso().get_objective(X, y)
    _, ref, _ = sk.lasso_path(X - X.mean(0), y - y.mean(), alphas=path.values, tol=1e-12, max_iter=1_000_000)
    np.testing.assert_allclose(path.coefs, ref.T, rtol=0, atol=1e-6)
    for k, a in enumerate(path.values):
        obj.alpha = a
        # the per-value structured IPM (the old loop): same objective up to its own accuracy
        # (its coefficients are ~√gap accurate: 3e-4 at α_max on this data, where ours is exactly 0)
        coef, b, info = fit_objective(obj, tol=1e-10)
        assert abs(path.objectives[k] - info["objective"]) <= 1e-9 * info["objective"]
        assert path.objectives[k] <= info["objective"] * (1 + 1e-12)
        assert path.objectives[k] == pytest.approx(obj.value(path.coefs[k], path.intercepts[k]), rel=1e-12)
    # l1_ratio paths and Ridge's own alpha mapping go through the same batch
    enet = regularization_path(mlopt.ElasticNet(alpha=0.3, solver="mlopt"), X, y, "l1_ratio", [0.0, 0.4, 1.0])
    assert enet.solver == "MLOPT (batched)"
    for k, r in enumerate([0.0, 0.4, 1.0]):
        ref = sk.ElasticNet(alpha=0.3, l1_ratio=r, tol=1e-12, max_iter=1_000_000).fit(X, y) if r else \
            sk.Ridge(alpha=0.3 * X.shape[0]).fit(X, y)
        np.testing.assert_allclose(enet.coefs[k], ref.coef_, rtol=0, atol=1e-6)
    ridge = regularization_path(mlopt.Ridge(solver="mlopt"), X, y, "alpha", [100.0, 1.0])
    for k, a in enumerate([100.0, 1.0]):
        np.testing.assert_allclose(ridge.coefs[k], sk.Ridge(alpha=a).fit(X, y).coef_, rtol=1e-9, atol=1e-9)
    # options the batch does not know keep the per-value IPM
    seq = regularization_path(mlopt.Lasso(solver="mlopt", solver_options={"kkt_solver": "qdldl"}), X, y, "alpha",
                              alphas[:2])
    assert seq.solver == "MLOPT (structured)"
    lp = lasso_path(X, y, alphas=alphas[:3], solver="mlopt")
    assert lp.solver == "MLOPT (batched)"


def test_failed_members_warn_and_are_nan(diabetes):
    X, y = diabetes
    alphas = alpha_grid(X, y, n_alphas=10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = regularization_path(mlopt.Lasso(solver="mlopt", solver_options={"max_iter": 1}), X, y, "alpha", alphas)
    failed = [k for k, s in enumerate(path.statuses) if s != "optimal"]
    assert failed and all(path.statuses[k] == "user_limit" for k in failed)
    assert np.all(np.isnan(path.coefs[failed])) and np.all(np.isnan(path.intercepts[failed]))
    assert np.all(np.isnan(path.objectives[failed])) and np.all(path.iterations[failed] == -1)
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len([m for m in messages if "path entry is NaN" in m and "max_iterations" in m]) == len(failed)
    ok = [k for k in range(10) if k not in failed]
    obj = mlopt.Lasso().get_objective(X, y)
    for k in ok:  # members that did reach the tolerance are correct
        obj.alpha = path.values[k]
        assert certificate(obj, path.coefs[k], path.intercepts[k]).relative_gap <= 1e-8


def test_lasso_cv_mlopt_matches_sklearn(diabetes):
    X, y = diabetes
    cv = KFold(5, shuffle=True, random_state=0)
    ours = LassoCV(alphas=30, cv=cv, solver="mlopt").fit(X, y)
    ref = sk.LassoCV(alphas=ours.alphas_, cv=cv, tol=1e-12, max_iter=1_000_000).fit(X, y)
    np.testing.assert_allclose(ours.alphas_, ref.alphas_, rtol=1e-12)
    assert ours.alpha_ == ref.alpha_
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-8)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-6)


def test_elastic_net_and_ridge_cv_mlopt_match_sklearn(diabetes):
    X, y = diabetes
    cv = KFold(4, shuffle=True, random_state=1)
    ours = ElasticNetCV(l1_ratio=[0.2, 0.7], alphas=10, cv=cv, solver="mlopt").fit(X, y)
    ref = sk.ElasticNetCV(l1_ratio=[0.2, 0.7], alphas=10, cv=cv, tol=1e-12, max_iter=1_000_000).fit(X, y)
    assert (ours.alpha_, ours.l1_ratio_) == (ref.alpha_, ref.l1_ratio_)
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-8)
    alphas = [0.01, 1.0, 30.0, 300.0]
    ridge = RidgeCV(alphas=alphas, cv=cv, solver="mlopt").fit(X, y)
    ref_r = sk.RidgeCV(alphas=alphas, cv=cv, scoring="neg_mean_squared_error").fit(X, y)
    assert ridge.alpha_ == ref_r.alpha_
    np.testing.assert_allclose(ridge.coef_, ref_r.coef_, rtol=1e-6)
