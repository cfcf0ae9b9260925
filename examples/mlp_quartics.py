"""Stationary points of x^4 - 8x^2 + 5 and x^4 - 3x^2 + x; where gradient descent and Newton go.

Run: python examples/mlp_quartics.py
"""
from mlopt.mlp.landscape import QUARTIC_SYMMETRIC, QUARTIC_TILTED, gradient_descent_1d, newton_1d

for name, f in [("x^4 - 8x^2 + 5", QUARTIC_SYMMETRIC), ("x^4 - 3x^2 + x", QUARTIC_TILTED)]:
    print(f"f(x) = {name}")
    for x in f.stationary_points():
        print(f"  stationary point {x:+.6f}: f = {f(x):+.6f}, {f.classify(x)}")
    for x0 in (-1.0, -0.3, 0.3, 1.0, 3.0):
        xg, kg = gradient_descent_1d(f.grad, x0)
        xn, kn = newton_1d(f.grad, f.hess, x0)
        print(f"  start {x0:+.1f}: gradient descent -> {xg:+.6f} ({kg} it), Newton -> {xn:+.6f} ({kn} it)")
print("minimizers of x^4 - 8x^2 + 5: {-2, 2}; midpoint 0 has f(0) = 5 > -11, so the set is not convex")
