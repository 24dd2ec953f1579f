"""Normalisation targets of the latency, throughput and cost metrics, and deriving them from a pool.

A target is either set by a policy (the operator's base policy, a role's overrides, a conformance
case) or left to the runtime. The reference router's constants (150 ms / 300 ms / 40 tokens/s /
0.01 per 1k tokens) fit a pool of hosted APIs; against local CPU endpoints answering in seconds,
every latency scores 0 and the metric stops telling endpoints apart. So when a pool is known, the
targets no policy set are derived from it (`derive_targets`), with the rules in docs/routing.md
§3 "Targets". A pool only ever widens a reference target (a slower pool, a faster one, a pricier
one), never narrows it, so a pool the reference targets already spread decides as the reference
router does; the reference constants also apply where there is no pool (the conformance cases) or
the pool has too little evidence for that metric.

`derive_targets` is pure and deterministic (nearest-rank percentiles, two significant figures), so
small evidence changes leave the targets — and the per-candidate metric caches keyed on them —
unchanged. The runtime computes it once per pool change (`rolecall.execution.pool`), not per request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from math import ceil, floor, log10
from typing import Any, Final

from rolecall.routing.candidate import Candidate, cost_estimate, effective_latency
from rolecall.routing.policy import (
    COST_TARGET_PER_1K,
    LATENCY_MAX_MS,
    LATENCY_TARGET_MS,
    POOL,
    TARGET_FIELDS,
    THROUGHPUT_TARGET_TPS,
    PolicySnapshot,
    TargetField,
)

LATENCY_MAX_FACTOR: Final = 2.0  # latency_max = 2 × the pool's p90 effective latency
LATENCY_TARGET_PERCENTILE: Final = 50
LATENCY_MAX_PERCENTILE: Final = 90
THROUGHPUT_PERCENTILE: Final = 90
COST_PERCENTILE: Final = 90
MIN_ENDPOINTS: Final = 2  # a target is derived from the evidence of at least this many endpoints


@dataclass(frozen=True, slots=True)
class PoolTargets:
    """Targets derived from a pool; ``None`` where the reference constant applies."""

    latency_target_ms: float | None = None
    latency_max_ms: float | None = None
    throughput_target_tps: float | None = None
    cost_target: float | None = None
    endpoints: int = 0  # how many endpoints they were derived from

    def get(self, name: TargetField) -> float | None:
        value: float | None = getattr(self, name)
        return value


def fill_targets(policy: PolicySnapshot, pool: PoolTargets | None) -> PolicySnapshot:
    """The policy with each open target taken from ``pool`` where the pool has one.

    A latency max that would not be above the target (one of the two set by a policy, the other
    not) becomes twice the target, or the target half the max, whichever is not the policy's.
    """
    if not policy.open_targets:
        return policy
    changes: dict[str, Any] = {}
    sources = list(policy.target_sources)
    for i, name in enumerate(TARGET_FIELDS):
        value = None if pool is None else pool.get(name)
        if name in policy.open_targets and value is not None:
            changes[name] = value
            sources[i] = POOL
    target = changes.get("latency_target_ms", policy.latency_target_ms)
    high = changes.get("latency_max_ms", policy.latency_max_ms)
    if high <= target:
        if "latency_max_ms" in policy.open_targets:
            changes["latency_max_ms"] = LATENCY_MAX_FACTOR * target
        elif "latency_target_ms" in policy.open_targets:
            changes["latency_target_ms"] = high / LATENCY_MAX_FACTOR
    if not changes:
        return policy
    return replace(policy, **changes, target_sources=tuple(sources))


def percentile(values: Sequence[float], p: int) -> float:
    """Nearest-rank percentile of sorted ``values`` (non-empty): deterministic, always a member."""
    rank = max(1, ceil(p / 100 * len(values)))
    return values[rank - 1]


def two_figures(x: float) -> float:
    """``x`` rounded to two significant figures (x > 0)."""
    return round(x, 1 - floor(log10(x)))


def derive_targets(candidates: Iterable[Candidate]) -> PoolTargets:
    """Targets that spread ``candidates`` over each metric's range (docs/routing.md §3 "Targets").

    - latency: target = the pool's median effective latency, max = 2 × its p90, so the median
      scores at least 0.37 (more when the pool's tail is long) and only outliers beyond twice the
      p90 score 0;
    - throughput: target = the p90 tokens/s, so only about the fastest tenth reach 1;
    - cost: target = the p90 price per 1k tokens (observed, else declared), so free endpoints
      score 1 and the priciest tenth 0.

    Each is ``None`` (the reference constant applies) unless at least two endpoints have the
    evidence (one endpoint is nothing to spread) and its percentile is beyond the reference
    constant: the pool widens the reference range where the reference would crowd the pool at a
    bound, and never narrows it.
    """
    latencies: list[float] = []
    speeds: list[float] = []
    costs: list[float] = []
    count = 0
    for c in candidates:
        count += 1
        ev = c.evidence
        if ev is not None and ev.latency_ms_p50 is not None:
            latencies.append(effective_latency(ev.latency_ms_p50, ev.latency_ms_p95))
        if ev is not None and ev.tokens_per_sec is not None:
            speeds.append(ev.tokens_per_sec)
        cost = cost_estimate(c)
        if cost is not None:
            costs.append(cost)
    latencies.sort()
    speeds.sort()
    costs.sort()
    return PoolTargets(
        latency_target_ms=_wider(latencies, LATENCY_TARGET_PERCENTILE, 1.0, LATENCY_TARGET_MS),
        latency_max_ms=_wider(
            latencies, LATENCY_MAX_PERCENTILE, LATENCY_MAX_FACTOR, LATENCY_MAX_MS
        ),
        throughput_target_tps=_wider(speeds, THROUGHPUT_PERCENTILE, 1.0, THROUGHPUT_TARGET_TPS),
        cost_target=_wider(costs, COST_PERCENTILE, 1.0, COST_TARGET_PER_1K),
        endpoints=count,
    )


def _wider(values: Sequence[float], p: int, factor: float, reference: float) -> float | None:
    """``factor`` × the ``p``-th percentile of sorted ``values``, when the percentile is beyond
    ``reference`` (the reference target would score it at a bound, or past its own target)."""
    if len(values) < MIN_ENDPOINTS:
        return None
    value = percentile(values, p)
    return two_figures(factor * value) if value > reference else None
