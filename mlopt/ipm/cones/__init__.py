"""Cones of the interior-point method: user-facing specs and batched implementations."""
from .base import ConeGroup, ScalingBlock
from .composite import CompositeCone, check_cones
from .specs import ExponentialCone, NonnegativeCone, SecondOrderCone, ZeroCone

__all__ = ["ConeGroup", "ScalingBlock", "CompositeCone", "check_cones", "ZeroCone",
           "NonnegativeCone", "SecondOrderCone", "ExponentialCone"]
