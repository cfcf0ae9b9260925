"""Linear separability as an LP, with a Farkas certificate when the data are not separable.

Run: python examples/mlp_separability.py
"""
import numpy as np
from sklearn.datasets import load_iris

from mlopt.mlp.separability import check_separability

X, t = load_iris(return_X_y=True)
cases = {
    "iris setosa vs rest": (X, t == 0),
    "iris versicolor vs virginica": (X[t > 0], t[t > 0] == 2),
    "XOR": (np.array([[0.0, 0], [1, 1], [0, 1], [1, 0]]), np.array([True, True, False, False])),
}
for name, (Xc, yc) in cases.items():
    r = check_separability(Xc, yc)
    if r.separable:
        print(f"{name}: separable, w = {np.round(r.w, 3)}, b = {r.b:.3f}")
    else:
        lam, ypm = r.certificate, np.where(yc, 1.0, -1.0)
        print(f"{name}: NOT separable; Farkas certificate lambda >= 0, sum 1, "
              f"|sum lambda y x| = {np.abs(lam @ (ypm[:, None] * Xc)).max():.1e}, "
              f"|sum lambda y| = {abs(lam @ ypm):.1e}")
