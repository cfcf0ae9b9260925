"""Gondzio's centrality correctors: the products they aim at, the same optimum with fewer iterations
(against the run without them and against Clarabel), and when the core loop uses them."""
from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp
import torch

import mlopt
from mlopt.datasets import make_classification, make_regression
from mlopt.ipm import NonnegativeCone, ZeroCone, solve
from mlopt.ipm import core as ipm_core
from mlopt.ipm.cones import CompositeCone
from mlopt.ipm.cones.nonneg import NonnegativeGroup
from mlopt.ipm.kkt import kkt_problem, make_kkt_solver
from mlopt.ipm.settings import IPMSettings
from mlopt.structured import assemble, fit_objective


def test_centrality_ds_moves_products_into_the_box():
    g = NonnegativeGroup(torch.arange(4))
    s = torch.tensor([1.0, 0.01, 100.0, 2.0], dtype=torch.float64)
    z = torch.tensor([1.0, 1.0, 1.0, 20.0], dtype=torch.float64)  # products 1, 0.01, 100, 40
    d = g.centrality_ds(s, z, lo=0.1, hi=10.0)
    # wanted change t = clip(v) − v, a decrease capped at hi; d_s = −t (Newton: zΔs + sΔz = −d_s)
    np.testing.assert_allclose(d.numpy(), [0.0, -(0.1 - 0.01), 10.0, 10.0])


def _count_correctors(monkeypatch):
    calls = []
    original = ipm_core.IPMCore.correct_centrality

    def counted(self, *args):
        calls.append(1)
        return original(self, *args)
    monkeypatch.setattr(ipm_core.IPMCore, "correct_centrality", counted)
    return calls


def _svm_objective(n, d, seed):
    X, y, _ = make_classification(n, d, flip=0.1, random_state=seed)
    return mlopt.LinearSVC(C=1.0).get_objective(X, y)


def test_gate_by_factorization_cost(monkeypatch):
    calls = _count_correctors(monkeypatch)
    obj = _svm_objective(1000, 50, 0)
    _, _, info = fit_objective(obj)  # (a factorization ≈ 11 solves there: below the gate)
    assert info["status"] == "solved" and not calls
    monkeypatch.setattr(ipm_core, "CORRECTOR_MIN_FACTOR_COST", 1.0)
    _, _, info = fit_objective(obj)
    assert info["status"] == "solved" and len(calls) == info["iterations"]
    calls.clear()
    _, _, info = fit_objective(obj, centrality_correctors=0)
    assert not calls
    # the structured backend's estimate: ≈ |G_c|/4 solves for n ≫ d
    prob = assemble(obj)
    cones = CompositeCone(prob.cones, torch.device("cpu"))
    kkt = make_kkt_solver("structured", kkt_problem(prob.P, prob.A, "cpu"), cones.scaling_blocks(),
                          IPMSettings(kkt_solver="structured", kkt_structure=prob.structure))
    assert 51 / 4 * 0.8 < kkt.factor_cost_in_solves < 51 / 4
    # exponential cones (logistic) have no correctors
    X, y, _ = make_classification(300, 10, flip=0.1, random_state=0)
    _, _, info = fit_objective(mlopt.LogisticRegression(C=1.0).get_objective(X, y))
    assert info["status"] == "solved" and not calls


@pytest.mark.parametrize("make", [
    lambda: (_svm_objective(2000, 40, 1), "svm"),
    lambda: (mlopt.ConvexLinearRegressor(loss="absolute", penalty="l1", alpha=0.01)
             .get_objective(*make_regression(2000, 40, n_informative=8, noise=0.5, random_state=1)[:2]), "lad_l1"),
    lambda: (mlopt.QuantileRegressor(quantile=0.3, alpha=0.01)
             .get_objective(*make_regression(1000, 20, n_informative=5, noise=0.5, random_state=2)[:2]), "quantile"),
], ids=["svm", "lad_l1", "quantile"])
def test_same_optimum_fewer_iterations(monkeypatch, make):
    obj, _ = make()
    plain = fit_objective(obj, centrality_correctors=0)
    monkeypatch.setattr(ipm_core, "CORRECTOR_MIN_FACTOR_COST", 0.0)
    corrected = fit_objective(obj)
    for coef, b, info in (plain, corrected):
        assert info["status"] == "solved" and info["gap"] <= 1e-8
    f0, f1 = plain[2]["objective"], corrected[2]["objective"]
    assert abs(f1 - f0) <= 1e-7 * max(1.0, abs(f0))
    np.testing.assert_allclose(corrected[0], plain[0], atol=1e-5)
    assert corrected[2]["iterations"] < plain[2]["iterations"]  # measured: 15 → 12, 15 → 11, 11 → 9


def test_generic_backend_lp_matches_clarabel(monkeypatch):
    """The core loop's correctors with a generic backend (sparse LDLᵀ), on an LP with equalities."""
    rng = np.random.default_rng(5)
    m_eq, n = 15, 60
    A_eq = rng.standard_normal((m_eq, n))
    b_eq = A_eq @ rng.random(n)  # feasible with x ≥ 0
    c = rng.random(n) + 0.1
    monkeypatch.setattr(ipm_core, "CORRECTOR_MIN_FACTOR_COST", 0.0)
    A = sp.vstack([sp.csc_matrix(A_eq), -sp.identity(n)]).tocsc()
    b = np.concatenate([b_eq, np.zeros(n)])
    res = solve(None, c, A, b, [ZeroCone(m_eq), NonnegativeCone(n)], kkt_solver="qdldl")
    x = cp.Variable(n)
    ref = cp.Problem(cp.Minimize(c @ x), [A_eq @ x == b_eq, x >= 0])
    ref.solve(solver="CLARABEL")
    assert res.status.value == "solved"
    assert abs(res.primal_objective - ref.value) <= 1e-7 * max(1.0, abs(ref.value))
    plain = solve(None, c, A, b, [ZeroCone(m_eq), NonnegativeCone(n)], kkt_solver="qdldl", centrality_correctors=0)
    assert res.iterations <= plain.iterations
