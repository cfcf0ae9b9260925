"""User-facing cone specifications: ``cones=[ZeroCone(2), NonnegativeCone(5), ...]``.

The rows of ``A`` (and entries of ``s``, ``b``, ``z``) are assigned to the cones in list
order, so ``sum(cone.dim for cone in cones) == A.shape[0]``.  Conventions follow CVXPY's
``ConicSolver`` data and Clarabel:

* ``ZeroCone(n)``             s = 0                            (equalities)
* ``NonnegativeCone(n)``      s ≥ 0
* ``SecondOrderCone(d)``      s₀ ≥ ‖s₁:‖₂, one cone of dimension d ≥ 1
* ``ExponentialCone(count)``  ``count`` consecutive triples (x, y, z) each in
  K_exp = closure{(x, y, z) : y > 0, y·exp(x/y) ≤ z}
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral


def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if int(value) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


@dataclass(frozen=True)
class ZeroCone:
    """The zero cone {0}ⁿ (equality constraints); dual cone is ℝⁿ."""

    n: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", _check_int(self.n, "ZeroCone dimension n", 1))

    @property
    def dim(self) -> int:
        return self.n


@dataclass(frozen=True)
class NonnegativeCone:
    """The nonnegative orthant ℝⁿ₊ (self-dual)."""

    n: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", _check_int(self.n, "NonnegativeCone dimension n", 1))

    @property
    def dim(self) -> int:
        return self.n


@dataclass(frozen=True)
class SecondOrderCone:
    """One second-order cone {(t, x) : t ≥ ‖x‖₂} of total dimension d (self-dual)."""

    d: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "d", _check_int(self.d, "SecondOrderCone dimension d", 1))

    @property
    def dim(self) -> int:
        return self.d


@dataclass(frozen=True)
class ExponentialCone:
    """``count`` exponential cones K_exp (3 rows each), CVXPY/Clarabel variable order."""

    count: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "count", _check_int(self.count, "ExponentialCone count", 1))

    @property
    def dim(self) -> int:
        return 3 * self.count


CONE_SPECS = (ZeroCone, NonnegativeCone, SecondOrderCone, ExponentialCone)
