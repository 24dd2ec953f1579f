"""The router's result: a complete decision whose JSON form is rendered on demand.

`Decision` holds every number the router computed (eligibility with reasons, per-candidate metric
values and sources, totals, the ranking). Building the protocol's nested JSON for 1,000 candidates
costs far more than deciding, and most decisions on the hot path only need the winner and the
fallbacks, so `to_artifact()` renders the schema-valid ``RouterDecision`` object when asked.

A metric that scores the same for every scored candidate (`flat_metrics`) is noted where the schema
allows notes: the first scored candidate's ``metric_breakdown.<metric>.raw.warning``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rolecall.protocol import ExclusionCode, RouterDecision, SelectionReason
from rolecall.routing.candidate import QualityEstimate
from rolecall.routing.context import RoutingContext
from rolecall.routing.metrics import METRICS, Scored, metric_raw
from rolecall.routing.spread import FlatMetric, flat_metrics


@dataclass(slots=True)
class Decision:
    """A RouterDecision: the winner, the fallback chain, and the evidence for both.

    Treat as immutable (it is not frozen only because a frozen init costs microseconds per decision).
    """

    routing_decision_id: str
    context: RoutingContext
    eligibility: tuple[tuple[str, tuple[tuple[ExclusionCode, str], ...]], ...]
    ranked: tuple[Scored, ...]
    weights: tuple[float, ...]
    selection_reasons: tuple[SelectionReason, ...]
    scoring_version: str
    estimates: Mapping[str, QualityEstimate]

    @property
    def request_id(self) -> str:
        return self.context.request.request_id

    @property
    def chosen_endpoint_id(self) -> str:
        return self.ranked[0].endpoint_id if self.ranked else ""

    @property
    def fallback_endpoint_ids(self) -> tuple[str, ...]:
        return tuple(s.endpoint_id for s in self.ranked[1:])

    @property
    def used_measured(self) -> bool:
        return bool(self.ranked) and "measured" in self.ranked[0].sources

    @property
    def used_declared(self) -> bool:
        return bool(self.ranked)

    def flat_metrics(self) -> tuple[FlatMetric, ...]:
        """The weighted metrics that do not discriminate between the scored candidates."""
        return flat_metrics(self.ranked, self.weights, self.context.policy)

    def to_artifact(self) -> dict[str, Any]:
        """The decision as a schema-valid ``RouterDecision`` JSON object."""
        request = self.context.request
        scored = [self._scored_artifact(s) for s in self.ranked]
        for flat in self.flat_metrics():
            scored[0]["metric_breakdown"][flat.metric]["raw"]["warning"] = flat.message
        return {
            "routing_decision_id": self.routing_decision_id,
            "request_id": request.request_id,
            "app_id": request.app_id,
            "org_id": request.org_id,
            "policy_snapshot": self.context.policy.to_artifact(),
            "eligibility": [
                {
                    "endpoint_id": endpoint_id,
                    "eligible": not exclusions,
                    "exclusions": [{"code": code, "detail": d} for code, d in exclusions],
                }
                for endpoint_id, exclusions in self.eligibility
            ],
            "scored_candidates": scored,
            "chosen_endpoint_id": self.chosen_endpoint_id,
            "fallback_endpoint_ids": list(self.fallback_endpoint_ids),
            "selection_reasons": list(self.selection_reasons),
            "used_measured": self.used_measured,
            "used_declared": self.used_declared,
            "scoring_version": self.scoring_version,
        }

    def to_model(self) -> RouterDecision:
        """The decision as the protocol's pydantic model (validated)."""
        return RouterDecision.model_validate(self.to_artifact())

    def _scored_artifact(self, s: Scored) -> dict[str, Any]:
        estimate = self.estimates.get(s.endpoint_id)
        breakdown = {
            metric: {
                "value": value,
                "source": source,
                "raw": metric_raw(metric, s.candidate, self.context, estimate),
            }
            for metric, value, source in zip(METRICS, s.values, s.sources, strict=True)
        }
        return {
            "endpoint_id": s.endpoint_id,
            "total_score": s.total,
            "metric_breakdown": breakdown,
            "tie_break": {
                "quality": s.values[0],
                "latency_ms": s.eff_latency,
                "reliability": s.values[4],
                "endpoint_id": s.endpoint_id,
            },
        }
