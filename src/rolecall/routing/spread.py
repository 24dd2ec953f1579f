"""Metrics that do not discriminate: the same value for every eligible candidate.

Such a metric adds the same amount to every total, so its weight does not change the ranking. Often
that is simply true (no endpoint has failed, so reliability is 1 everywhere), but for latency,
throughput and cost it usually means the targets do not fit the pool: every local CPU endpoint is
slower than a 300 ms latency max and scores 0. The router says so, with the cause and the fix, in
the decision (`Decision.flat_metrics`, rendered into the artifact's raw metric inputs), the CLI's
explanation and the console.

Computed from a decision on demand (rendering the artifact, explaining it), never on the hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from rolecall.routing.metrics import METRICS, MetricName, Scored
from rolecall.routing.policy import POLICY, REFERENCE, PolicySnapshot

SAME: Final = 1e-9  # values this close are the same score
FIX: Final = {
    POLICY: "adjust the targets in the policy (routing.policy.targets, "
    "routing.policy.budget.target_cost_per_request, or the role's routing_policy_overrides)",
    REFERENCE: "set routing.policy.targets to fit the pool, or let the runtime derive them from "
    "the pool's evidence (leave them unset)",
}


@dataclass(frozen=True, slots=True)
class FlatMetric:
    """A metric with one value for every scored candidate, and why."""

    metric: MetricName
    value: float
    candidates: int
    weight: float
    message: str


def flat_metrics(
    ranked: Sequence[Scored], weights: Sequence[float], policy: PolicySnapshot
) -> tuple[FlatMetric, ...]:
    """The weighted metrics on which every scored candidate (two or more) has the same value."""
    if len(ranked) < 2:
        return ()
    out = []
    for i, metric in enumerate(METRICS):
        if weights[i] <= 0.0:
            continue  # an unknown-everywhere metric already gave its weight away
        first = ranked[0].values[i]
        if all(abs(s.values[i] - first) <= SAME for s in ranked):
            message = _message(metric, first, len(ranked), weights[i], policy)
            out.append(FlatMetric(metric, first, len(ranked), weights[i], message))
    return tuple(out)


def _message(metric: MetricName, value: float, n: int, weight: float, p: PolicySnapshot) -> str:
    head = (
        f"{metric} scores {value:.2f} for all {n} eligible candidates, so its weight "
        f"({weight:.2f}) does not change the ranking"
    )
    cause = _cause(metric, value, p)
    if cause is None:
        return f"{head}: they have the same evidence for it"
    text, source = cause
    fix = FIX.get(source)
    return f"{head}: {text}" + (f"; {fix}" if fix else "")


def _cause(metric: MetricName, value: float, p: PolicySnapshot) -> tuple[str, str] | None:
    """When the value sits at a bound set by a target: what happened and the target's source."""
    if metric == "latency" and value <= SAME:
        return (
            f"every effective latency is at or above latency_max_ms "
            f"({p.latency_max_ms:g} ms, {p.target_source('latency_max_ms')})",
            p.target_source("latency_max_ms"),
        )
    if metric == "throughput" and value >= 1.0 - SAME:
        return (
            f"every endpoint reaches throughput_target_tps "
            f"({p.throughput_target_tps:g} tokens/s, {p.target_source('throughput_target_tps')})",
            p.target_source("throughput_target_tps"),
        )
    if metric == "cost" and value <= SAME:
        return (
            f"every price is at or above the cost target "
            f"({p.cost_target:g} per 1k tokens, {p.target_source('cost_target')})",
            p.target_source("cost_target"),
        )
    return None
