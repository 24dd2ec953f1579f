"""Selection reasons: why the winner won (docs/protocol.md §Selection reasons)."""

from __future__ import annotations

from typing import Final

from rolecall.protocol import SelectionReason
from rolecall.routing.context import RoutingContext
from rolecall.routing.metrics import Scored, locality_delta, routing_rank

HIGH_QUALITY_THRESHOLD: Final = 0.75


def candidate_reasons(s: Scored, ctx: RoutingContext) -> list[SelectionReason]:
    """Reasons that hold for one scored candidate, in a fixed order."""
    c, policy = s.candidate, ctx.policy
    reasons: list[SelectionReason] = ["DECLARED_PROFILE_USED"]
    if "measured" in s.sources:
        reasons.append("MEASURED_PROFILE_USED")
    if "default" in s.sources:
        reasons.append("DEFAULT_PROFILE_USED")
    if locality_delta(c, ctx) > 0:
        reasons.append("LOCAL_PREFERENCE_APPLIED" if c.is_local else "REMOTE_PREFERENCE_APPLIED")
    if c.signals.continuity_affinity:
        reasons.append("CONTINUITY_AFFINITY_APPLIED")
    if c.signals.cache_affinity:
        reasons.append("CACHE_AFFINITY_APPLIED")
    rank = routing_rank(c, ctx)  # a routing model's signal or the request's preferred_endpoints
    if rank is not None and rank < 3:
        reasons.append("ROUTING_MODEL_PREFERENCE_APPLIED")
    if policy.strategy == "cost" or policy.budget_mode == "advisory":
        reasons.append("BUDGET_OPTIMIZATION")
    latency_measured = s.sources[1] == "measured"
    if policy.strategy == "latency" or (
        latency_measured and s.eff_latency <= policy.latency_target_ms
    ):
        reasons.append("LOW_LATENCY_TARGET_MET")
    quality_measured = s.sources[0] == "measured"
    if policy.strategy == "quality" or (quality_measured and s.values[0] >= HIGH_QUALITY_THRESHOLD):
        reasons.append("HIGH_QUALITY_TARGET_MET")
    if ctx.role is not None:
        reasons.append("ROLE_POLICY_APPLIED")
    if ctx.task is not None:
        reasons.append("TASK_POLICY_APPLIED")
    return reasons


def winner_reasons(ranked: tuple[Scored, ...], ctx: RoutingContext) -> tuple[SelectionReason, ...]:
    if not ranked:
        return ()
    reasons: list[SelectionReason] = ["BEST_TOTAL_SCORE", *candidate_reasons(ranked[0], ctx)]
    if len(ranked) > 1:
        reasons.append("FALLBACK_CHAIN_COMPUTED")
    return tuple(reasons)
