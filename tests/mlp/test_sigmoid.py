import numpy as np

from mlopt.mlp.sigmoid import fit_sigmoid_unit, make_sigmoid_data, sigmoid_unit


def test_gradient_training_fits_a_sigmoid_unit():
    X, y, (a, w, b) = make_sigmoid_data(n=100, d=2, random_state=0)
    (a_hat, w_hat, b_hat), history = fit_sigmoid_unit(X, y, random_state=0)
    assert history[0] > 10.0
    assert history[-1] < 1e-12 * history[0]
    assert history[len(history) // 2] < history[0]
    np.testing.assert_allclose(sigmoid_unit(X, a_hat, w_hat, b_hat), y, atol=1e-6)
    # the data determine the teacher here (a > 0 branch reached from this start)
    np.testing.assert_allclose([a_hat, *w_hat, b_hat], [a, *w, b], atol=1e-5)
