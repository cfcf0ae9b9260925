"""Two-layer ReLU network: 10 seeds of SGD and Adam against the exact convex optimum.

Run: python examples/mlp_convex_relu.py  (same as: mlopt mlp --dataset diabetes --n-samples 30 ...)
"""
import numpy as np

from mlopt.mlp import ConvexGatedReLU, ConvexReLU, TwoLayerReLU
from mlopt.mlp.datasets import load_mlp_dataset

X, y, _ = load_mlp_dataset("diabetes", n_samples=30, n_features=2, random_state=0)
beta = 1e-2
convex = ConvexReLU(beta=beta, bias=True).fit(X, y)
print(f"convex: {convex.n_patterns_} patterns (exact: {convex.patterns_exact_}), optimum {convex.convex_optimum_:.8f}")
print(f"recovered network with {convex.n_active_neurons_} neurons: objective {convex.objective(X, y):.8f}")
gated = ConvexGatedReLU(beta=beta, bias=True).fit(X, y)
print(f"gated-ReLU relaxation optimum {gated.convex_optimum_:.8f} (<= the ReLU optimum)")
for opt, lr in [("sgd", 2e-3), ("adam", 2e-2)]:
    finals = [TwoLayerReLU(width=40, beta=beta, bias=True, optimizer=opt, lr=lr, epochs=400,
                           random_state=s).fit(X, y).objective_ for s in range(10)]
    print(f"{opt}: best {min(finals):.6f}, median {np.median(finals):.6f} over 10 seeds")
