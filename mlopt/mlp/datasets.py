"""Small data sets for the MLP experiments: bundled scikit-learn sets or a CSV file.

Exact activation-pattern enumeration needs few features, so the data are
subsampled to ``n_samples`` rows, standardized, and projected onto their first
``n_features`` principal components.  Only scikit-learn ``load_*`` functions
(bundled with the package, no network) are used.
"""
from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from mlopt.datasets import BUNDLED, load_dataset

__all__ = ["BUNDLED", "load_mlp_dataset"]


def load_mlp_dataset(
    dataset: str,
    *,
    target: str | None = None,
    n_samples: int | None = 60,
    n_features: int = 2,
    random_state: int | None = 0,
) -> tuple[np.ndarray, np.ndarray, str]:
    """``(X, y, task)``: X (n_samples, n_features) standardized principal components.

    ``task`` is "regression" (y standardized) or "classification" (y in {-1, +1};
    multi-class sets become first class vs rest).  ``dataset`` is a name in
    :data:`mlopt.datasets.BUNDLED` or the path of a CSV file with a header row
    (``target`` names the label column; see :func:`mlopt.datasets.load_dataset`).
    """
    data = load_dataset(dataset, target=target, standardize=False)
    X, y, task = data.X, data.y, data.task
    if n_features < 1 or n_features > X.shape[1]:
        raise ValueError(f"n_features must be between 1 and {X.shape[1]} for {dataset!r}, got {n_features}")
    rng = np.random.default_rng(random_state)
    if n_samples is not None:
        if n_samples < 2:
            raise ValueError(f"n_samples must be >= 2, got {n_samples}")
        if n_samples < len(X):
            rows = np.sort(rng.choice(len(X), size=n_samples, replace=False))
            X, y = X[rows], y[rows]
    Z = StandardScaler().fit_transform(X)
    Z = PCA(n_components=n_features, random_state=0).fit_transform(Z)
    Z = StandardScaler().fit_transform(Z)
    if task == "classification":
        y = np.where(y == np.unique(y)[0], 1.0, -1.0)
        if len(np.unique(y)) < 2:
            raise ValueError(f"the subsample of {dataset!r} has a single class; increase n_samples")
    else:
        y = np.asarray(y, dtype=np.float64)
        y = (y - y.mean()) / (y.std() if y.std() > 0 else 1.0)
    return Z, y, task
