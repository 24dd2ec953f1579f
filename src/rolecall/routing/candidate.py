"""Candidate endpoints as the router sees them: identity, declared floor, evidence, runtime state.

A `Candidate` is built once per inventory or profile change and reused across requests, so every
request-independent fact (locality, capability sets) is computed here rather than per decision.
`Evidence` is the router's view of an observed profile: the metric inputs only, each optional,
because real inputs (conformance cases, partially measured endpoints) are often incomplete.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from rolecall.errors import ConfigError, ProtocolValidationError
from rolecall.protocol import (
    DeclaredCapabilityProfile,
    EndpointIdentity,
    ObservedPerformanceProfile,
    ProtocolModel,
)
from rolecall.protocol.validation import load_model
from rolecall.routing.request import DIFFICULTIES

CEILING_SOURCES: Final = ("declared", "derived")

# Candidate status → exclusion code (None = routable).
STATUS_EXCLUSIONS: Final[Mapping[str, str | None]] = {
    "active": None,
    "degraded": None,
    "cooldown": "PROVIDER_OFFLINE",
    "offline": "PROVIDER_OFFLINE",
    "revoked": "REVOKED",
}

# Runtime eligibility flags (reference runtime's camelCase names) → exclusion code.
RUNTIME_FLAG_CODES: Final[Mapping[str, str]] = {
    "accountDisabled": "ACCOUNT_DISABLED",
    "authUnavailable": "AUTH_UNAVAILABLE",
    "quotaExhausted": "QUOTA_EXHAUSTED",
    "budgetExceeded": "BUDGET_EXCEEDED",
    "regionDisallowed": "REGION_DISALLOWED",
    "entitlementMissing": "ENTITLEMENT_MISSING",
    "providerUnavailable": "PROVIDER_OFFLINE",
    "deploymentClassMismatch": "DEPLOYMENT_CLASS_MISMATCH",
    "packageNotInstalled": "PACKAGE_NOT_INSTALLED",
    "variantIncompatible": "VARIANT_INCOMPATIBLE",
}

_LOCAL_KINDS: Final = frozenset({"local_engine", "browser_engine"})
_LOCAL_SOURCES: Final = frozenset({"local-process", "local_process", "local"})


def is_local_identity(identity: EndpointIdentity) -> bool:
    """An endpoint is local when its kind, serving source or region says it runs on this host."""
    kind = identity.endpoint_kind.replace("-", "_")
    return (
        kind in _LOCAL_KINDS
        or identity.serving_source in _LOCAL_SOURCES
        or identity.region == "local"
    )


@dataclass(frozen=True, slots=True)
class Evidence:
    """Measured inputs of the six metrics; ``None`` where nothing was measured."""

    judge_score: float | None = None
    quality_score: float | None = None
    latency_ms_p50: float | None = None
    latency_ms_p95: float | None = None
    tokens_per_sec: float | None = None
    failure_rate: float | None = None
    cost_per_1k_tokens_est: float | None = None
    freshness_score: float | None = None
    confidence_score: float | None = None
    sample_size: int | None = None
    measured_at_ms: int | None = None

    @classmethod
    def from_profile(cls, profile: ObservedPerformanceProfile) -> Evidence:
        return cls(**{name: getattr(profile, name) for name in _EVIDENCE_FIELDS})

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> Evidence:
        values: dict[str, Any] = {}
        for name in _EVIDENCE_FIELDS:
            value = data.get(name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError("candidate", f"{where}.{name}", "expected a number >= 0")
            if name in _UNIT_FIELDS and value > 1:
                raise ConfigError("candidate", f"{where}.{name}", "expected a number in [0, 1]")
            values[name] = value
        return cls(**values)


_EVIDENCE_FIELDS: Final = tuple(Evidence.__dataclass_fields__)
_UNIT_FIELDS: Final = frozenset(
    {"judge_score", "quality_score", "failure_rate", "freshness_score", "confidence_score"}
)


@dataclass(frozen=True, slots=True)
class RoutingSignals:
    """Runtime hints for one candidate (session continuity, prompt cache, a routing model's rank)."""

    continuity_affinity: bool = False
    cache_affinity: bool = False
    routing_model_rank: int | None = None


@dataclass(frozen=True, slots=True)
class QualityEstimate:
    """A per-prompt quality estimate for one candidate (from a learned predictor)."""

    value: float
    source_id: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """One routable endpoint with everything the router may consult about it.

    ``catalog_cost_per_1k_tokens`` is the declared (catalog or configured) price used when no cost was
    observed; ``throughput_penalty`` multiplies the throughput metric (0 excludes the endpoint);
    ``policy_denied`` is an operator deny marker; ``max_difficulty`` is the difficulty ceiling
    (docs/routing.md §Difficulty) and ``ceiling_source`` where it came from; ``demoted`` says
    why an open quality-drift alarm demoted it (its quality metric scores 0, so it ranks behind
    every endpoint that is not, yet still serves as a fallback).
    """

    identity: EndpointIdentity
    declared: DeclaredCapabilityProfile
    evidence: Evidence | None = None
    status: str = "active"
    runtime_flags: frozenset[str] = frozenset()
    signals: RoutingSignals = RoutingSignals()
    catalog_cost_per_1k_tokens: float | None = None
    throughput_penalty: float | None = None
    policy_denied: bool = False
    max_difficulty: str | None = None  # the hardest request it should get (easy/medium/hard)
    ceiling_source: str | None = None  # "declared" (configured) or "derived" (benchmark quality)
    demoted: str | None = None  # why a drift alarm demoted it: its quality metric scores 0
    endpoint_id: str = field(init=False)
    is_local: bool = field(init=False)
    capabilities: frozenset[str] = field(init=False)
    modalities: frozenset[str] = field(init=False)
    has_state: bool = field(init=False)  # anything that state-sensitive rules must look at
    has_signals: bool = field(init=False)
    metric_cache: dict[tuple[float, ...], tuple[Any, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        if self.status not in STATUS_EXCLUSIONS:
            raise ConfigError(
                "candidate",
                f"{self.identity.endpoint_id}.status",
                f"unknown status {self.status!r}; use one of {sorted(STATUS_EXCLUSIONS)}",
            )
        object.__setattr__(self, "endpoint_id", self.identity.endpoint_id)
        object.__setattr__(self, "is_local", is_local_identity(self.identity))
        object.__setattr__(self, "capabilities", frozenset(self.declared.capabilities))
        object.__setattr__(self, "modalities", frozenset(self.declared.modalities))
        has_state = (
            self.status != "active"
            or bool(self.runtime_flags)
            or self.policy_denied
            or self.throughput_penalty is not None
        )
        object.__setattr__(self, "has_state", has_state)
        s = self.signals
        has_signals = s.continuity_affinity or s.cache_affinity or s.routing_model_rank is not None
        object.__setattr__(self, "has_signals", has_signals)


def effective_latency(p50: float, p95: float | None) -> float:
    """The latency the metric scores: the median plus a quarter of the tail above it."""
    return p50 + 0.25 * max(0.0, (p95 if p95 is not None else p50) - p50)


def cost_estimate(c: Candidate) -> float | None:
    """Observed cost per 1k tokens, else the declared (catalog) price, else unknown."""
    observed = c.evidence.cost_per_1k_tokens_est if c.evidence is not None else None
    return observed if observed is not None else c.catalog_cost_per_1k_tokens


def parse_candidate(data: Mapping[str, Any], where: str) -> Candidate:
    """Build a `Candidate` from the conformance-case shape ``{identity, declared, observed?, status}``.

    Also accepts ``runtimeEligibility`` (flags), ``routingSignals``, ``catalogCostPer1kTokens``,
    ``throughputPenalty``, ``policyDenied``, ``maxDifficulty`` and ``ceilingSource``.
    """
    if not isinstance(data, Mapping):
        raise ConfigError("candidate", where, "expected a JSON object")
    identity = load_nested(EndpointIdentity, data.get("identity"), f"{where}.identity")
    declared = load_nested(DeclaredCapabilityProfile, data.get("declared"), f"{where}.declared")
    observed = data.get("observed")
    evidence = None if observed is None else Evidence.from_mapping(observed, f"{where}.observed")
    flags_raw = data.get("runtimeEligibility") or {}
    unknown = [k for k in flags_raw if k not in RUNTIME_FLAG_CODES]
    if unknown:
        raise ConfigError(
            "candidate",
            f"{where}.runtimeEligibility.{unknown[0]}",
            f"unknown flag; use one of {sorted(RUNTIME_FLAG_CODES)}",
        )
    signals_raw = data.get("routingSignals") or {}
    return Candidate(
        identity=identity,
        declared=declared,
        evidence=evidence,
        status=str(data.get("status", "active")),
        runtime_flags=frozenset(k for k, v in flags_raw.items() if v),
        signals=RoutingSignals(
            continuity_affinity=bool(signals_raw.get("continuityAffinity", False)),
            cache_affinity=bool(signals_raw.get("cacheAffinity", False)),
            routing_model_rank=signals_raw.get("routingModelRank"),
        ),
        catalog_cost_per_1k_tokens=data.get("catalogCostPer1kTokens"),
        throughput_penalty=data.get("throughputPenalty"),
        policy_denied=bool(data.get("policyDenied", False)),
        max_difficulty=_difficulty(data.get("maxDifficulty"), f"{where}.maxDifficulty"),
        ceiling_source=_ceiling_source(data.get("ceilingSource"), f"{where}.ceilingSource"),
    )


def _difficulty(value: Any, where: str) -> str | None:
    return _one_of(value, DIFFICULTIES, where)


def _ceiling_source(value: Any, where: str) -> str | None:
    return _one_of(value, CEILING_SOURCES, where)


def _one_of(value: Any, choices: tuple[str, ...], where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value in choices:
        return value
    raise ConfigError("candidate", where, f"expected one of {list(choices)}, got {value!r}")


_M = TypeVar("_M", bound=ProtocolModel)


def load_nested(model: type[_M], data: Any, where: str, source: str = "candidate") -> _M:
    """Parse a protocol object found at JSON path ``where``; errors name the full path."""
    if data is None:
        raise ConfigError(source, where, "required object is missing")
    try:
        return load_model(model, data)
    except ProtocolValidationError as exc:
        raise ConfigError(source, where + exc.path.removeprefix("$"), exc.message) from None
