"""The active-set start of the batched Gram-form solver (mlopt.structured.active_set).

References: the same batched solver with the start switched off (IPM only), scikit-learn's
coordinate descent at tol 1e-12, CVXPY+Clarabel, and the KKT conditions of the lasso.
"""
import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes
from sklearn.linear_model import ElasticNet as SkElasticNet
from sklearn.linear_model import Lasso as SkLasso

import mlopt.structured.active_set as active_set
import mlopt.structured.batched_path as batched_path
from mlopt.losses import SquaredLoss
from mlopt.objective import Objective
from mlopt.penalties import ElasticNetPenalty, L1Penalty
from mlopt.structured import fit_objective
from mlopt.structured.batched_path import GramData, fit_path_batched, model_objectives


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X, (y - y.mean()) / y.std()


def _correlated(n, d, rho, seed):
    rng = np.random.default_rng(seed)
    C = rho ** np.abs(np.subtract.outer(np.arange(d), np.arange(d)))
    X = rng.standard_normal((n, d)) @ np.linalg.cholesky(C).T
    w = np.zeros(d)
    w[rng.choice(d, d // 5, replace=False)] = 2.0 * rng.standard_normal(d // 5)
    return X, X @ w + 0.5 * rng.standard_normal(n)


def _ipm_only(monkeypatch, objective, alphas):
    with monkeypatch.context() as m:
        m.setattr(batched_path, "ACTIVE_SET_STEPS", 0)
        return fit_path_batched(objective, alphas)


@pytest.mark.parametrize("penalty, l1_ratio", [(L1Penalty(), 1.0), (ElasticNetPenalty(), 0.5)])
@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("data", ["diabetes", "correlated"])
def test_active_set_members_match_the_ipm(monkeypatch, diabetes, penalty, l1_ratio, positive, data):
    X, y = diabetes if data == "diabetes" else _correlated(400, 30, 0.9, 3)
    obj = Objective(X, y, SquaredLoss(), penalty, alpha=1.0, l1_ratio=l1_ratio, positive=positive)
    alphas = np.abs(X.T @ (y - y.mean())).max() * np.logspace(-0.1, -4, 10)
    res = fit_path_batched(obj, alphas)
    ref = _ipm_only(monkeypatch, obj, alphas)
    assert set(res.statuses) == {"solved"} and set(ref.statuses) == {"solved"}
    assert res.methods.count("active_set") >= 8  # most members never reach the IPM
    assert set(ref.methods) <= {"ipm", "closed_form"} or ref.iterations[ref.methods.index("active_set")] == 0
    f = model_objectives(obj, alphas, res.l1_ratios, res.coefs, res.intercepts)
    f_ref = model_objectives(obj, alphas, ref.l1_ratios, ref.coefs, ref.intercepts)
    assert np.all(f <= f_ref + 1e-12 * np.maximum(1.0, np.abs(f_ref)))
    np.testing.assert_allclose(res.coefs, ref.coefs, atol=1e-6)
    certified = np.array(res.methods) == "active_set"
    assert np.all(res.relative_gaps[certified] <= 1e-12)
    assert np.all(res.iterations[certified] <= active_set.ACTIVE_SET_STEPS)


def test_one_lasso_fit_is_certified_by_the_active_set_and_matches_sklearn(diabetes):
    X, y = diabetes
    obj = Objective(X, y, SquaredLoss(), L1Penalty(), alpha=0.01 * len(y), fit_intercept=True)
    coef, intercept, info = fit_objective(obj)
    assert info["status"] == "solved" and info["method"] == "active_set" and info["kkt_solver"] == "batched_gram"
    assert 1 <= info["iterations"] <= 8 and info["gap"] <= 1e-12
    sk = SkLasso(alpha=0.01, tol=1e-12, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(coef, sk.coef_, atol=1e-8)
    assert abs(float(intercept) - sk.intercept_) <= 1e-8
    # KKT: |xⱼᵀr| = nα on the support with the sign of wⱼ, ≤ nα off it
    r = y - X @ coef - intercept
    corr = X.T @ r
    on = coef != 0
    np.testing.assert_allclose(corr[on], obj.alpha * np.sign(coef[on]), rtol=1e-9)
    assert np.all(np.abs(corr[~on]) <= obj.alpha * (1 + 1e-9)) and 2 <= on.sum() < X.shape[1]


def test_elastic_net_fit_matches_sklearn():
    X, y = _correlated(600, 40, 0.8, 5)
    obj = Objective(X, y, SquaredLoss(), ElasticNetPenalty(), alpha=0.05 * len(y), l1_ratio=0.7)
    coef, intercept, info = fit_objective(obj)
    assert info["method"] == "active_set" and info["status"] == "solved"
    sk = SkElasticNet(alpha=0.05, l1_ratio=0.7, tol=1e-12, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(coef, sk.coef_, atol=1e-7)


# a 4-feature lasso (G ≻ 0, no intercept) on which plain block pivoting cycles: found by a
# random search, kept here with its data rounded to 3 digits
_G = np.array([[59.351, -19.166, -0.734, -4.701], [-19.166, 48.394, 5.106, 3.127],
               [-0.734, 5.106, 1.965, -3.7], [-4.701, 3.127, -3.7, 12.949]])
_g = np.array([2.715, 6.709, 1.655, -0.621])
_W_STAR = np.array([8.32214655e-02, 1.33120846e-01, 2.62783469e-01, 0.0])  # CVXPY+Clarabel, tol 1e-12


def test_murty_safeguard_certifies_where_block_pivoting_cycles(monkeypatch):
    data = GramData(G=torch.tensor(_G), g=torch.tensor(_g), constant=0.0, n_features=4, fit_intercept=False)
    with monkeypatch.context() as m:
        m.setattr(active_set, "_BLOCK_TRIES", 10 ** 9)  # block exchanges only: no finite-termination rule
        plain = fit_path_batched(data, [0.52])
    assert plain.methods == ["ipm"] and plain.iterations[0] > active_set.ACTIVE_SET_STEPS
    res = fit_path_batched(data, [0.52])
    assert res.methods == ["active_set"] and res.statuses == ["solved"] and res.iterations[0] <= 10
    np.testing.assert_allclose(res.coefs[0], _W_STAR, atol=1e-9)
    np.testing.assert_allclose(plain.coefs[0], _W_STAR, atol=1e-8)
    # KKT of ½wᵀGw − gᵀw + λ‖w‖₁
    v = _g - _G @ res.coefs[0]
    on = res.coefs[0] != 0
    np.testing.assert_allclose(v[on], 0.52 * np.sign(res.coefs[0][on]), rtol=1e-10)
    assert np.all(np.abs(v[~on]) <= 0.52)


def test_singular_restricted_systems_go_to_the_ipm(diabetes):
    X, y = diabetes
    Xd = np.hstack([X, X[:, :3]])  # duplicated columns: both copies enter S, (G)_SS is singular
    obj = Objective(Xd, y, SquaredLoss(), L1Penalty(), alpha=1.0)
    alphas = np.abs(Xd.T @ y).max() * np.logspace(-0.5, -3, 5)
    res = fit_path_batched(obj, alphas)
    assert set(res.statuses) == {"solved"} and "ipm" in res.methods
    ipm = np.array(res.methods) == "ipm"
    assert np.all(res.iterations[ipm] >= 2)  # the restricted solve spent before the IPM is counted
    sk = [SkLasso(alpha=a / len(y), tol=1e-12, max_iter=100000).fit(Xd, y) for a in alphas]
    f = model_objectives(obj, alphas, res.l1_ratios, res.coefs, res.intercepts)
    f_sk = model_objectives(obj, alphas, res.l1_ratios, np.array([s.coef_ for s in sk]),
                            np.array([s.intercept_ for s in sk]))
    assert np.all(f <= f_sk + 1e-8 * np.abs(f_sk))


def test_max_iter_bounds_the_active_set_steps(diabetes):
    X, y = diabetes
    obj = Objective(X, y, SquaredLoss(), L1Penalty(), alpha=0.01 * len(y))
    full = fit_path_batched(obj, [obj.alpha])
    assert full.methods == ["active_set"] and full.iterations[0] == 5  # 5 restricted solves certify it
    for max_iter in (1, 2):
        res = fit_path_batched(obj, [obj.alpha], max_iter=max_iter)
        # max_iter restricted solves, then max_iter IPM iterations (and the IPM's polish)
        assert res.iterations[0] == 2 * max_iter and res.methods == ["ipm"]
        if res.statuses == ["solved"]:
            assert res.relative_gaps[0] <= 1e-8 and res.primal_objectives[0] <= full.primal_objectives[0] + 1e-9
        else:
            assert res.statuses == ["max_iterations"] and np.all(np.isnan(res.coefs))


def test_sample_weights_without_intercept_match_sklearn(diabetes):
    X, y = diabetes
    s = np.random.default_rng(7).uniform(0.2, 3.0, len(y))
    # scikit-learn's α: 1/(2Σs)·Σsᵢrᵢ² + α‖w‖₁, w = 0 optimal from α_max = ‖Xᵀ(s∘y)‖∞/Σs on
    alphas = np.abs(X.T @ (s * y)).max() / s.sum() * np.array([0.3, 0.03, 0.003])
    obj = Objective(X, y, SquaredLoss(), L1Penalty(), alpha=1.0, loss_weight=1.0 / s.sum(), sample_weight=s,
                    fit_intercept=False)
    res = fit_path_batched(obj, alphas)
    assert set(res.statuses) == {"solved"} and res.methods.count("active_set") == 3
    for k, a in enumerate(alphas):
        sk = SkLasso(alpha=a, fit_intercept=False, tol=1e-14, max_iter=1_000_000).fit(X, y, sample_weight=s)
        np.testing.assert_allclose(res.coefs[k], sk.coef_, atol=1e-7)
        assert res.intercepts[k] == 0.0
