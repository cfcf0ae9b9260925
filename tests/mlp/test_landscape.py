import numpy as np
import pytest

from mlopt.mlp import TwoLayerReLU, relu_network_objective
from mlopt.mlp.landscape import (
    QUARTIC_SYMMETRIC,
    QUARTIC_TILTED,
    gradient_descent_1d,
    newton_1d,
    objective_along_segment,
    permute_hidden_units,
)
from mlopt.mlp.objective import add_bias_column


def test_symmetric_quartic_stationary_points_and_nonconvex_minimizer_set():
    f = QUARTIC_SYMMETRIC
    np.testing.assert_allclose(f.stationary_points(), [-2.0, 0.0, 2.0], atol=1e-12)
    assert f(2.0) == -11.0 and f(-2.0) == -11.0 and f(0.0) == 5.0
    assert f.classify(0.0) == "local maximum" and f.classify(2.0) == "local minimum"
    # the midpoint of the minimizers {-2, 2} is not a minimizer: the set is not convex
    assert f(0.5 * (-2.0 + 2.0)) > f(2.0)
    # gradient descent goes to the minimum on the side it starts
    assert gradient_descent_1d(f.grad, 0.5)[0] == pytest.approx(2.0, abs=1e-10)
    assert gradient_descent_1d(f.grad, -0.5)[0] == pytest.approx(-2.0, abs=1e-10)
    assert gradient_descent_1d(f.grad, 3.0)[0] == pytest.approx(2.0, abs=1e-10)
    # Newton solves f'(x) = 0 and is attracted by the local maximum from near 0
    assert newton_1d(f.grad, f.hess, 0.3)[0] == pytest.approx(0.0, abs=1e-12)
    assert newton_1d(f.grad, f.hess, -0.3)[0] == pytest.approx(0.0, abs=1e-12)
    assert newton_1d(f.grad, f.hess, 3.0)[0] == pytest.approx(2.0, abs=1e-12)


def test_tilted_quartic_local_minimum_is_not_global():
    f = QUARTIC_TILTED
    left, middle, right = f.stationary_points()
    for x in (left, middle, right):
        assert abs(4 * x**3 - 6 * x + 1) < 1e-10
    assert f.classify(left) == f.classify(right) == "local minimum" and f.classify(middle) == "local maximum"
    assert f(left) < f(right) - 1.0  # right is a local, not global, minimum
    grid = np.linspace(-3, 3, 200_001)
    assert f(left) == pytest.approx(f(grid).min(), abs=1e-8)
    assert gradient_descent_1d(f.grad, 1.0)[0] == pytest.approx(right, abs=1e-9)
    assert gradient_descent_1d(f.grad, -1.0)[0] == pytest.approx(left, abs=1e-9)
    assert newton_1d(f.grad, f.hess, 1.5)[0] == pytest.approx(right, abs=1e-12)
    assert newton_1d(f.grad, f.hess, 0.2)[0] == pytest.approx(middle, abs=1e-12)


def test_permutation_symmetry_and_midpoint_of_permuted_optima(synthetic_small):
    X, y = synthetic_small
    beta = 1e-2
    net = TwoLayerReLU(width=4, beta=beta, bias=True, optimizer="lbfgs", epochs=30, random_state=0).fit(X, y)
    Xa = add_bias_column(X, True)
    theta = (net.first_layer_, net.second_layer_)
    perm = np.array([1, 2, 3, 0])
    permuted = permute_hidden_units(*theta, perm)
    base = relu_network_objective(Xa, y, *theta, beta)
    assert abs(relu_network_objective(Xa, y, *permuted, beta) - base) <= 1e-12 * base
    assert not np.allclose(permuted[0], theta[0])  # a different point of parameter space
    ts, values = objective_along_segment(Xa, y, theta, permuted, beta, n_points=11)
    assert values[0] == pytest.approx(base, rel=1e-12) and values[-1] == pytest.approx(base, rel=1e-12)
    assert values[5] > base * 1.01  # the midpoint is strictly worse: the objective is not convex
    with pytest.raises(ValueError, match="perm"):
        permute_hidden_units(*theta, [0, 0, 1, 2])
