"""Least squares and logistic regression are convex: every method lands on the same optimum.

Run: python examples/mlp_convex_models.py
"""
import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.preprocessing import StandardScaler

from mlopt.mlp.convex_models import least_squares_solutions, logistic_regression_solutions

X, y = load_diabetes(return_X_y=True)
X = np.column_stack([StandardScaler().fit_transform(X), np.ones(len(X))])
sols = least_squares_solutions(X, (y - y.mean()) / y.std(), w0=np.full(X.shape[1], 5.0))
print("least squares (diabetes): max |w - w_lstsq|")
for name, w in sols.items():
    print(f"  {name:<18}{np.abs(w - sols['lstsq']).max():.2e}")
X, t = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X[:, :6])
sols = logistic_regression_solutions(X, np.where(t == 1, 1.0, -1.0), lam=1.0, w0=np.full(6, -2.0))
print("logistic regression (breast cancer, 6 features, lam = 1): max |w - w_newton|")
for name, w in sols.items():
    print(f"  {name:<18}{np.abs(w - sols['newton']).max():.2e}")
