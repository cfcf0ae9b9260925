"""Least squares as a conic program: X = [[1,1],[1,2],[1,3]], y = [2, 3.5, 6].

minimize ‖Xw − y‖² is a second-order cone program: introduce t ≥ ‖Xw − y‖₂ and
minimize t (the same minimizer as the squared norm).  Solved three ways and checked
against numpy.linalg.lstsq: w0 = −1/6 ≈ −0.167, w1 = 2.

Run: python examples/least_squares.py
"""
import cvxpy as cp
import numpy as np

import mlopt

X = np.array([[1.0, 1.0], [1.0, 2.0], [1.0, 3.0]])
y = np.array([2.0, 3.5, 6.0])
w_ref = np.linalg.lstsq(X, y, rcond=None)[0]
print(f"numpy.linalg.lstsq        w = {np.round(w_ref, 6)}")

# 1) CVXPY directly: the squared norm; CVXPY turns it into a cone program for Clarabel
w = cp.Variable(2)
squared = cp.Problem(cp.Minimize(cp.sum_squares(X @ w - y)))
squared.solve(solver="CLARABEL")
print(f"CVXPY  min ‖Xw − y‖²      w = {np.round(w.value, 6)}   (status {squared.status})")
assert np.allclose(w.value, w_ref, atol=1e-6)

# 2) the explicit second-order cone program: min t  s.t. (t, Xw − y) ∈ Q⁴
t = cp.Variable()
socp = cp.Problem(cp.Minimize(t), [cp.SOC(t, X @ w - y)])
socp.solve(solver="ECOS")
print(f"CVXPY  min t, ‖Xw−y‖ ≤ t  w = {np.round(w.value, 6)}   (status {socp.status}, t = {t.value:.6f})")
assert np.allclose(w.value, w_ref, atol=1e-6)
assert abs(t.value - np.linalg.norm(X @ w_ref - y)) < 1e-6
data, _, _ = socp.get_problem_data("ECOS")
print(f"  ECOS sees {len(data['c'])} variables and second-order cones of sizes {data['dims'].soc}")
assert list(data["dims"].soc) == [4]

# 3) mlopt: 1/n Σ ½(yᵢ − xᵢᵀw)², no penalty, no intercept (X has its own column of ones)
est = mlopt.ConvexLinearRegressor(loss="squared", penalty="none", fit_intercept=False).fit(X, y)
print(f"mlopt ConvexLinearRegressor w = {np.round(est.coef_, 6)}   (status {est.solution_.status}, "
      f"duality gap {est.solution_.duality_gap:.1e})")
print(est.conic_form(X, y, "ECOS"))
assert np.allclose(est.coef_, w_ref, atol=1e-6)

assert abs(w_ref[0] - (-1 / 6)) < 1e-12 and abs(w_ref[1] - 2.0) < 1e-12
print("w0 ≈ −0.167, w1 = 2: all three agree with lstsq")
