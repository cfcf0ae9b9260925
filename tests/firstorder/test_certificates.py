"""Certificates: tight at the optimum, and an upper bound on suboptimality everywhere."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlopt.certificates import certificate

CERTIFIED = ["ridge", "lasso", "elasticnet", "logistic", "group", "svm", "quantile"]


@pytest.mark.parametrize("name", CERTIFIED)
def test_gap_tight_at_optimum(bank, name):
    est, X, y, obj, fstar, coef, icpt = bank[name]
    cert = certificate(obj, coef, icpt)
    assert cert.relative_gap <= 1e-7
    assert cert.dual <= fstar + 1e-9 * abs(fstar)
    assert cert.primal == pytest.approx(fstar, rel=1e-12)


@pytest.mark.parametrize("name", CERTIFIED)
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(1e-6, 1.0))
def test_gap_bounds_true_suboptimality(bank, name, seed, scale):
    est, X, y, obj, fstar, coef, icpt = bank[name]
    rng = np.random.default_rng(seed)
    w = coef + scale * rng.standard_normal(coef.shape) * max(1.0, np.abs(coef).max())
    b = np.asarray(icpt) + scale * rng.standard_normal(np.shape(icpt))
    cert = certificate(obj, w, b)
    true_subopt = obj.value(w, b) - fstar
    assert cert.gap >= true_subopt - 1e-9 * abs(fstar)


def test_certifies_sklearn_solution(bank):
    from sklearn.linear_model import Lasso as SkLasso

    est, X, y, obj, fstar, *_ = bank["lasso"]
    sk = SkLasso(alpha=0.05, tol=1e-12, max_iter=100000).fit(X, y)
    cert = certificate(obj, sk.coef_, sk.intercept_)
    assert cert.relative_gap <= 1e-6
    assert cert.primal - fstar <= cert.gap + 1e-12


def test_uncovered_raises(bank):
    from mlopt import HuberRegressor

    est, X, y, *_ = bank["ridge"]
    with pytest.raises(ValueError, match="conic"):
        certificate(HuberRegressor().get_objective(X, y), np.zeros(X.shape[1]), 0.0)
    with pytest.raises(ValueError, match="multinomial"):
        certificate(bank["multinomial"][3], np.zeros(bank["multinomial"][3].coef_shape), np.zeros(3))


def test_degenerate_hinge_kink_gets_a_bounded_dual(monkeypatch):
    """More kink samples than stationarity equations: the least-norm multipliers may leave the box
    0 ≤ aᵢ ≤ cᵢ, and clipping them breaks stationarity; the bounded least-squares candidate keeps the
    certificate tight.  The margin samples of a solved SVM are split into two copies with weights 0.9
    and 0.1 (the same problem, the same optimum): least norm shares aᵢ equally, beyond the light copy's cap."""
    import mlopt.certificates as mc
    from mlopt.estimators import LinearSVC
    from mlopt.structured import fit_objective
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    coef, b, _ = fit_objective(LinearSVC(C=1.0).get_objective(X, y), screen="off", tol=1e-11)
    ys = np.where(y == 1, 1.0, -1.0)
    at = np.abs(ys * (X @ coef + b) - 1) < 1e-7
    assert at.sum() >= 10
    X2 = np.vstack([X[~at], X[at], X[at]])
    y2 = np.concatenate([y[~at], y[at], y[at]])
    sw = np.concatenate([np.ones((~at).sum()), np.full(at.sum(), 0.9), np.full(at.sum(), 0.1)])
    obj = LinearSVC(C=1.0).get_objective(X2, y2, sample_weight=sw)
    tight = mc.certificate(obj, coef, b)
    monkeypatch.setattr(mc, "_BOUNDED_KINK_MAX", 0)  # least squares and clipping only
    loose = mc.certificate(obj, coef, b)
    assert tight.relative_gap <= 1e-9 < loose.relative_gap
    assert tight.primal == pytest.approx(loose.primal, rel=1e-14) and tight.dual <= tight.primal + 1e-9
