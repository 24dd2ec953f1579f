"""Strategy weight presets and the redistribution of weight away from metrics nobody measured.

Weights are the reference router's current behaviour (docs/protocol.md §Scoring metrics and
weights), in `METRICS` order: quality, latency, throughput, cost, reliability, preference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from rolecall.routing.request import Strategy

STRATEGY_WEIGHTS: Final[Mapping[Strategy, tuple[float, ...]]] = {
    "balanced": (0.30, 0.20, 0.10, 0.20, 0.15, 0.05),
    "quality": (0.50, 0.10, 0.05, 0.10, 0.20, 0.05),
    "latency": (0.15, 0.45, 0.15, 0.05, 0.15, 0.05),
    "cost": (0.15, 0.10, 0.05, 0.50, 0.15, 0.05),
}


def redistribute(weights: tuple[float, ...], unknown: Sequence[bool]) -> tuple[float, ...]:
    """Drop the weight of every metric unknown for *all* eligible candidates and rescale the rest.

    If every metric is unknown there is nothing to prefer, and the weights stay as they are.
    """
    kept = sum(w for w, u in zip(weights, unknown, strict=True) if not u)
    if kept <= 0.0 or kept == sum(weights):
        return weights
    total = sum(weights)
    return tuple(0.0 if u else w * total / kept for w, u in zip(weights, unknown, strict=True))
