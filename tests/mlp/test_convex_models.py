import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from mlopt.mlp.convex_models import least_squares_solutions, logistic_objective, logistic_regression_solutions


def test_least_squares_every_method_same_optimum():
    X, y = load_diabetes(return_X_y=True)
    X = np.column_stack([StandardScaler().fit_transform(X), np.ones(len(X))])
    y = (y - y.mean()) / y.std()
    sols = least_squares_solutions(X, y, w0=np.full(X.shape[1], 5.0))
    assert set(sols) == {"normal_equations", "lstsq", "gradient_descent", "newton", "lbfgs", "cvxpy"}
    ref = sols["lstsq"]
    for name, w in sols.items():
        np.testing.assert_allclose(w, ref, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(X.T @ (X @ ref - y), 0.0, atol=1e-9)  # normal equations (KKT)


def test_logistic_regression_every_method_same_optimum_and_sklearn():
    X, t = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X[:, :6])
    y = np.where(t == 1, 1.0, -1.0)
    lam = 1.0
    sols = logistic_regression_solutions(X, y, lam=lam, w0=np.full(6, -2.0))
    ref = sols["newton"]
    for name, w in sols.items():
        np.testing.assert_allclose(w, ref, atol=1e-6, err_msg=name)
        assert logistic_objective(w, X, y, lam) == pytest.approx(logistic_objective(ref, X, y, lam), rel=1e-9)
    # scikit-learn: C sum(loss) + 1/2||w||^2 with C = 1/lam, no intercept
    sk = LogisticRegression(C=1.0 / lam, fit_intercept=False, tol=1e-12, max_iter=10_000).fit(X, t)
    np.testing.assert_allclose(sk.coef_.ravel(), ref, atol=1e-6)
