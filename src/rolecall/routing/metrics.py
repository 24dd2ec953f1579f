"""The six scoring metrics, each normalised to [0, 1] with its source.

The rules: docs/protocol.md §Scoring metrics and weights; formulas: docs/routing.md §3.

Formulas follow the reference router so that decisions agree with it: effective latency
``p50 + 0.25·max(0, p95 − p50)`` scored as ``1 − log1p(eff/target) / log1p(max/target)``; throughput
``log1p(tps) / log1p(target)``; cost ``1 − cost_per_1k / target``; reliability ``1 − failure_rate``;
quality from the judge score, then the quality score, then a learned per-prompt estimate overrides both.
Unknown inputs take the neutral defaults and the source ``default``.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import log1p
from typing import Any, Final, Literal

from rolecall.routing.candidate import Candidate, QualityEstimate, cost_estimate, effective_latency
from rolecall.routing.context import RoutingContext
from rolecall.routing.decay import pulled
from rolecall.routing.policy import PolicySnapshot

MetricName = Literal["quality", "latency", "throughput", "cost", "reliability", "preference"]
METRICS: Final[tuple[MetricName, ...]] = (
    "quality",
    "latency",
    "throughput",
    "cost",
    "reliability",
    "preference",
)
NEUTRAL: Final = 0.5
RELIABILITY_NEUTRAL: Final = 0.7
UNKNOWN_LATENCY_MS: Final = 250.0  # tie-break value for an endpoint with no latency evidence

LOCALITY_DELTA: Final = 0.15
PREFERRED_CAPABILITY_BONUS: Final = 0.25  # at full coverage of the preferred capabilities
ACTIVE_BINDING_BONUS: Final = 0.1
AFFINITY_BONUS: Final = 0.1
ROUTING_RANK_BONUS: Final = 0.15
ROUTING_RANK_STEP: Final = 0.05

MEASURED: Final = "measured"
DECLARED: Final = "declared"
DEFAULT: Final = "default"


def _clamp(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


class Scored:
    """One eligible candidate with its metric values, sources, and total score."""

    __slots__ = ("candidate", "default_mask", "eff_latency", "sources", "total", "values")

    def __init__(
        self,
        candidate: Candidate,
        values: tuple[float, ...],
        sources: tuple[str, ...],
        eff_latency: float,
        default_mask: int,
    ) -> None:
        self.candidate = candidate
        self.values = values
        self.sources = sources
        self.eff_latency = eff_latency
        self.default_mask = default_mask  # bit i set: metric i is a default
        self.total = 0.0

    @property
    def endpoint_id(self) -> str:
        return self.candidate.endpoint_id

    @property
    def tie_key(self) -> tuple[float, float, float, str]:
        """Higher quality, lower effective latency, higher reliability, smaller endpoint id."""
        return (-self.values[0], self.eff_latency, -self.values[4], self.candidate.endpoint_id)


_QUALITY_BIT: Final = 1
_METRIC_CACHE_SIZE: Final = 8  # target sets kept per candidate
_PREFERENCE_BIT: Final = 1 << 5
# what a measured metric decays toward, in `METRICS` order (rolecall.routing.decay)
_NEUTRALS: Final = (NEUTRAL, NEUTRAL, NEUTRAL, NEUTRAL, RELIABILITY_NEUTRAL)


def score_candidate(
    c: Candidate,
    ctx: RoutingContext,
    estimate: QualityEstimate | None,
    static: tuple[Any, ...] | None = None,
) -> Scored:
    """Score one eligible candidate on the six metrics, in `METRICS` order.

    The evidence-based metrics do not depend on the request, only on the policy's targets, so they
    are computed once per candidate and target set and cached on the candidate (unless ``static``
    gives them: `score_recent`).
    """
    if static is None:
        cache = c.metric_cache
        static = cache.get(ctx.metric_key)
        if static is None:
            if len(cache) >= _METRIC_CACHE_SIZE:  # derived targets move with the pool: drop old
                cache.clear()
            static = cache[ctx.metric_key] = _evidence_metrics(c, ctx)
    q, qs, lat, ls, thr, ts, cst, cs, rel, rs, eff, mask = static
    if estimate is not None and c.demoted is None:
        q, qs = _clamp(estimate.value), MEASURED
        mask &= ~_QUALITY_BIT
    if ctx.preference_inputs or c.has_signals:
        pref, ps = preference(c, ctx)
        if ps is DEFAULT:
            mask |= _PREFERENCE_BIT
    else:
        pref, ps = NEUTRAL, DEFAULT
        mask |= _PREFERENCE_BIT
    return Scored(c, (q, lat, thr, cst, rel, pref), (qs, ls, ts, cs, rs, ps), eff, mask)


def score_recent(c: Candidate, ctx: RoutingContext, estimate: QualityEstimate | None) -> Scored:
    """`score_candidate` under recency decay (``ctx.recency`` set). Decayed values move with the
    decision's time, so they bypass the per-candidate cache; undated evidence does not decay."""
    weights = recency_weights(c, ctx)
    static = None if weights is None else _evidence_metrics(c, ctx, weights)
    return score_candidate(c, ctx, estimate, static)


