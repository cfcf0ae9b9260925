"""Acceptance: the convex program gives the global optimum of the nonconvex training problem."""
import numpy as np
import pytest

from mlopt.mlp import (
    ConvexGatedReLU,
    ConvexReLU,
    ConvexReLUClassifier,
    TwoLayerReLU,
    TwoLayerReLUClassifier,
    prune_neurons,
    relu_network_objective,
)
from mlopt.mlp.objective import add_bias_column

BETA = 1e-2


def _best_of_seeds(X, y, width, optimizer, lr, epochs, seeds=10):
    return min(
        TwoLayerReLU(width=width, beta=BETA, bias=True, optimizer=optimizer, lr=lr, epochs=epochs,
                     random_state=s).fit(X, y).objective_
        for s in range(seeds)
    )


@pytest.fixture(scope="module")
def fitted(diabetes_small, synthetic_small):
    return {name: (data, ConvexReLU(beta=BETA, bias=True).fit(*data))
            for name, data in [("diabetes", diabetes_small), ("synthetic", synthetic_small)]}


@pytest.mark.parametrize("name", ["diabetes", "synthetic"])
def test_convex_optimum_below_ten_seeds_of_sgd_and_adam(fitted, name):
    (X, y), model = fitted[name]
    assert model.patterns_exact_ and model.n_patterns_ == 2 * (1 + 29 + 29 * 28 // 2) - 1
    width = max(40, model.n_active_neurons_)
    best = {opt: _best_of_seeds(X, y, width, opt, lr, epochs=250)
            for opt, lr in [("sgd", 2e-3), ("adam", 2e-2)]}
    opt_value = model.convex_optimum_
    for value in best.values():
        assert np.isfinite(value)
        assert opt_value <= value * (1 + 1e-6)
    # the comparison has teeth: the best local run comes within a factor ~2 of the optimum
    assert min(best.values()) < 3.0 * opt_value


@pytest.mark.parametrize("name", ["diabetes", "synthetic"])
def test_recovered_network_reproduces_convex_optimum(fitted, name):
    (X, y), model = fitted[name]
    rel = abs(model.objective(X, y) - model.convex_optimum_) / model.convex_optimum_
    assert rel <= 1e-6
    # independent evaluation of the same objective from the raw weights
    Xa = add_bias_column(X, True)
    direct = relu_network_objective(Xa, y, model.first_layer_, model.second_layer_, BETA)
    assert direct == pytest.approx(model.convex_optimum_, rel=1e-6)
    np.testing.assert_allclose(model.predict(X), np.maximum(Xa @ model.first_layer_.T, 0) @ model.second_layer_)
    # balanced neurons |alpha_j| = ||w_j||, at most n of them after pruning
    np.testing.assert_allclose(np.abs(model.second_layer_), np.linalg.norm(model.first_layer_, axis=1), rtol=1e-10)
    assert 1 <= model.n_active_neurons_ <= len(X)
    # cone constraints of the solution: D_i X v_i = relu(X v_i) up to solver tolerance
    S = 2.0 * model.patterns_ - 1.0
    assert np.min(S * (model.v_ @ Xa.T)) > -1e-6 and np.min(S * (model.w_ @ Xa.T)) > -1e-6


@pytest.mark.filterwarnings("ignore:Solution may be inaccurate")
def test_clarabel_agrees_with_ecos(synthetic_small):
    X, y = synthetic_small[0][:15], synthetic_small[1][:15]
    a = ConvexReLU(beta=BETA, bias=True).fit(X, y)
    b = ConvexReLU(beta=BETA, bias=True, solver="ECOS",
                   solver_options={"abstol": 1e-10, "reltol": 1e-10, "feastol": 1e-10}).fit(X, y)
    assert b.convex_optimum_ == pytest.approx(a.convex_optimum_, rel=1e-6)


def test_gated_relaxation_and_sampled_restriction(synthetic_small):
    X, y = synthetic_small
    exact = ConvexReLU(beta=BETA, bias=True).fit(X, y)
    gated = ConvexGatedReLU(beta=BETA, bias=True).fit(X, y)
    sampled = ConvexReLU(beta=BETA, bias=True, patterns="sample", n_patterns=40, random_state=0).fit(X, y)
    assert not sampled.patterns_exact_ and sampled.n_patterns_ <= 40
    # relaxation below, restriction above
    assert gated.convex_optimum_ <= exact.convex_optimum_ * (1 + 1e-7)
    assert sampled.convex_optimum_ >= exact.convex_optimum_ * (1 - 1e-7)
    assert sampled.objective(X, y) == pytest.approx(sampled.convex_optimum_, rel=1e-6)
    assert gated.objective(X, y) == pytest.approx(gated.convex_optimum_, rel=1e-6)


def test_classifier_logistic_objective(synthetic_small):
    X, y = synthetic_small
    labels = np.where(y > np.median(y), "hi", "lo")
    model = ConvexReLUClassifier(beta=1.0, bias=True).fit(X[:20], labels[:20])
    assert list(model.classes_) == ["hi", "lo"]
    assert model.objective(X[:20], labels[:20]) == pytest.approx(model.convex_optimum_, rel=1e-6)
    nets = [TwoLayerReLUClassifier(width=20, beta=1.0, bias=True, epochs=300, random_state=s).fit(X[:20], labels[:20])
            for s in range(3)]
    assert model.convex_optimum_ <= min(n.objective_ for n in nets) * (1 + 1e-6)
    assert set(model.predict(X)) <= {"hi", "lo"}


def test_prune_keeps_outputs_and_bounds_width():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 3))
    U = rng.standard_normal((30, 3))
    signs = np.where(rng.random(30) < 0.5, -1.0, 1.0)
    W, a = prune_neurons(X, U, signs * np.linalg.norm(U, axis=1))
    assert len(a) <= 8
    before = np.maximum(X @ U.T, 0) @ (signs * np.linalg.norm(U, axis=1))
    np.testing.assert_allclose(np.maximum(X @ W.T, 0) @ a, before, atol=1e-9)


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [({"beta": -1.0}, ValueError, "beta"), ({"beta": "x"}, TypeError, "beta"),
     ({"patterns": "all"}, ValueError, "patterns"), ({"solver": "NOPE"}, ValueError, "solver"),
     ({"solver": 3}, TypeError, "solver"), ({"n_patterns": 0}, ValueError, "n_patterns"),
     ({"bias": "yes"}, TypeError, "bias")],
)
def test_bad_parameters_name_the_argument(synthetic_small, kwargs, exc, word):
    X, y = synthetic_small
    with pytest.raises(exc, match=word):
        ConvexReLU(**kwargs).fit(X, y)


def test_exact_on_too_many_features_raises():
    X = np.random.default_rng(0).standard_normal((10, 3))
    with pytest.raises(ValueError, match="rank"):
        ConvexReLU(bias=True, patterns="exact").fit(X, X[:, 0])


@pytest.mark.filterwarnings("ignore")
def test_scikit_learn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    results = check_estimator(ConvexReLU(patterns="sample", n_patterns=20, random_state=0), on_fail=None)
    assert [r["check_name"] for r in results if r["status"] == "failed"] == []
