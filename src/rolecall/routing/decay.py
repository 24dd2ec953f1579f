"""Recency decay: a measured metric pulled toward its neutral value as its evidence ages.

``value = neutral + w·(observed − neutral)`` with ``w = exp(−ln2·age/half-life)``, one half-life
per evidence metric (docs/routing.md §Observed-data controls). The router gets a `RecencyDecay`
and the decision's time (`Router(recency_decay=, clock=)`, `decide(now_ms=)`); without either no
metric decays, so the conformance cases decide as before. Pure: the time is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import exp, log
from typing import Final

_LN2: Final = log(2.0)


@dataclass(frozen=True, slots=True)
class RecencyDecay:
    """Half-lives in seconds of the five evidence metrics (the spec's defaults)."""

    quality_s: float = 900.0
    latency_s: float = 300.0
    throughput_s: float = 120.0
    cost_s: float = 1800.0
    reliability_s: float = 600.0

    def __post_init__(self) -> None:
        for name, value in zip(_NAMES, self.halflives, strict=True):
            if not value > 0:
                raise ValueError(f"recency decay {name} must be above 0, got {value!r}")

    @property
    def halflives(self) -> tuple[float, float, float, float, float]:
        """In `rolecall.routing.metrics.METRICS` order (preference is never measured)."""
        return (self.quality_s, self.latency_s, self.throughput_s, self.cost_s, self.reliability_s)

    def weights(self, age_ms: float) -> tuple[float, ...]:
        """Each metric's weight ``w`` for evidence ``age_ms`` old (a future timestamp counts as 0)."""
        age_s = max(0.0, age_ms) / 1000.0
        return tuple(exp(-_LN2 * age_s / h) for h in self.halflives)


_NAMES: Final = ("quality_s", "latency_s", "throughput_s", "cost_s", "reliability_s")


def pulled(observed: float, neutral: float, weight: float) -> float:
    """``observed`` pulled toward ``neutral``: all of it at weight 1, none at weight 0."""
    return neutral + weight * (observed - neutral)