def recency_weights(c: Candidate, ctx: RoutingContext) -> tuple[float, ...] | None:
    """The decay weight ``w`` of each evidence metric now, or None (decay off, or undated)."""
    ev = c.evidence
    if ctx.recency is None or ev is None or ev.measured_at_ms is None:
        return None
    decay, now_ms = ctx.recency
    return decay.weights(now_ms - ev.measured_at_ms)


def _evidence_metrics(
    c: Candidate, ctx: RoutingContext, weights: tuple[float, ...] | None = None
) -> tuple[Any, ...]:
    """The request-independent metrics (all but preference): observed, decayed by ``weights``
    when given, then the throughput penalty (a runtime rule with its own expiry, not evidence)."""
    q, qs, lat, ls, thr, ts, cst, cs, rel, rs, eff = _observed(c, ctx.policy)
    sources = (qs, ls, ts, cs, rs)
    if weights is not None:
        q, lat, thr, cst, rel = (
            pulled(value, neutral, w) if source is MEASURED else value
            for value, neutral, w, source in zip(
                (q, lat, thr, cst, rel), _NEUTRALS, weights, sources, strict=True
            )
        )
    if ts is MEASURED and c.throughput_penalty is not None:
        thr = _clamp(thr * c.throughput_penalty)
    mask = sum(1 << i for i, src in enumerate(sources) if src is DEFAULT)
    return (q, qs, lat, ls, thr, ts, cst, cs, rel, rs, eff, mask)


def _observed(c: Candidate, p: PolicySnapshot) -> tuple[Any, ...]:
    """The five evidence metrics as measured (or declared, or defaulted), with their sources."""
    ev = c.evidence
    if c.demoted is not None:  # an open drift alarm: measured, and bad
        q, qs = 0.0, MEASURED
    elif ev is not None and ev.judge_score is not None:
        q, qs = ev.judge_score, MEASURED
    elif ev is not None and ev.quality_score is not None:
        q, qs = ev.quality_score, MEASURED
    else:
        q, qs = NEUTRAL, DEFAULT
    if ev is not None and ev.latency_ms_p50 is not None:
        eff = effective_latency(ev.latency_ms_p50, ev.latency_ms_p95)
        target = p.latency_target_ms or 1.0
        lat = _clamp(1.0 - log1p(eff / target) / log1p(p.latency_max_ms / target))
        ls = MEASURED
    else:
        eff, lat, ls = UNKNOWN_LATENCY_MS, NEUTRAL, DEFAULT
    if ev is not None and ev.tokens_per_sec is not None:
        thr, ts = _clamp(log1p(ev.tokens_per_sec) / log1p(p.throughput_target_tps or 1.0)), MEASURED
    else:
        thr, ts = NEUTRAL, DEFAULT
    cost = cost_estimate(c)
    if cost is None:
        cst, cs = NEUTRAL, DEFAULT
    else:
        cst = _clamp(1.0 - cost / p.cost_target)
        observed = ev is not None and ev.cost_per_1k_tokens_est is not None
        cs = MEASURED if observed else DECLARED
    if ev is not None and ev.failure_rate is not None:
        rel, rs = _clamp(1.0 - ev.failure_rate), MEASURED
    else:
        rel, rs = RELIABILITY_NEUTRAL, DEFAULT
    return (q, qs, lat, ls, thr, ts, cst, cs, rel, rs, eff)


