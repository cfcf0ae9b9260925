"""The convex ReLU program solved by Clarabel and by mlopt's own interior-point method agree."""
import pytest

from mlopt.mlp import ConvexReLU

BETA = 1e-2


@pytest.mark.parametrize("which", ["diabetes", "synthetic"])
def test_convex_relu_clarabel_vs_mlopt_ipm(request, which):
    from mlopt.ipm import IPM  # the IPM engineer's CVXPY conic solver plug-in

    X, y = request.getfixturevalue(f"{which}_small")
    X, y = X[:20], y[:20]
    clarabel = ConvexReLU(beta=BETA, bias=True, solver="CLARABEL").fit(X, y)
    ipm = ConvexReLU(beta=BETA, bias=True, solver=IPM()).fit(X, y)
    assert ipm.n_patterns_ == clarabel.n_patterns_
    assert ipm.convex_optimum_ == pytest.approx(clarabel.convex_optimum_, rel=1e-6)
    assert ipm.objective(X, y) == pytest.approx(clarabel.convex_optimum_, rel=1e-6)
