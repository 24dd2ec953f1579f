"""Records built from an observation: schema-valid, joined, and telling what the attempts did."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rolecall.observe.observation import AttemptObservation, Observation
from rolecall.observe.request_trace import RequestTrace
from rolecall.observe.rows import build_batch
from rolecall.protocol.validation import validate_artifact
from tests.integration.storage import builders


def _fell_back() -> Observation:
    """e1 timed out twice (retry), e2 answered."""
    o = builders.observation("r-fb", endpoint_id="e2")
    o.decision = builders.decision("dec-r-fb", request_id="r-fb", chosen="e1")
    at = o.ended_ms
    o.attempts = [
        AttemptObservation("e1", "1.0.0", 0.002, at - 400, at - 300, False, None, "timeout"),
        AttemptObservation("e1", "1.0.0", 0.002, at - 300, at - 200, True, None, "timeout"),
        AttemptObservation("e2", "2.0.0", 0.004, at - 200, at, False),
    ]
    return o


def _valid(
    batch_row: dict[str, Any], usage: dict[str, Any], decision: dict[str, Any]
) -> RequestTrace:
    validate_artifact("usage-event", usage)
    validate_artifact("router-decision", decision)
    trace = RequestTrace.from_row(batch_row)
    for span in trace.full_spans():
        validate_artifact("trace-span", span)
    for event in trace.full_events():
        validate_artifact("trace-event", event)
    return trace


def test_a_fallback_is_told_span_by_span_and_sampled_per_attempt() -> None:
    o = _fell_back()
    batch = build_batch([o])
    [usage], [(decision, _)], [row] = batch.usage, batch.decisions, batch.traces
    trace = _valid(row, usage, decision)
    kinds = [(s["span_type"], s["status"], s["attributes"].get("endpoint_id")) for s in trace.spans]
    assert kinds[3:] == [
        ("provider.prefill", "error", "e1"),
        ("router.retry", "error", "e1"),
        ("provider.prefill", "error", "e1"),
        ("router.fallback", "ok", "e2"),
        ("provider.prefill", "ok", "e2"),
    ]
    assert usage["endpoint_id"] == "e2"
    assert usage["cost_actual"] == o.cost
    assert "error_class" not in usage
    samples = [
        (s.endpoint_id, s.endpoint_version, s.error_class, s.cost_usd) for s in batch.samples
    ]
    assert samples == [
        ("e1", "1.0.0", "timeout", None),
        ("e1", "1.0.0", "timeout", None),
        ("e2", "2.0.0", None, o.cost),
    ]
    assert trace.events[-1]["payload"] == {"samples": 3}


def test_a_request_no_endpoint_could_take_has_records_but_no_samples() -> None:
    o = replace(
        builders.observation("r-none"),
        executed=False,
        ok=False,
        error_class="no_eligible_endpoint",
        endpoint_id="none",
        provider_kind="none",
        model=None,
        cost_estimate=None,
        cost=None,
        attempts=[],
    )
    o.decision["chosen_endpoint_id"] = ""
    o.decision["scored_candidates"] = []
    batch = build_batch([o])
    [usage], [row] = batch.usage, batch.traces
    assert usage["error_class"] == "no_eligible_endpoint"
    assert "cost_actual" not in usage
    assert "model_id" not in usage
    assert batch.samples == []
    trace = RequestTrace.from_row(row)
    selection = next(s for s in trace.spans if s["span_type"] == "router.selection")
    assert selection["status"] == "error"
    assert "chosen_endpoint_id" not in selection["attributes"]
    assert not any(s["span_type"] == "request.failure" for s in trace.spans)  # never executed


def test_an_attempt_on_an_endpoint_gone_from_the_inventory_leaves_no_sample() -> None:
    o = _fell_back()
    o.attempts[0].endpoint_version = None
    assert [s.endpoint_id for s in build_batch([o]).samples] == ["e1", "e2"]