def locality_delta(c: Candidate, ctx: RoutingContext) -> float:
    """+/- the locality bonus when the posture prefers local or remote endpoints."""
    pref = ctx.policy.compute_preference
    if pref == "local" or (ctx.policy.prefer_local and pref in ("auto", "hybrid")):
        return LOCALITY_DELTA if c.is_local else -LOCALITY_DELTA
    if pref == "remote":
        return -LOCALITY_DELTA if c.is_local else LOCALITY_DELTA
    return 0.0


def preferred_bonus(c: Candidate, ctx: RoutingContext) -> float:
    extra = ctx.preferred_extra
    if not extra:
        return 0.0
    return PREFERRED_CAPABILITY_BONUS * len(extra & c.capabilities) / len(extra)


def preference(c: Candidate, ctx: RoutingContext) -> tuple[float, str]:
    """Locality, preferred capabilities, active binding and runtime signals around 0.5."""
    delta = locality_delta(c, ctx) + preferred_bonus(c, ctx)
    binding = ctx.bindings.get(c.endpoint_id)
    if binding is not None and binding.status == "active":
        delta += ACTIVE_BINDING_BONUS
    s = c.signals
    if s.continuity_affinity:
        delta += AFFINITY_BONUS
    if s.cache_affinity:
        delta += AFFINITY_BONUS
    rank = routing_rank(c, ctx)
    if rank is not None:
        delta += max(0.0, ROUTING_RANK_BONUS - ROUTING_RANK_STEP * rank)
    if delta == 0.0:
        return NEUTRAL, DEFAULT
    return _clamp(NEUTRAL + delta), DECLARED


def routing_rank(c: Candidate, ctx: RoutingContext) -> int | None:
    """The better of a routing model's rank signal and the candidate's index in the request's
    ``preferred_endpoints`` (both earn the same bonus); None when neither ranks it."""
    rank = c.signals.routing_model_rank
    preferred = ctx.request.preferred_endpoints
    if preferred and c.endpoint_id in preferred:
        index = preferred.index(c.endpoint_id)
        rank = index if rank is None else min(rank, index)
    return rank


RAW_EVIDENCE: Final[Mapping[MetricName, tuple[str, ...]]] = {
    "quality": ("judge_score", "quality_score", "confidence_score", "freshness_score"),
    "latency": ("latency_ms_p50", "latency_ms_p95"),
    "throughput": ("tokens_per_sec",),
    "cost": ("cost_per_1k_tokens_est",),
    "reliability": ("failure_rate", "sample_size"),
    "preference": (),
}
"""The evidence fields shown as each metric's raw inputs."""


