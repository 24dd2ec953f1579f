"""End to end: the official openai SDK against a real `rolecall` gateway over scripted upstreams.

Runs on SQLite and PostgreSQL (the ``db_url`` fixture). ep-a is cheaper, so the cost strategy picks it
and ep-b is the fallback. Tests that fail no endpoint, change no script and count nothing but their
own requests share one gateway per backend (``shared_gateway``); the others get their own.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from rolecall.execution.failures import FALLBACK
from rolecall.protocol.validation import validate_artifact

from .conftest import FAST, SLOW, inventory
from .harness import Gateway

HELLO = [{"role": "user", "content": "hello"}]


def _chat(gw: Gateway, **kwargs: Any) -> Any:
    raw = gw.client().chat.completions.with_raw_response.create(
        model=kwargs.pop("model", "default"), messages=kwargs.pop("messages", HELLO), **kwargs
    )
    return raw.headers, raw.parse()


def test_sync_request_routes_and_reports(shared_gateway: Gateway) -> None:
    headers, completion = _chat(shared_gateway)
    assert completion.choices[0].message.content == "fast answer"
    assert completion.model == "model-a"
    assert headers["x-rolecall-endpoint"] == "ep-a"
    decision_id = headers["x-rolecall-decision-id"]
    status, decision = shared_gateway.admin(f"/api/decisions/{decision_id}")
    assert status == 200
    validate_artifact("router-decision", decision)
    assert decision["chosen_endpoint_id"] == "ep-a"
    assert decision["fallback_endpoint_ids"] == ["ep-b"]
    assert decision["policy_snapshot"]["strategy"] == "cost"


def test_records_are_stored_joined_and_schema_valid(gateway: Gateway) -> None:
    _check_records(gateway)


def test_records_through_the_writer_process(
    upstream_a: Any, upstream_b: Any, db_url: str, tmp_path: Path
) -> None:
    config = inventory(upstream_a, upstream_b)
    with Gateway(config, db_url, tmp_path, record_process=True) as gw:
        pid = getattr(gw.services.sink, "pid", None)
        assert pid is not None  # a separate process stores the records
        assert gw.services.recorder.on_loop_channel  # handed over by the event loop, no thread
        _check_records(gw)


def test_records_survive_the_writer_process_dying(
    upstream_a: Any, upstream_b: Any, db_url: str, tmp_path: Path
) -> None:
    config = inventory(upstream_a, upstream_b)
    with Gateway(config, db_url, tmp_path, record_process=True) as gw:
        _check_records(gw)
        pid = getattr(gw.services.sink, "pid", None)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        _check_records(gw)  # the loop's channel broke: stored by the gateway process instead
        assert not gw.services.recorder.on_loop_channel
        assert getattr(gw.services.sink, "pid", None) is None


def _check_records(gateway: Gateway) -> None:
    headers, _ = _chat(gateway)
    request_id = headers["x-rolecall-request-id"]
    status, record = gateway.admin(f"/api/requests/{request_id}")
    assert status == 200
    [usage] = record["usage"]
    validate_artifact("usage-event", usage)
    assert usage["endpoint_id"] == "ep-a"
    assert usage["routing_decision_id"] == headers["x-rolecall-decision-id"]
    assert usage["tokens_out"] > 0
    assert usage["cost_actual"] > 0
    span_types = [s["span_type"] for s in record["spans"]]
    assert {"router.eligibility", "router.scoring", "router.selection", "provider.prefill"} <= set(
        span_types
    )
    for span in record["spans"]:
        validate_artifact("trace-span", span)
        assert span["request_id"] == request_id
    assert len({s["trace_id"] for s in record["spans"]}) == 1
    events = {e["event_type"] for e in record["events"]}
    assert {"router.decision.created", "usage.event.created", "profile.sample.recorded"} <= events
    for event in record["events"]:
        validate_artifact("trace-event", event)


def test_live_samples_update_the_observed_profile(gateway: Gateway) -> None:
    for _ in range(3):
        _chat(gateway)
    # profiles are re-aggregated at most once a second per endpoint: wait for the refresh
    deadline = time.monotonic() + 5
    while True:
        status, body = gateway.admin("/api/endpoints")
        assert status == 200
        observed = {e["endpoint_id"]: e["observed"] for e in body["data"]}
        samples = (observed["ep-a"] or {}).get("sources", {}).get("live_request_samples", 0)
        if samples >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert observed["ep-a"] is not None
    validate_artifact("observed-performance-profile", observed["ep-a"])
    assert observed["ep-a"]["sources"]["live_request_samples"] >= 3
    assert observed["ep-a"]["failure_rate"] == 0


def test_async_client(shared_gateway: Gateway) -> None:
    async def run() -> list[str]:
        client = shared_gateway.async_client()
        results = await asyncio.gather(
            *(client.chat.completions.create(model="default", messages=HELLO) for _ in range(5))
        )
        await client.close()
        return [r.choices[0].message.content or "" for r in results]

    assert asyncio.run(run()) == ["fast answer"] * 5


def test_streaming(gateway: Gateway, upstream_a: Any) -> None:
    upstream_a.set_script(
        {"models": {"model-a": {"answer": "one two three four", "tokens_per_sec": 200}}}
    )
    stream = gateway.client().chat.completions.create(model="default", messages=HELLO, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "one two three four"


def test_tools_pass_through(gateway: Gateway, upstream_a: Any) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
    }
    upstream_a.set_script({"models": {"model-a": {"answer": "", "tool_calls": [call]}}})
    tools = [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    ]
    _, completion = _chat(gateway, tools=tools)
    [tool_call] = completion.choices[0].message.tool_calls
    assert tool_call.function.name == "get_weather"
    assert tool_call.function.arguments == '{"city":"Oslo"}'


@pytest.mark.parametrize(
    ("fail", "attempts_on_a"),
    [
        ({"kind": "status", "status": 500}, 2),
        ({"kind": "status", "status": 503}, 2),
        ({"kind": "status", "status": 429}, 2),
        ({"kind": "reset"}, 2),
        ({"kind": "garbage"}, 2),
        ({"kind": "status", "status": 401}, 1),
        ({"kind": "status", "status": 402}, 1),
    ],
)
def test_fallback_on_each_failure_class(
    gateway: Gateway, upstream_a: Any, fail: dict[str, Any], attempts_on_a: int
) -> None:
    upstream_a.set_script({"models": {"model-a": {**FAST, "fail": fail}}})
    headers, completion = _chat(gateway)
    assert completion.choices[0].message.content == "slow answer"
    assert headers["x-rolecall-endpoint"] == "ep-b"
    # first, while it lasts (the test schedule is 300 ms): ep-a is cooling down
    _status, cooldowns = gateway.admin("/api/cooldowns")
    assert [c["endpoint_id"] for c in cooldowns["data"]] == ["ep-a"]
    assert cooldowns["data"][0]["reason"] in FALLBACK
    assert gateway.services.recorder.flush(10.0)  # the records are in (the writer may lag)
    status, record = gateway.admin(f"/api/requests/{headers['x-rolecall-request-id']}")
    assert status == 200
    prefill = [s for s in record["spans"] if s["span_type"] == "provider.prefill"]
    # attempts within the same millisecond have no stored order: compare as a multiset
    assert sorted(s["attributes"]["endpoint_id"] for s in prefill) == ["ep-a"] * attempts_on_a + [
        "ep-b"
    ]
    kinds = {s["span_type"] for s in record["spans"]}
    assert "router.fallback" in kinds
    assert ("router.retry" in kinds) == (attempts_on_a == 2)


def test_retry_once_then_succeed_on_the_same_endpoint(gateway: Gateway, upstream_a: Any) -> None:
    upstream_a.set_script(
        {"models": {"model-a": {**FAST, "fail": {"kind": "status", "status": 502, "times": 1}}}}
    )
    headers, completion = _chat(gateway)
    assert headers["x-rolecall-endpoint"] == "ep-a"
    assert completion.choices[0].message.content == "fast answer"
    _status, cooldowns = gateway.admin("/api/cooldowns")
    assert cooldowns["data"] == []


def test_timeout_falls_back(upstream_a: Any, upstream_b: Any, db_url: str, tmp_path: Any) -> None:
    from .conftest import inventory

    upstream_a.set_script(
        {"models": {"model-a": {**FAST, "fail": {"kind": "timeout", "seconds": 3}}}}
    )
    with Gateway(inventory(upstream_a, upstream_b), db_url, tmp_path, upstream_timeout_s=0.3) as gw:
        started = time.monotonic()
        headers, _completion = _chat(gw)
        assert headers["x-rolecall-endpoint"] == "ep-b"
        assert time.monotonic() - started < 2.5


def test_invalid_request_is_terminal(gateway: Gateway, upstream_a: Any, upstream_b: Any) -> None:
    upstream_a.set_script(
        {"models": {"model-a": {**FAST, "fail": {"kind": "status", "status": 400}}}}
    )
    with pytest.raises(openai.BadRequestError):
        _chat(gateway)
    _status, cooldowns = gateway.admin("/api/cooldowns")
    assert cooldowns["data"] == []


def test_cooldown_is_entered_and_left(
    upstream_a: Any, upstream_b: Any, db_url: str, tmp_path: Path
) -> None:
    # the schedule scaled to 10 min × 0.005 = 3 s: long enough that a loaded machine cannot let it
    # lapse between two requests, short enough to wait out
    config = inventory(upstream_a, upstream_b)
    with Gateway(
        config, db_url, tmp_path, cooldown_scale=0.005, cooldown_consecutive_failures=2
    ) as gateway:
        _cooldown_round_trip(gateway, upstream_a)


def _cooldown_round_trip(gateway: Gateway, upstream_a: Any) -> None:
    upstream_a.set_script(
        {"models": {"model-a": {**FAST, "fail": {"kind": "status", "status": 500}}}}
    )
    headers, _ = _chat(gateway)
    assert headers["x-rolecall-endpoint"] == "ep-b"
    status, cooldowns = gateway.admin("/api/cooldowns")
    [entry] = cooldowns["data"]
    assert entry["endpoint_id"] == "ep-a"
    assert entry["active"]
    assert entry["level"] == 0
    # while cooling down, ep-a is excluded before any attempt
    headers, _ = _chat(gateway)
    status, decision = gateway.admin(f"/api/decisions/{headers['x-rolecall-decision-id']}")
    [excluded] = [e for e in decision["eligibility"] if e["endpoint_id"] == "ep-a"]
    assert excluded["exclusions"][0]["code"] == "PROVIDER_OFFLINE"
    assert decision["chosen_endpoint_id"] == "ep-b"
    # the schedule ends: ep-a is eligible again
    upstream_a.set_script({"models": {"model-a": FAST, "model-c": SLOW}})
    deadline = time.monotonic() + 15
    while gateway.admin("/api/cooldowns")[1]["data"][0]["active"]:
        assert time.monotonic() < deadline, "the cooldown never ended"
        time.sleep(0.1)
    headers, completion = _chat(gateway)
    status, decision = gateway.admin(f"/api/decisions/{headers['x-rolecall-decision-id']}")
    assert status == 200
    [entry] = [e for e in decision["eligibility"] if e["endpoint_id"] == "ep-a"]
    assert entry["eligible"] is True
    # ...but its two failed attempts are live evidence (reliability 0), so ep-b still wins on score
    breakdown = {s["endpoint_id"]: s["metric_breakdown"] for s in decision["scored_candidates"]}
    assert breakdown["ep-a"]["reliability"]["value"] == 0.0
    assert breakdown["ep-a"]["reliability"]["source"] == "measured"
    assert decision["chosen_endpoint_id"] == "ep-b"
    # pinning ep-a proves it serves again, and a success ends the cooldown record
    headers, completion = _chat(gateway, model="ep-a")
    assert completion.choices[0].message.content == "fast answer"
    _status, cooldowns = gateway.admin("/api/cooldowns")
    assert cooldowns["data"] == []


def test_stream_falls_back_before_the_first_token(gateway: Gateway, upstream_a: Any) -> None:
    upstream_a.set_script(
        {"models": {"model-a": {**FAST, "fail": {"kind": "status", "status": 500}}}}
    )
    stream = gateway.client().chat.completions.create(model="default", messages=HELLO, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text.replace(" ", "") == "slowanswer"


def test_stream_cut_after_first_token_ends_with_an_error_event(
    gateway: Gateway, upstream_a: Any
) -> None:
    upstream_a.set_script(
        {
            "models": {
                "model-a": {"answer": "a b c d e f", "fail": {"kind": "cut", "after_chunks": 2}}
            }
        }
    )
    stream = gateway.client().chat.completions.create(model="default", messages=HELLO, stream=True)
    received: list[str] = []

    def consume() -> None:
        for chunk in stream:
            if chunk.choices:
                received.append(chunk.choices[0].delta.content or "")

    with pytest.raises(openai.APIError):
        consume()
    assert "".join(received)  # the first tokens did arrive before the clean error


def test_models_and_discovery(shared_gateway: Gateway) -> None:
    ids = {m.id for m in shared_gateway.client().models.list()}
    assert {"default", "baseline.local-only", "general.chat", "coder.patch", "ep-a", "ep-b"} <= ids
    status, body = shared_gateway.raw(
        "/v1/rolecall/discovery", None, {"authorization": f"Bearer {shared_gateway.api_key}"}
    )
    assert status == 200
    default = next(d for d in body["data"] if d["id"] == "default")
    assert default["routable_endpoints"] == 2
    assert default["context_window"] >= 1
    local_only = next(d for d in body["data"] if d["id"] == "default.local-only")
    assert local_only["routable_endpoints"] == 0


def test_model_selects_endpoint_or_role(shared_gateway: Gateway) -> None:
    headers, _completion = _chat(shared_gateway, model="ep-b")
    assert headers["x-rolecall-endpoint"] == "ep-b"
    headers, _ = _chat(shared_gateway, model="general.chat")
    _status, decision = shared_gateway.admin(f"/api/decisions/{headers['x-rolecall-decision-id']}")
    assert "ROLE_POLICY_APPLIED" in decision["selection_reasons"]


def test_per_request_strategy_header(shared_gateway: Gateway) -> None:
    client = shared_gateway.client(default_headers={"x-rolecall-strategy": "quality"})
    raw = client.chat.completions.with_raw_response.create(model="default", messages=HELLO)
    _status, decision = shared_gateway.admin(
        f"/api/decisions/{raw.headers['x-rolecall-decision-id']}"
    )
    assert decision["policy_snapshot"]["strategy"] == "quality"


def test_decision_only_scope(shared_gateway: Gateway) -> None:
    status, body = shared_gateway.raw(
        "/v1/chat/completions",
        b'{"model":"default.decision-only","messages":[{"role":"user","content":"hi"}]}',
        {"authorization": f"Bearer {shared_gateway.api_key}"},
    )
    assert status == 200
    assert body["object"] == "rolecall.decision"
    validate_artifact("router-decision", body["decision"])


def test_local_only_scope_has_no_endpoint(shared_gateway: Gateway) -> None:
    status, body = shared_gateway.raw(
        "/v1/chat/completions",
        b'{"model":"default.local-only","messages":[{"role":"user","content":"hi"}]}',
        {"authorization": f"Bearer {shared_gateway.api_key}"},
    )
    assert status == 400
    assert body["error"]["code"] == "no_eligible_endpoint"
    assert "POLICY_DENY_REMOTE" in body["error"]["message"]
