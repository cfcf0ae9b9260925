"""Composable gradient transformations in the style of optax: each is a pair of pure
functions ``init(x) -> state`` and ``update(g, state, step) -> (direction, state)``.

``chain`` composes them; ``scale_by_schedule`` multiplies by a learning-rate
schedule η(k).  The stochastic methods are ``chain(scale_by_adam(), scale_by_schedule(η))``
and ``chain(scale_by_schedule(η))``.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch

__all__ = ["Transform", "chain", "scale_by_adam", "scale_by_schedule", "momentum", "SCHEDULES", "make_schedule"]


class Transform(NamedTuple):
    init: Callable
    update: Callable


def chain(*transforms: Transform) -> Transform:
    """Apply ``transforms`` in order; the state is the tuple of their states."""

    def init(x):
        return tuple(t.init(x) for t in transforms)

    def update(g, state, step):
        new = []
        for t, s in zip(transforms, state):
            g, s = t.update(g, s, step)
            new.append(s)
        return g, tuple(new)

    return Transform(init, update)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Transform:
    """d = m̂ / (√v̂ + ε) with bias-corrected moments m, v (Kingma & Ba, ICLR 2015)."""

    def init(x):
        return (torch.zeros_like(x), torch.zeros_like(x))

    def update(g, state, step):
        m, v = state
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mh = m / (1 - b1 ** (step + 1))
        vh = v / (1 - b2 ** (step + 1))
        return mh / (vh.sqrt() + eps), (m, v)

    return Transform(init, update)


def momentum(beta: float = 0.9) -> Transform:
    """Heavy-ball momentum d = β d_prev + g."""

    def init(x):
        return torch.zeros_like(x)

    def update(g, state, step):
        d = beta * state + g
        return d, d

    return Transform(init, update)


def scale_by_schedule(schedule: Callable[[int], float]) -> Transform:
    """d ← η(k)·d; the state is unused."""

    def init(x):
        return None

    def update(g, state, step):
        return schedule(step) * g, state

    return Transform(init, update)


def make_schedule(name: str, lr: float, decay: float = 1e-3, total: int = 10_000) -> Callable[[int], float]:
    """η(k) for ``name`` in SCHEDULES: constant η, inverse-time η/(1 + decay·k),
    inverse-sqrt η/√(1 + decay·k), cosine η·½(1 + cos(πk/total)), exponential η·(1 − decay)ᵏ."""
    table = {
        "constant": lambda k: lr,
        "inverse_time": lambda k: lr / (1.0 + decay * k),
        "inverse_sqrt": lambda k: lr / math.sqrt(1.0 + decay * k),
        "cosine": lambda k: lr * 0.5 * (1.0 + math.cos(math.pi * min(k, total) / total)),
        "exponential": lambda k: lr * (1.0 - decay) ** k,
    }
    if name not in table:
        raise ValueError(f"schedule={name!r} unknown; choose one of {sorted(table)}")
    return table[name]


SCHEDULES = ("constant", "inverse_time", "inverse_sqrt", "cosine", "exponential")
