"""Data sets for examples, the CLI and tests: scikit-learn's bundled ones, CSV files,
and synthetic problems with known structure.

Only scikit-learn's ``load_*`` sets are used (they ship with the package and work
offline); nothing is downloaded.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn import datasets as skd

__all__ = ["Dataset", "BUNDLED", "load_dataset", "make_regression", "make_classification"]

#: bundled name → (loader, task)
BUNDLED = {
    "diabetes": (skd.load_diabetes, "regression"),
    "breast_cancer": (skd.load_breast_cancer, "classification"),
    "wine": (skd.load_wine, "classification"),
    "iris": (skd.load_iris, "classification"),
    "digits": (skd.load_digits, "classification"),
}


@dataclass
class Dataset:
    """Features X (n × d, float64), target y, feature names and the task."""

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    task: str


def load_dataset(name: str, target: str | None = None, standardize: bool = True) -> Dataset:
    """A bundled scikit-learn data set by name, or a CSV file (``target`` names its label column).

    For a bundled set, ``target`` may name one of its features: that column becomes
    a regression target and the others the features.  With ``standardize`` the
    features are centred and scaled to unit variance (constant columns are left at 0).
    """
    if not isinstance(name, str):
        raise TypeError(f"dataset must be a name or a CSV path, got {type(name).__name__}")
    if name in BUNDLED:
        loader, task = BUNDLED[name]
        bunch = loader()
        X, y = np.asarray(bunch.data, float), np.asarray(bunch.target)
        names = [str(f) for f in getattr(bunch, "feature_names", [f"x{j}" for j in range(X.shape[1])])]
        if target is not None:
            if target not in names:
                raise ValueError(f"target {target!r} is not a feature of {name}; features are {names}")
            col = names.index(target)
            X, y, task = np.delete(X, col, axis=1), X[:, col], "regression"
            names = names[:col] + names[col + 1:]
    elif name.lower().endswith(".csv"):
        X, y, names, task = _load_csv(Path(name), target)
    else:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(BUNDLED)} or a path ending in .csv")
    if standardize:
        std = X.std(axis=0)
        X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return Dataset(name=name, X=X, y=y, feature_names=names, task=task)


def _load_csv(path: Path, target: str | None):
    if not path.is_file():
        raise ValueError(f"dataset {str(path)!r}: no such CSV file")
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    if len(rows) < 2:
        raise ValueError(f"dataset {str(path)!r}: needs a header row and at least one data row")
    header, body = rows[0], rows[1:]
    if target is None:
        target = header[-1]
    if target not in header:
        raise ValueError(f"target column {target!r} is not in {str(path)!r}; columns are {header}")
    t = header.index(target)
    try:
        X = np.array([[float(v) for j, v in enumerate(r) if j != t] for r in body])
    except ValueError as exc:
        raise ValueError(f"dataset {str(path)!r}: feature columns must be numeric ({exc})") from exc
    raw = [r[t] for r in body]
    try:
        y = np.array([float(v) for v in raw])
        task = "classification" if np.all(y == np.round(y)) and len(np.unique(y)) <= 20 else "regression"
    except ValueError:
        y, task = np.array(raw), "classification"
    names = [h for j, h in enumerate(header) if j != t]
    return X, y, names, task


def make_regression(n_samples: int = 1000, n_features: int = 50, n_informative: int | None = None,
                    noise: float = 0.1, random_state: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y = X w* + noise with Gaussian X; returns (X, y, w*) — w* sparse when ``n_informative`` < d."""
    rng = np.random.default_rng(random_state)
    X = rng.standard_normal((n_samples, n_features))
    w = rng.standard_normal(n_features)
    if n_informative is not None:
        w[n_informative:] = 0.0
    return X, X @ w + noise * rng.standard_normal(n_samples), w


def make_classification(n_samples: int = 1000, n_features: int = 50, flip: float = 0.05,
                        random_state: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels y = sign(X w*) in {0, 1} with a fraction ``flip`` flipped; returns (X, y, w*)."""
    rng = np.random.default_rng(random_state)
    X = rng.standard_normal((n_samples, n_features))
    w = rng.standard_normal(n_features) / np.sqrt(n_features)
    y = (X @ w > 0).astype(int)
    flips = rng.random(n_samples) < flip
    y[flips] = 1 - y[flips]
    return X, y, w
