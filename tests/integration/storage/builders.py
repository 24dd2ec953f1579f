"""Small schema-valid artifacts and records for the storage tests."""

from __future__ import annotations

from typing import Any

from rolecall.observe.observation import AttemptObservation, Observation
from rolecall.profiles.samples import Sample
from rolecall.protocol import ObservedPerformanceProfile, load_artifact

NOW_MS = 1_712_880_000_000


def _policy(strategy: str) -> dict[str, Any]:
    return {
        "strategy": strategy,
        "compute_preference": "auto",
        "required_capabilities": [],
        "required_modalities": ["text"],
        "require_tools": False,
        "deny_endpoints": [],
        "allow_endpoints": [],
        "deny_provider_kinds": [],
        "allow_provider_kinds": [],
        "budget": {"enabled": False, "currency": "USD"},
        "privacy": {"allow_remote": True},
        "targets": {"latency_target_ms": 150, "latency_max_ms": 300, "throughput_target_tps": 40},
    }


def decision(
    decision_id: str, *, request_id: str = "req-1", chosen: str = "e1", strategy: str = "balanced"
) -> dict[str, Any]:
    metrics = ("quality", "latency", "throughput", "cost", "reliability", "preference")
    return {
        "routing_decision_id": decision_id,
        "request_id": request_id,
        "app_id": "app",
        "org_id": None,
        "policy_snapshot": _policy(strategy),
        "eligibility": [{"endpoint_id": chosen, "eligible": True, "exclusions": []}],
        "scored_candidates": [
            {
                "endpoint_id": chosen,
                "total_score": 0.625,
                "metric_breakdown": {
                    name: {"value": 0.5, "source": "measured", "raw": {"x": 1.5}}
                    for name in metrics
                },
                "tie_break": {
                    "quality": 0.5,
                    "latency_ms": 112.5,
                    "reliability": 1,
                    "endpoint_id": chosen,
                },
            }
        ],
        "chosen_endpoint_id": chosen,
        "fallback_endpoint_ids": [],
        "selection_reasons": ["BEST_TOTAL_SCORE"],
        "used_measured": True,
        "used_declared": True,
        "scoring_version": "baseline-v2",
    }


def span(span_id: str, *, request_id: str = "req-1", started: int = NOW_MS) -> dict[str, Any]:
    return {
        "trace_id": "trace-1",
        "span_id": span_id,
        "parent_span_id": "root",
        "request_id": request_id,
        "routing_decision_id": "dec-1",
        "span_type": "router.selection",
        "started_at_ms": started,
        "ended_at_ms": started + 10,
        "status": "ok",
        "attributes": {"chosen_endpoint_id": "e1", "score": 0.25, "cached": False},
    }


def event(event_id: str, *, request_id: str = "req-1", at: int = NOW_MS) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "trace_id": "trace-1",
        "span_id": "span-1",
        "request_id": request_id,
        "routing_decision_id": "dec-1",
        "timestamp_ms": at,
        "event_type": "router.decision.created",
        "payload": {"chosen_endpoint_id": "e1", "nested": {"list": [1, 2.5, None]}},
    }


def usage(
    event_id: str, *, request_id: str = "req-1", endpoint_id: str = "e1", at: int = NOW_MS
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "timestamp_ms": at,
        "app_id": "app",
        "org_id": "org-1",
        "request_id": request_id,
        "routing_decision_id": "dec-1",
        "endpoint_id": endpoint_id,
        "provider_kind": "openai_compatible",
        "tokens_in": 48,
        "tokens_out": 24,
        "latency_ms": 160.5,
        "cost_actual": 0.0001,
        "currency": "USD",
        "sample_source": "live_request",
    }


def profile(endpoint_id: str, *, p50: float = 110.0) -> ObservedPerformanceProfile:
    return load_artifact(
        "observed-performance-profile",
        {
            "endpoint_id": endpoint_id,
            "endpoint_version": "1.0.0",
            "measured_at_ms": NOW_MS,
            "measurement_window": {"started_at_ms": NOW_MS - 1000, "ended_at_ms": NOW_MS},
            "sample_size": 4,
            "sources": {"live_request_samples": 3, "benchmark_samples": 1},
            "judge_score": 0.87,
            "latency_ms_p50": p50,
            "latency_ms_p95": 160.0,
            "failure_rate": 0.02,
            "error_class_rates": {"timeout": 0.02},
            "freshness_score": 0.94,
            "confidence_score": 0.88,
        },
    )


def sample(
    endpoint_id: str = "e1", *, at: int = NOW_MS, source: str = "live_request", **extra: Any
) -> Sample:
    return Sample(
        endpoint_id=endpoint_id,
        endpoint_version="1.0.0",
        source=source,  # type: ignore[arg-type]
        timestamp_ms=at,
        latency_ms=extra.pop("latency_ms", 120.5),
        **extra,
    )


def observation(
    request_id: str = "req-1", *, endpoint_id: str = "e1", at: int = NOW_MS, latency_ms: int = 120
) -> Observation:
    """A request the gateway served on ``endpoint_id`` in one attempt, as the recorder sends it."""
    return Observation(
        request_id=request_id,
        trace_id=f"trace-{request_id}",
        app_id="app",
        role_id=None,
        task_type="general.chat",
        decision=decision(f"dec-{request_id}", request_id=request_id, chosen=endpoint_id),
        started_ms=at - latency_ms - 2,
        decided_ms=at - latency_ms,
        ended_ms=at,
        executed=True,
        ok=True,
        error_class=None,
        stream_error=None,
        tokens_in=48,
        tokens_out=24,
        endpoint_id=endpoint_id,
        provider_kind="remote_openai_compat",
        model="m-1",
        cost_estimate=0.00005,
        cost=0.0001,
        attempts=[
            AttemptObservation(
                endpoint_id=endpoint_id,
                endpoint_version="1.0.0",
                cost_per_1k_tokens=0.002,
                started_ms=at - latency_ms,
                ended_ms=at,
                retry=False,
            )
        ],
    )
