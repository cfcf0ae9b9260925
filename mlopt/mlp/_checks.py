"""Parameter checks shared by the estimators of :mod:`mlopt.mlp` (messages name the argument)."""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils.validation import check_array, check_X_y


def check_positive(name: str, value, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return float(value)


def check_int(name: str, value, *, minimum: int = 1, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_bool(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_data(X, y=None, *, require_y: bool = False):
    """float64 X (n, d) and y (n,), finite; errors name X / y."""
    if y is None:
        if require_y:
            raise ValueError("this estimator requires y to be passed, but the target y is None")
        return check_array(X, dtype=np.float64, input_name="X")
    return check_X_y(X, y, dtype=np.float64, y_numeric=False)


def binary_labels(y) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, y_pm)`` with y mapped to -1 (classes[0]) / +1 (classes[1]); exactly two classes."""
    classes, idx = np.unique(y, return_inverse=True)
    if len(classes) != 2:
        raise ValueError(f"y must contain exactly two classes for logistic loss, found {len(classes)}")
    return classes, np.where(idx == 1, 1.0, -1.0)
