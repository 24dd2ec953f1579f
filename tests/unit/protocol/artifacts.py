"""Small valid artifacts to break on purpose in the protocol tests."""

from __future__ import annotations

import copy
from typing import Any


def policy() -> dict[str, Any]:
    return {
        "strategy": "balanced",
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


def metric(value: float = 0.5) -> dict[str, Any]:
    return {"value": value, "source": "default"}


def decision() -> dict[str, Any]:
    names = ("quality", "latency", "throughput", "cost", "reliability", "preference")
    return {
        "routing_decision_id": "decision-1",
        "request_id": "request-1",
        "app_id": "app",
        "org_id": None,
        "policy_snapshot": policy(),
        "eligibility": [
            {"endpoint_id": "e1", "eligible": True, "exclusions": []},
            {
                "endpoint_id": "e2",
                "eligible": False,
                "exclusions": [{"code": "CONTEXT_TOO_SMALL", "detail": "needs 8k"}],
            },
        ],
        "scored_candidates": [
            {
                "endpoint_id": "e1",
                "total_score": 0.5,
                "metric_breakdown": {name: metric() for name in names},
                "tie_break": {
                    "quality": 0.5,
                    "latency_ms": 250,
                    "reliability": 0.7,
                    "endpoint_id": "e1",
                },
            }
        ],
        "chosen_endpoint_id": "e1",
        "fallback_endpoint_ids": [],
        "selection_reasons": ["BEST_TOTAL_SCORE", "DEFAULT_PROFILE_USED"],
        "used_measured": False,
        "used_declared": True,
        "scoring_version": "baseline-v2",
    }


def identity(**changes: Any) -> dict[str, Any]:
    data = {
        "endpoint_id": "e1",
        "endpoint_kind": "remote_api",
        "provider_kind": "remote_openai_compat",
        "serving_source": "remote-service",
        "model_id": "m",
        "runtime_version": "1",
    }
    return {**data, **changes}


def observed(**changes: Any) -> dict[str, Any]:
    data = {
        "endpoint_id": "e1",
        "endpoint_version": "v1",
        "measured_at_ms": 10,
        "measurement_window": {"started_at_ms": 0, "ended_at_ms": 10},
        "sample_size": 4,
        "sources": {"benchmark_samples": 1, "live_request_samples": 3},
        "latency_ms_p50": 100,
        "latency_ms_p95": 150,
        "failure_rate": 0.1,
        "freshness_score": 1,
        "confidence_score": 0.5,
    }
    return {**data, **changes}


def declared(**changes: Any) -> dict[str, Any]:
    data = {
        "endpoint_id": "e1",
        "capabilities": ["text.chat"],
        "modalities": ["text"],
        "max_context_tokens": 8192,
        "tool_calling": {"supported": True, "style": "openai"},
        "supports_embeddings": False,
    }
    return {**data, **changes}


def span(**changes: Any) -> dict[str, Any]:
    data = {
        "trace_id": "t",
        "span_id": "s",
        "request_id": "r",
        "routing_decision_id": "d",
        "span_type": "router.scoring",
        "started_at_ms": 1,
        "ended_at_ms": 2,
        "status": "ok",
    }
    return {**data, **changes}


def with_change(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    node: Any = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return changed
