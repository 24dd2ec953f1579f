"""OpenTelemetry end to end: a real gateway (its record writer process exports), scripted
upstreams that keep the ``traceparent`` each request carried, the official openai SDK as the
caller, and a real OTLP/HTTP receiver decoding the protobuf wire. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.gateway.conftest import FAST, SLOW, inventory
from tests.integration.gateway.harness import Gateway, refusing_port

from .otlp_receiver import OtlpReceiver, ReceivedSpan

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture
def upstream_a() -> Iterator[Any]:
    handle = ScriptedUpstream.start_in_thread({"models": {"model-a": FAST}})
    yield handle
    handle.stop()


@pytest.fixture
def upstream_b() -> Iterator[Any]:
    handle = ScriptedUpstream.start_in_thread({"models": {"model-b": SLOW}})
    yield handle
    handle.stop()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    # the batch processor sends every 100 ms (the SDK's variable, captured at the gateway's start)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture
def traced(
    receiver: OtlpReceiver, upstream_a: Any, upstream_b: Any, db_url: str, tmp_path: Path
) -> Iterator[Gateway]:
    """A gateway exporting to the receiver, its records stored by the writer process."""
    config = inventory(upstream_a, upstream_b)
    with Gateway(config, db_url, tmp_path, otel_endpoint=receiver.endpoint) as gw:
        assert getattr(gw.services.sink, "pid", None) is not None  # the writer process exports
        yield gw


def _chat(gw: Gateway, traceparent: str | None = None, **kwargs: Any) -> tuple[Any, Any]:
    headers = {} if traceparent is None else {"traceparent": traceparent}
    headers.update(kwargs.pop("extra_headers", {}))
    raw = gw.client().chat.completions.with_raw_response.create(
        model="default", messages=HELLO, extra_headers=headers, **kwargs
    )
    return raw.headers, raw.parse()


def _of_trace(trace_id: str, count: int = 1) -> Any:
    """Done once ``count`` request spans of ``trace_id`` have arrived with their children."""

    def done(spans: list[ReceivedSpan]) -> bool:
        mine = [s for s in spans if s.trace_id == trace_id]
        roots = [s for s in mine if s.kind == "server"]
        return len(roots) >= count and any(s.name == "provider.prefill" for s in mine)

    return done


def _traceparent_parts(value: str) -> tuple[str, str, str, str]:
    version, trace_id, parent_id, flags = value.split("-")
    return version, trace_id, parent_id, flags


def test_the_callers_trace_is_continued_exported_and_propagated(
    traced: Gateway, receiver: OtlpReceiver, upstream_a: Any
) -> None:
    caller = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
    headers, completion = _chat(
        traced,
        caller,
        extra_headers={"tracestate": "vendor=abc"},
        temperature=0.25,
        max_tokens=50,
    )
    assert completion.choices[0].message.content == "fast answer"

    spans = [s for s in receiver.wait_for(_of_trace(CALLER_TRACE)) if s.trace_id == CALLER_TRACE]
    [root] = [s for s in spans if s.kind == "server"]
    assert root.parent_span_id == CALLER_SPAN
    assert root.name == "chat default"
    assert not root.error
    attrs = root.attributes
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == "default"
    assert attrs["gen_ai.response.model"] == "model-a"
    assert attrs["gen_ai.provider.name"] == attrs["gen_ai.system"] == "openai"
    assert attrs["gen_ai.usage.input_tokens"] == completion.usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens
    assert attrs["gen_ai.request.temperature"] == 0.25
    assert attrs["gen_ai.request.max_tokens"] == 50
    assert attrs["rolecall.request_id"] == headers["x-rolecall-request-id"]
    assert attrs["rolecall.decision_id"] == headers["x-rolecall-decision-id"]
    assert attrs["rolecall.endpoint_id"] == "ep-a"
    assert attrs["rolecall.strategy"] == "cost"
    assert attrs["rolecall.fallback"] is False
    assert "router.decision.created" in [name for name, _ in root.events]
    assert root.resource["service.name"] == "rolecall"

    [attempt] = [s for s in spans if s.kind == "client"]
    assert attempt.parent_span_id == root.span_id
    assert attempt.name == "chat model-a"
    assert attempt.attributes["server.address"] == "127.0.0.1"
    assert attempt.attributes["server.port"] == upstream_a.port
    assert attempt.attributes["gen_ai.request.model"] == "model-a"
    assert attempt.attributes["rolecall.endpoint_id"] == "ep-a"
    by_name = {s.name: s for s in spans if s.kind == "internal"}
    for name in ("router.eligibility", "router.scoring", "router.selection"):
        assert by_name[name].parent_span_id == root.span_id
    assert by_name["provider.prefill"].parent_span_id == attempt.span_id
    assert root.start_ns <= attempt.start_ns <= attempt.end_ns <= root.end_ns

    # the upstream saw the same trace, its parent the attempt's span, and the caller's state
    sent = upstream_a.stats()["models"]["model-a"]
    version, trace_id, parent_id, flags = _traceparent_parts(sent["traceparents"][-1])
    assert (version, trace_id, parent_id, flags) == ("00", CALLER_TRACE, attempt.span_id, "01")
    assert sent["last_headers"]["tracestate"] == "vendor=abc"

    # the stored role-model trace is the same trace, its spans the ones exported
    status, record = traced.admin(f"/api/requests/{headers['x-rolecall-request-id']}")
    assert status == 200
    stored = {s["span_id"]: s for s in record["spans"]}
    assert {s["trace_id"] for s in record["spans"]} == {CALLER_TRACE}
    assert set(stored) == {s.span_id for s in spans if s.kind == "internal"}
    prefill = next(s for s in stored.values() if s["span_type"] == "provider.prefill")
    assert prefill["parent_span_id"] == attempt.span_id


def test_every_attempt_carries_its_own_span(
    traced: Gateway, receiver: OtlpReceiver, upstream_a: Any, upstream_b: Any
) -> None:
    upstream_a.set_script(
        {"models": {"model-a": {**FAST, "fail": {"kind": "status", "status": 503}}}}
    )
    headers, completion = _chat(traced, f"00-{CALLER_TRACE}-{CALLER_SPAN}-01")
    assert headers["x-rolecall-endpoint"] == "ep-b"
    assert completion.choices[0].message.content == "slow answer"

    spans = [s for s in receiver.wait_for(_of_trace(CALLER_TRACE)) if s.trace_id == CALLER_TRACE]
    attempts = {s.span_id: s for s in spans if s.kind == "client"}
    failed = [s for s in attempts.values() if s.attributes["rolecall.endpoint_id"] == "ep-a"]
    [answered] = [s for s in attempts.values() if s.attributes["rolecall.endpoint_id"] == "ep-b"]
    assert failed  # the first try, and its quick retry when the schedule allows one
    for span in failed:
        assert span.error
        assert span.attributes["error.type"] == "upstream_5xx"
        assert span.attributes["http.response.status_code"] == 503
    assert not answered.error
    assert answered.attributes["rolecall.fallback"] is True
    assert answered.attributes["gen_ai.response.model"] == "model-b"
    [root] = [s for s in spans if s.kind == "server"]
    assert root.attributes["rolecall.fallback"] is True
    assert root.attributes["rolecall.attempts"] == len(attempts)

    # each upstream request named its own attempt's span, in the caller's trace
    sent = [
        *upstream_a.stats()["models"]["model-a"]["traceparents"],
        *upstream_b.stats()["models"]["model-b"]["traceparents"],
    ]
    parents = [_traceparent_parts(value)[2] for value in sent]
    assert {_traceparent_parts(value)[1] for value in sent} == {CALLER_TRACE}
    assert sorted(parents) == sorted(attempts)
    fallback = next(s for s in spans if s.name == "router.fallback")
    assert fallback.parent_span_id == answered.span_id


def test_a_stream_is_traced_to_its_end(
    traced: Gateway, receiver: OtlpReceiver, upstream_a: Any
) -> None:
    stream = traced.client().chat.completions.create(
        model="default",
        messages=HELLO,
        stream=True,
        extra_headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"},
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "fast answer"
    spans = [s for s in receiver.wait_for(_of_trace(CALLER_TRACE)) if s.trace_id == CALLER_TRACE]
    [attempt] = [s for s in spans if s.kind == "client"]
    decode = next(s for s in spans if s.name == "provider.decode")
    assert decode.parent_span_id == attempt.span_id
    assert attempt.end_ns >= decode.end_ns  # the attempt lasts until the relay ended
    assert attempt.attributes["gen_ai.usage.output_tokens"] > 0
    sent = upstream_a.stats()["models"]["model-a"]["traceparents"][-1]
    assert _traceparent_parts(sent)[2] == attempt.span_id


MALFORMED = (
    "not-a-traceparent",
    f"00-{CALLER_TRACE.upper()}-{CALLER_SPAN}-01",  # upper-case hex
    f"00-{'0' * 32}-{CALLER_SPAN}-01",  # all-zero trace id
    f"00-{CALLER_TRACE}-{'0' * 16}-01",  # all-zero parent id
    f"ff-{CALLER_TRACE}-{CALLER_SPAN}-01",  # the forbidden version
    f"00-{CALLER_TRACE}-{CALLER_SPAN}-01-extra",  # version 00 has exactly four fields
    f"00-{CALLER_TRACE[:-1]}-{CALLER_SPAN}-01",  # short trace id
)


def test_a_malformed_traceparent_starts_a_new_trace(
    traced: Gateway, receiver: OtlpReceiver, upstream_a: Any
) -> None:
    for malformed in MALFORMED:
        headers, completion = _chat(traced, malformed)
        assert completion.choices[0].message.content == "fast answer", malformed
        status, record = traced.admin(f"/api/requests/{headers['x-rolecall-request-id']}")
        assert status == 200
        [trace_id] = {s["trace_id"] for s in record["spans"]}
        assert trace_id not in malformed.lower(), malformed
        assert len(trace_id) == 32
        spans = [s for s in receiver.wait_for(_of_trace(trace_id)) if s.trace_id == trace_id]
        [root] = [s for s in spans if s.kind == "server"]
        assert root.parent_span_id == "", malformed  # a root: no caller span
        [attempt] = [s for s in spans if s.kind == "client"]
        sent = upstream_a.stats()["models"]["model-a"]["traceparents"][-1]
        assert _traceparent_parts(sent)[1:3] == (trace_id, attempt.span_id), malformed


def test_an_unsampled_trace_is_propagated_but_not_exported(
    traced: Gateway, receiver: OtlpReceiver, upstream_a: Any
) -> None:
    unsampled = "1" * 32
    _chat(traced, f"00-{unsampled}-{CALLER_SPAN}-00")
    sent = upstream_a.stats()["models"]["model-a"]["traceparents"][-1]
    _version, trace_id, parent_id, flags = _traceparent_parts(sent)
    assert (trace_id, flags) == (unsampled, "00")
    assert parent_id != CALLER_SPAN  # still our attempt's span: the trace goes on through us
    _chat(traced, f"00-{CALLER_TRACE}-{CALLER_SPAN}-01")  # stored and exported after the first
    spans = receiver.wait_for(_of_trace(CALLER_TRACE))
    assert all(s.trace_id != unsampled for s in spans)


def test_a_receiver_that_is_down_costs_nothing_on_the_wire(
    upstream_a: Any, upstream_b: Any, db_url: str, tmp_path: Path
) -> None:
    config = inventory(upstream_a, upstream_b)
    with (
        refusing_port() as port,  # nothing listens there
        Gateway(config, db_url, tmp_path, otel_endpoint=f"http://127.0.0.1:{port}") as gw,
    ):
        for _ in range(3):
            headers, completion = _chat(gw, f"00-{CALLER_TRACE}-{CALLER_SPAN}-01")
            assert completion.choices[0].message.content == "fast answer"
            status, record = gw.admin(f"/api/requests/{headers['x-rolecall-request-id']}")
            assert status == 200
            assert {s["trace_id"] for s in record["spans"]} == {CALLER_TRACE}
        sent = upstream_a.stats()["models"]["model-a"]["traceparents"]
        assert len(sent) == 3


def test_without_export_the_callers_headers_pass_through(
    upstream_a: Any, upstream_b: Any, db_url: str, tmp_path: Path
) -> None:
    caller = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
    with Gateway(inventory(upstream_a, upstream_b), db_url, tmp_path) as gw:
        headers, _ = _chat(gw, caller, extra_headers={"tracestate": "vendor=abc"})
        model = upstream_a.stats()["models"]["model-a"]
        assert model["traceparents"] == [caller]  # not a parent nobody exported
        assert model["last_headers"]["tracestate"] == "vendor=abc"
        status, record = gw.admin(f"/api/requests/{headers['x-rolecall-request-id']}")
        assert status == 200
        assert {s["trace_id"] for s in record["spans"]} == {CALLER_TRACE}
        _chat(gw)
        assert upstream_a.stats()["models"]["model-a"]["traceparents"] == [caller]
