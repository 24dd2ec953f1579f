"""A stored request as OpenTelemetry spans: the paths the end-to-end tests do not take."""

from __future__ import annotations

from typing import Any

from rolecall.observe.observation import AttemptObservation, Observation
from rolecall.observe.rows import build_trace, build_usage
from rolecall.telemetry.otel_mapping import SpanRecord, provider_name, request_spans

DECISION = {
    "routing_decision_id": "dec-1",
    "chosen_endpoint_id": "ep-a",
    "fallback_endpoint_ids": [],
    "eligibility": [{"endpoint_id": "ep-a", "eligible": True}],
    "scored_candidates": [{"endpoint_id": "ep-a"}],
    "policy_snapshot": {"strategy": "quality"},
}


def _observation(**overrides: Any) -> Observation:
    fields: dict[str, Any] = {
        "request_id": "req-1",
        "trace_id": "ab" * 16,
        "app_id": "app",
        "role_id": "general.chat",
        "task_type": "chat",
        "decision": DECISION,
        "started_ms": 1_000,
        "decided_ms": 1_001,
        "ended_ms": 1_050,
        "executed": True,
        "ok": True,
        "error_class": None,
        "stream_error": None,
        "tokens_in": 7,
        "tokens_out": 3,
        "endpoint_id": "ep-a",
        "provider_kind": "anthropic",
        "model": "claude-x",
        "cost_estimate": None,
        "cost": None,
        "requested_model": "general.chat",
    }
    return Observation(**{**fields, **overrides})


def _spans(o: Observation) -> list[SpanRecord]:
    return request_spans(o, build_trace(o, build_usage(o), 0).row())


def test_a_stream_cut_after_its_first_token_fails_its_attempt() -> None:
    attempt = AttemptObservation(
        "ep-a",
        "v1",
        None,
        1_002,
        1_010,
        False,
        first_byte_ms=1_010,
        span_id="cd" * 8,
        model="claude-x",
        provider_kind="anthropic",
        base_url="https://api.example.com/v1",
    )
    o = _observation(
        attempts=[attempt], error_class="stream_truncated", stream_error="stream_truncated"
    )
    spans = _spans(o)
    root, client = spans[0], spans[1]
    assert root.error == client.error == "stream_truncated"
    assert client.attributes["error.type"] == "stream_truncated"
    assert client.end_ns == 1_050 * 1_000_000  # relayed until the cut
    assert (client.attributes["server.address"], client.attributes["server.port"]) == (
        "api.example.com",
        443,
    )
    assert client.attributes["gen_ai.provider.name"] == "anthropic"
    decode = next(s for s in spans if s.name == "provider.decode")
    assert decode.parent_id == client.span_id
    assert decode.error == "stream_truncated"


def test_a_decision_only_request_is_the_request_and_the_routing_spans() -> None:
    o = _observation(executed=False, ok=False, attempts=[], tokens_in=0, tokens_out=0)
    spans = _spans(o)
    assert [s.kind for s in spans] == ["server", "internal", "internal", "internal"]
    root = spans[0]
    assert root.parent_id is None
    assert root.name == "chat general.chat"
    assert "gen_ai.usage.input_tokens" not in root.attributes
    assert "gen_ai.provider.name" not in root.attributes
    assert root.attributes["rolecall.strategy"] == "quality"
    assert all(s.parent_id == root.span_id for s in spans[1:])


def test_provider_names() -> None:
    assert provider_name("openai_compatible") == "openai"
    assert provider_name("anthropic") == "anthropic"
    assert provider_name("llamacpp") == "llamacpp"
    assert provider_name(None) is None


def test_an_embeddings_request_is_the_embeddings_operation() -> None:
    attempt = AttemptObservation(
        "ep-a", "v1", None, 1_002, 1_010, False, model="embed-x", provider_kind="llamacpp"
    )
    o = _observation(
        task_type="embeddings.text",
        role_id="embedder",
        requested_model="default",
        attempts=[attempt],
        tokens_out=0,
    )
    root, client = _spans(o)[:2]
    assert (root.name, client.name) == ("embeddings default", "embeddings embed-x")
    assert root.attributes["gen_ai.operation.name"] == "embeddings"
    assert client.attributes["gen_ai.usage.input_tokens"] == 7
