"""Shared small problems for the MLP tests (sizes keep exact pattern enumeration cheap)."""
import numpy as np
import pytest

from mlopt.mlp.datasets import load_mlp_dataset


@pytest.fixture(scope="session")
def diabetes_small():
    """Real data: 30 rows of diabetes, 2 standardized principal components (bias added by the models)."""
    X, y, _ = load_mlp_dataset("diabetes", n_samples=30, n_features=2, random_state=0)
    return X, y


@pytest.fixture(scope="session")
def synthetic_small():
    """y from a 3-unit ReLU teacher plus noise, x in R^2."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 2))
    W = np.array([[1.0, -1.0, 0.3], [0.5, 1.0, -0.2], [-1.0, 0.2, 0.5]])
    Xa = np.column_stack([X, np.ones(len(X))])
    y = np.maximum(Xa @ W.T, 0.0) @ np.array([1.0, -1.0, 0.7]) + 0.1 * rng.standard_normal(len(X))
    return X, y
