"""The router decision artifact and its reason-code vocabulary (docs/protocol.md §Artifacts).

Owns `RouterDecision` and its parts (`EligibilityEntry` with `Exclusion`, `ScoredCandidate` with
`MetricBreakdown` / `MetricEntry` / `TieBreak`), mirroring ``router-decision.schema.json``, and the
schema's vocabularies: `ExclusionCode` / `EXCLUSION_CODES` (24 codes), `SelectionReason` /
`SELECTION_REASONS` (15 reasons) and `MetricSource`. The vocabulary is the schema's
(``TASK_NOT_SUPPORTED_BY_ROLE``, ``ROLE_POLICY_APPLIED``), not the docs' older names.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, get_args

from pydantic import Field

from rolecall.protocol.base import NullPreservingModel, ProtocolModel
from rolecall.protocol.policy import RoutingPolicy

__all__ = [
    "EXCLUSION_CODES",
    "METRIC_SOURCES",
    "SELECTION_REASONS",
    "EligibilityEntry",
    "Exclusion",
    "ExclusionCode",
    "MetricBreakdown",
    "MetricEntry",
    "MetricSource",
    "RouterDecision",
    "ScoredCandidate",
    "SelectionReason",
    "TieBreak",
]

ExclusionCode = Literal[
    "CAPABILITY_MISSING",
    "FORBIDDEN_CAPABILITY_PRESENT",
    "MODALITY_UNSUPPORTED",
    "CONTEXT_TOO_SMALL",
    "TOOLS_UNSUPPORTED",
    "ROLE_NOT_ALLOWED",
    "TASK_NOT_SUPPORTED_BY_ROLE",
    "ROLE_BINDING_INACTIVE",
    "ROLE_BINDING_DISABLED",
    "ROLE_BINDING_TASK_NOT_ALLOWED",
    "ROLE_BINDING_CAPABILITY_MISSING",
    "POLICY_DENY_ENDPOINT",
    "POLICY_DENY_REMOTE",
    "ACCOUNT_DISABLED",
    "AUTH_UNAVAILABLE",
    "ENTITLEMENT_MISSING",
    "QUOTA_EXHAUSTED",
    "REGION_DISALLOWED",
    "DEPLOYMENT_CLASS_MISMATCH",
    "PACKAGE_NOT_INSTALLED",
    "VARIANT_INCOMPATIBLE",
    "PROVIDER_OFFLINE",
    "BUDGET_EXCEEDED",
    "REVOKED",
]
"""Why a candidate endpoint was excluded (schema order)."""

SelectionReason = Literal[
    "BEST_TOTAL_SCORE",
    "MEASURED_PROFILE_USED",
    "DECLARED_PROFILE_USED",
    "DEFAULT_PROFILE_USED",
    "LOCAL_PREFERENCE_APPLIED",
    "REMOTE_PREFERENCE_APPLIED",
    "CONTINUITY_AFFINITY_APPLIED",
    "CACHE_AFFINITY_APPLIED",
    "ROUTING_MODEL_PREFERENCE_APPLIED",
    "BUDGET_OPTIMIZATION",
    "LOW_LATENCY_TARGET_MET",
    "HIGH_QUALITY_TARGET_MET",
    "ROLE_POLICY_APPLIED",
    "TASK_POLICY_APPLIED",
    "FALLBACK_CHAIN_COMPUTED",
]
"""Why the chosen endpoint won (schema order)."""

MetricSource = Literal["measured", "declared", "default"]
"""Where a metric value came from: observed data, the declared profile, or a neutral default."""

EXCLUSION_CODES: Final[tuple[ExclusionCode, ...]] = get_args(ExclusionCode)
SELECTION_REASONS: Final[tuple[SelectionReason, ...]] = get_args(SelectionReason)
METRIC_SOURCES: Final[tuple[MetricSource, ...]] = get_args(MetricSource)


class Exclusion(ProtocolModel):
    """One reason a candidate is ineligible."""

    code: ExclusionCode
    detail: str


class EligibilityEntry(ProtocolModel):
    """The eligibility verdict of one candidate (eligible candidates are listed too)."""

    endpoint_id: str
    eligible: bool
    exclusions: list[Exclusion]


class MetricEntry(ProtocolModel):
    """One normalised metric of a scored candidate, its source, and the raw inputs behind it."""

    value: Annotated[float, Field(ge=0, le=1)]
    source: MetricSource
    raw: dict[str, Any] | None = None


class MetricBreakdown(ProtocolModel):
    """The six scoring dimensions of a candidate (docs/protocol.md §Scoring metrics and weights)."""

    quality: MetricEntry
    latency: MetricEntry
    throughput: MetricEntry
    cost: MetricEntry
    reliability: MetricEntry
    preference: MetricEntry


class TieBreak(ProtocolModel):
    """The values near-ties are broken on: quality, effective latency, reliability, endpoint id."""

    quality: float
    latency_ms: Annotated[float, Field(ge=0)]
    reliability: float
    endpoint_id: str


class ScoredCandidate(ProtocolModel):
    """An eligible candidate with its total score and how it was reached."""

    endpoint_id: str
    total_score: float
    metric_breakdown: MetricBreakdown
    tie_break: TieBreak


class RouterDecision(NullPreservingModel):
    """An explainable routing decision.

    ``org_id`` is required but nullable: it is written as ``null`` by `to_artifact` and by
    ``model_dump(exclude_none=True)``. ``chosen_endpoint_id`` is ``""`` when nothing was eligible.
    """

    routing_decision_id: str
    request_id: str
    app_id: str
    org_id: str | None
    policy_snapshot: RoutingPolicy
    eligibility: list[EligibilityEntry]
    scored_candidates: list[ScoredCandidate]
    chosen_endpoint_id: str
    fallback_endpoint_ids: list[str]
    selection_reasons: list[SelectionReason]
    used_measured: bool
    used_declared: bool
    scoring_version: str
