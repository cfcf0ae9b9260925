"""Nonconvexity by symmetry: permuting hidden units keeps the objective; the midpoint is worse.

Run: python examples/mlp_symmetry.py [out.png]
"""
import sys

import numpy as np

from mlopt.mlp import TwoLayerReLU, relu_network_objective
from mlopt.mlp.landscape import objective_along_segment, permute_hidden_units
from mlopt.mlp.objective import add_bias_column

rng = np.random.default_rng(1)
X = rng.standard_normal((30, 2))
y = np.maximum(X @ [1.0, -1.0] + 0.3, 0) - np.maximum(X @ [0.5, 1.0] - 0.2, 0) + 0.1 * rng.standard_normal(30)
beta = 1e-2
net = TwoLayerReLU(width=4, beta=beta, bias=True, optimizer="lbfgs", epochs=30, random_state=0).fit(X, y)
Xa = add_bias_column(X, True)
theta = (net.first_layer_, net.second_layer_)
swapped = permute_hidden_units(*theta, [1, 2, 3, 0])
print(f"objective at the trained network      {relu_network_objective(Xa, y, *theta, beta):.12f}")
print(f"objective with hidden units permuted  {relu_network_objective(Xa, y, *swapped, beta):.12f}")
ts, values = objective_along_segment(Xa, y, theta, swapped, beta, n_points=101)
print(f"objective at the midpoint             {values[50]:.12f}  (higher: not convex)")
if len(sys.argv) > 1:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.plot(ts, values)
    plt.xlabel("t  (theta = (1-t) theta* + t P theta*)")
    plt.ylabel("training objective")
    plt.title("objective between two permuted optima")
    plt.savefig(sys.argv[1], dpi=110)
    print(f"plot saved to {sys.argv[1]}")
