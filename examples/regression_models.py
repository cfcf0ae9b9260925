"""Ridge, lasso and elastic net on the diabetes data, as cone programs solved by
Clarabel, ECOS and SCS, next to scikit-learn (tight tolerance).

Run: python examples/regression_models.py
"""
import numpy as np
from sklearn import linear_model

import mlopt
from mlopt.datasets import load_dataset
from solver_table import check, fit_solvers, flat, print_table, timed

data = load_dataset("diabetes")  # features standardized
X, y = data.X, (data.y - data.y.mean()) / data.y.std()  # standardized target: well-scaled cone programs

MODELS = [
    # title, mlopt factory, scikit-learn reference, coefficient tolerance
    ("Ridge(alpha=1): min ‖y − Xw − b‖² + α‖w‖²",
     lambda s, o: mlopt.Ridge(alpha=1.0, solver=s, solver_options=o),
     linear_model.Ridge(alpha=1.0), 1e-5),
    ("Lasso(alpha=0.01): min 1/(2n)‖y − Xw − b‖² + α‖w‖₁",
     lambda s, o: mlopt.Lasso(alpha=0.01, solver=s, solver_options=o),
     linear_model.Lasso(alpha=0.01, tol=1e-12, max_iter=100_000), 1e-3),
    ("ElasticNet(alpha=0.01, l1_ratio=0.5): min 1/(2n)‖r‖² + αρ‖w‖₁ + ½α(1−ρ)‖w‖²",
     lambda s, o: mlopt.ElasticNet(alpha=0.01, l1_ratio=0.5, solver=s, solver_options=o),
     linear_model.ElasticNet(alpha=0.01, l1_ratio=0.5, tol=1e-12, max_iter=100_000), 1e-3),
]

for title, make, sk, tol in MODELS:
    sk_seconds = timed(lambda: sk.fit(X, y))
    sk_objective = make("clarabel", None).get_objective(X, y).value(sk.coef_, sk.intercept_)
    rows = fit_solvers(make, X, y, flat(sk.coef_, sk.intercept_))
    print_table(title, rows, sk_objective, sk_seconds)
    check(rows, sk_objective, coef_tol=tol)
print("\nall regression models agree with scikit-learn")