def metric_raw(
    metric: MetricName, c: Candidate, ctx: RoutingContext, estimate: QualityEstimate | None
) -> dict[str, Any]:
    """The raw inputs behind one metric value, for the decision's ``metric_breakdown``."""
    ev = c.evidence
    p = ctx.policy
    raw: dict[str, Any] = {}
    if ev is not None:
        for name in RAW_EVIDENCE[metric]:
            value = getattr(ev, name)
            if value is not None:
                raw[name] = value
    if metric == "quality":
        raw.update(_quality_raw(c, estimate))
    elif metric == "latency" and "latency_ms_p50" in raw:
        raw["effective_latency_ms"] = effective_latency(ev.latency_ms_p50, ev.latency_ms_p95)  # type: ignore[union-attr, arg-type]
        raw["latency_target_ms"] = p.latency_target_ms
        raw["latency_max_ms"] = p.latency_max_ms
        raw["targets_from"] = _latency_targets_from(p)
    elif metric == "throughput":
        raw["throughput_target_tps"] = p.throughput_target_tps
        raw["targets_from"] = p.target_source("throughput_target_tps")
        if c.throughput_penalty is not None:
            raw["throughput_penalty"] = c.throughput_penalty
    elif metric == "cost":
        if "cost_per_1k_tokens_est" not in raw and c.catalog_cost_per_1k_tokens is not None:
            raw["catalog_cost_per_1k_tokens"] = c.catalog_cost_per_1k_tokens
        raw["target_cost_per_request"] = p.cost_target
        raw["targets_from"] = p.target_source("cost_target")
    elif metric == "preference":
        raw.update(_preference_raw(c, ctx))
    if ctx.recency is not None and not (metric == "quality" and estimate is not None):
        raw.update(_recency_raw(metric, c, ctx))
    return raw


def _quality_raw(c: Candidate, estimate: QualityEstimate | None) -> dict[str, Any]:
    """Why quality is not the evidence's: a drift alarm's demotion, or a learned estimate."""
    if c.demoted is not None:
        return {"demoted": c.demoted}
    if estimate is not None:
        return {"predicted_quality": estimate.value, "predictor": estimate.source_id}
    return {}


def _recency_raw(metric: MetricName, c: Candidate, ctx: RoutingContext) -> dict[str, Any]:
    """How far recency decay pulled a measured metric: its evidence's age, the half-life, the
    weight ``w``, the value as observed and as decayed (before any throughput penalty)."""
    ev, recency, i = c.evidence, ctx.recency, METRICS.index(metric)
    if recency is None or ev is None or ev.measured_at_ms is None or metric == "preference":
        return {}
    observed = _observed(c, ctx.policy)
    if observed[2 * i + 1] is not MEASURED:
        return {}
    decay, now_ms = recency
    age_ms = now_ms - ev.measured_at_ms
    w = decay.weights(age_ms)[i]
    return {
        "evidence_age_ms": age_ms,
        "halflife_s": decay.halflives[i],
        "recency_weight": w,
        "observed_value": observed[2 * i],
        "decayed_value": pulled(observed[2 * i], _NEUTRALS[i], w),
    }


def _latency_targets_from(p: PolicySnapshot) -> str:
    target, high = p.target_source("latency_target_ms"), p.target_source("latency_max_ms")
    return target if target == high else f"{target} (max: {high})"


def _preference_raw(c: Candidate, ctx: RoutingContext) -> dict[str, Any]:
    raw: dict[str, Any] = {"compute_preference": ctx.policy.compute_preference}
    delta = locality_delta(c, ctx)
    if delta:
        raw["compute_delta"] = delta
        raw["is_local"] = c.is_local
    bonus = preferred_bonus(c, ctx)
    if ctx.preferred_extra:
        raw["preferred_capabilities_matched"] = sorted(ctx.preferred_extra & c.capabilities)
        raw["preferred_capability_bonus"] = bonus
    binding = ctx.bindings.get(c.endpoint_id)
    if binding is not None:
        raw["role_binding_status"] = binding.status
    s = c.signals
    if s.continuity_affinity:
        raw["continuity_affinity"] = True
    if s.cache_affinity:
        raw["cache_affinity"] = True
    if s.routing_model_rank is not None:
        raw["routing_model_rank"] = s.routing_model_rank
    preferred = ctx.request.preferred_endpoints
    if c.endpoint_id in preferred:
        raw["preferred_endpoint_rank"] = preferred.index(c.endpoint_id)
    return raw
