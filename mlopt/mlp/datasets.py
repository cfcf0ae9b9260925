"""Small data sets for the MLP experiments: bundled scikit-learn sets or a CSV file.

Exact activation-pattern enumeration needs few features, so the data are
subsampled to ``n_samples`` rows, standardized, and projected onto their first
``n_features`` principal components.  Only scikit-learn ``load_*`` functions
(bundled with the package, no network) are used.
"""
from __future__ import annotations

import os

import numpy as np
from sklearn import datasets as skd
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

__all__ = ["BUNDLED", "load_mlp_dataset"]

#: name -> (loader, task); classification targets are made binary: first class vs rest
BUNDLED = {
    "diabetes": (skd.load_diabetes, "regression"),
    "breast_cancer": (skd.load_breast_cancer, "classification"),
    "iris": (skd.load_iris, "classification"),
    "wine": (skd.load_wine, "classification"),
}


def _read_csv(path: str, target: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    names = [h.strip().strip('"') for h in header]
    if target is None:
        raise ValueError(f"target is required for a CSV data set; choose one of the columns {names}")
    if target not in names:
        raise ValueError(f"target {target!r} is not a column of {path}; columns are {names}")
    data = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=np.float64)
    data = np.atleast_2d(data)
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{path} must contain only numeric, non-missing values")
    col = names.index(target)
    y = data[:, col]
    X = np.delete(data, col, axis=1)
    task = "classification" if len(np.unique(y)) == 2 else "regression"
    return X, y, task


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
    :data:`BUNDLED` or the path of a CSV file with a header row and a ``target`` column.
    """
    if not isinstance(dataset, str):
        raise TypeError(f"dataset must be a string, got {type(dataset).__name__}")
    if dataset in BUNDLED:
        loader, task = BUNDLED[dataset]
        bunch = loader()
        X, y = np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target)
        if target is not None:
            names = list(getattr(bunch, "feature_names", []))
            if target not in names:
                raise ValueError(f"target {target!r} is not a feature of {dataset}; features are {names}")
            col = names.index(target)
            y, X, task = X[:, col], np.delete(X, col, axis=1), "regression"
    elif os.path.isfile(dataset):
        X, y, task = _read_csv(dataset, target)
    else:
        raise ValueError(f"dataset must be one of {sorted(BUNDLED)} or the path of a CSV file, got {dataset!r}")
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
