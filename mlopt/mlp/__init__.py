"""Two-layer networks as optimization problems: nonconvex training and its exact convex reformulation.

* :mod:`~mlopt.mlp.objective` -- the regularized objective shared by both sides.
* :mod:`~mlopt.mlp.networks` -- :class:`TwoLayerReLU` / :class:`TwoLayerReLUClassifier`, trained in torch.
* :mod:`~mlopt.mlp.patterns` -- activation patterns (exact enumeration for rank <= 3, or sampling).
* :mod:`~mlopt.mlp.convex` -- :class:`ConvexReLU`, :class:`ConvexReLUClassifier`, :class:`ConvexGatedReLU`
  (Pilanci & Ergen, ICML 2020).
* lessons on (non)convexity: :mod:`~mlopt.mlp.landscape`, :mod:`~mlopt.mlp.sigmoid`,
  :mod:`~mlopt.mlp.separability`, :mod:`~mlopt.mlp.convex_models`.
* :mod:`~mlopt.mlp.datasets` -- small projected data sets for the ``mlopt mlp`` command.
"""
from mlopt.mlp.convex import ConvexGatedReLU, ConvexReLU, ConvexReLUClassifier, convex_relu_problem, prune_neurons
from mlopt.mlp.networks import TwoLayerReLU, TwoLayerReLUClassifier
from mlopt.mlp.objective import relu_network_objective
from mlopt.mlp.patterns import activation_patterns, enumerate_patterns, sample_patterns

__all__ = [
    "ConvexGatedReLU",
    "ConvexReLU",
    "ConvexReLUClassifier",
    "TwoLayerReLU",
    "TwoLayerReLUClassifier",
    "activation_patterns",
    "convex_relu_problem",
    "enumerate_patterns",
    "prune_neurons",
    "relu_network_objective",
    "sample_patterns",
]
