"""Huber regression (joint scale σ) and median/quantile regression on the diabetes
data, as cone programs solved by Clarabel, ECOS and SCS, next to scikit-learn.

Run: python examples/robust_regression.py
"""
import numpy as np
from sklearn import linear_model

import mlopt
from mlopt.datasets import load_dataset
from solver_table import check, fit_solvers, flat, print_table, timed

data = load_dataset("diabetes")
X, y = data.X, (data.y - data.y.mean()) / data.y.std()

# --- Huber: scikit-learn's objective is jointly in (w, b, σ); compare σ as well
huber = linear_model.HuberRegressor(epsilon=1.35, alpha=1e-4, tol=1e-12, max_iter=100_000)
seconds = timed(lambda: huber.fit(X, y))
make = lambda s, o: mlopt.HuberRegressor(epsilon=1.35, alpha=1e-4, solver=s, solver_options=o)
sk_objective = make("clarabel", None).get_objective(X, y).scaled_value(huber.coef_, huber.intercept_, huber.scale_)
rows = fit_solvers(make, X, y, flat(huber.coef_, huber.intercept_))
print_table("HuberRegressor(epsilon=1.35, alpha=1e-4): min Σ (σ + σH_ε(rᵢ/σ)) + α‖w‖²", rows, sk_objective, seconds)
# scikit-learn's L-BFGS-B stops ~1e-5 away in coef; the conic solvers agree with each other far closer
check(rows, sk_objective, coef_tol=1e-4)
scale = mlopt.HuberRegressor(epsilon=1.35, alpha=1e-4).fit(X, y).scale_
print(f"  scale σ: mlopt {scale:.8f}   sklearn {huber.scale_:.8f}")
assert abs(scale - huber.scale_) < 1e-4

# --- quantile regression (an LP); the median (τ = 0.5) and the 90% quantile
for tau in (0.5, 0.9):
    sk = linear_model.QuantileRegressor(quantile=tau, alpha=0.01, solver="highs")
    seconds = timed(lambda: sk.fit(X, y))
    make = lambda s, o: mlopt.QuantileRegressor(quantile=tau, alpha=0.01, solver=s, solver_options=o)
    sk_objective = make("clarabel", None).get_objective(X, y).value(sk.coef_, sk.intercept_)
    rows = fit_solvers(make, X, y, flat(sk.coef_, sk.intercept_))
    print_table(f"QuantileRegressor(quantile={tau}, alpha=0.01): min 1/n Σ ρ_τ(rᵢ) + α‖w‖₁", rows, sk_objective, seconds)
    # an LP optimum need not be unique, so the objective is the primary check
    check(rows, sk_objective, coef_tol=1e-3)
    below = np.mean(y < make("clarabel", None).fit(X, y).predict(X))
    print(f"  fraction of targets below the fitted τ-quantile: {below:.3f} (τ = {tau})")
    assert abs(below - tau) < 0.05
print("\nrobust regressions agree with scikit-learn")
