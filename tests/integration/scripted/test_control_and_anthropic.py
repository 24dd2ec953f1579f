"""Control routes (/_script, /_stats, /_reset, /health) and the Anthropic Messages format, over plain
HTTP; script loading and its errors."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import openai
import pytest

from rolecall.providers.scripted import ScriptError, UpstreamHandle, load_script

from .conftest import HELLO, http, http_json

ANTHROPIC_HEADERS = {"x-api-key": "sk-ant", "anthropic-version": "2023-06-01"}
TOOL = {"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}


def _messages(upstream: UpstreamHandle, **body: Any) -> tuple[int, dict[str, str], bytes]:
    payload = {"model": "m", "max_tokens": 64, "messages": HELLO, **body}
    return http(f"{upstream.base_url}/messages", payload, method="POST", headers=ANTHROPIC_HEADERS)


def _events(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in raw.decode().strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_put_script_changes_behaviour_live(client: openai.OpenAI, upstream: UpstreamHandle) -> None:
    assert client.chat.completions.create(model="m", messages=HELLO).choices[0].message.content
    status, body = http_json(
        f"{upstream.root_url}/_script", {"models": {"m": {"answer": "changed"}}}, method="PUT"
    )
    assert (status, body["models"]) == (200, ["m"])
    assert (
        client.chat.completions.create(model="m", messages=HELLO).choices[0].message.content
        == "changed"
    )


def test_put_script_rejects_a_malformed_script_naming_the_field(upstream: UpstreamHandle) -> None:
    bad = {"models": {"m": {"fail": {"kind": "explode"}}}}
    status, body = http_json(f"{upstream.root_url}/_script", bad, method="PUT")
    assert status == 400
    assert body["error"]["path"] == "models.m.fail.kind"
    status, _ = http_json(f"{upstream.root_url}/health")
    assert status == 200  # the old script still plays


def test_stats_count_and_hide_credentials(client: openai.OpenAI, upstream: UpstreamHandle) -> None:
    upstream.set_script({"models": {"m": {"fail": {"kind": "status", "status": 500, "times": 1}}}})
    for _ in range(3):
        with contextlib.suppress(openai.InternalServerError):
            client.chat.completions.create(
                model="m", messages=HELLO, extra_headers={"x-trace": "t1"}
            )
    status, stats = http_json(f"{upstream.root_url}/_stats")
    model = stats["models"]["m"]
    assert (status, stats["requests"], model["requests"], model["failures"]) == (200, 3, 3, 1)
    assert model["failures_by_kind"] == {"status": 1}
    assert model["last_headers"]["x-trace"] == "t1"
    assert not {"authorization", "x-api-key"} & {k.lower() for k in model["last_headers"]}
    assert model["last_body"]["messages"] == HELLO
    status, _ = http_json(f"{upstream.root_url}/_reset", {}, method="POST")
    assert (status, upstream.stats()["requests"]) == (200, 0)


def test_health(upstream: UpstreamHandle) -> None:
    assert http_json(f"{upstream.root_url}/health") == (200, {"status": "ok", "models": ["m"]})


def test_anthropic_message(upstream: UpstreamHandle) -> None:
    status, _, raw = _messages(upstream, system="be brief please")
    body = json.loads(raw)
    assert status == 200
    assert (body["type"], body["role"], body["model"]) == ("message", "assistant", "m")
    assert body["id"].startswith("msg_")
    assert body["content"] == [{"type": "text", "text": "one two three four"}]
    assert body["stop_reason"] == "end_turn"
    assert body["usage"] == {"input_tokens": 7, "output_tokens": 4}  # 5 words × 1.3


def test_anthropic_stream_event_sequence(upstream: UpstreamHandle) -> None:
    status, headers, raw = _messages(upstream, stream=True)
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    events = _events(raw)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * 4,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in events)
    text = "".join(data["delta"]["text"] for name, data in events if name == "content_block_delta")
    assert text == "one two three four"
    assert events[0][1]["message"]["usage"]["input_tokens"] == 3
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"
    assert events[-2][1]["usage"] == {"output_tokens": 4}


def test_anthropic_tool_use_in_both_modes(upstream: UpstreamHandle) -> None:
    upstream.set_script({"models": {"m": {"answer": "calling", "tool_calls": [TOOL]}}})
    body = json.loads(_messages(upstream)[2])
    assert body["stop_reason"] == "tool_use"
    assert body["content"][1] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "f",
        "input": {"x": 1},
    }
    events = _events(_messages(upstream, stream=True)[2])
    starts = [data["content_block"] for name, data in events if name == "content_block_start"]
    assert [block["type"] for block in starts] == ["text", "tool_use"]
    partial = [
        d["delta"]["partial_json"]
        for _, d in events
        if d.get("delta", {}).get("type") == "input_json_delta"
    ]
    assert json.loads("".join(partial)) == {"x": 1}


def test_anthropic_requires_key_and_version(upstream: UpstreamHandle) -> None:
    payload = {"model": "m", "max_tokens": 8, "messages": HELLO}
    for headers in ({}, {"x-api-key": "k"}, {"anthropic-version": "2023-06-01"}):
        status, _, raw = http(
            f"{upstream.base_url}/messages", payload, method="POST", headers=headers
        )
        assert status == 401
        assert json.loads(raw)["error"]["type"] == "authentication_error"


def test_anthropic_errors_use_its_shape(upstream: UpstreamHandle) -> None:
    status, _, raw = _messages(upstream, model="nope")
    assert (status, json.loads(raw)["error"]["type"]) == (404, "not_found_error")
    upstream.set_script({"models": {"m": {"fail": {"kind": "status", "status": 429}}}})
    status, _, raw = _messages(upstream)
    assert (status, json.loads(raw)["error"]["type"]) == (429, "rate_limit_error")


def test_script_loads_from_yaml_and_json_files(tmp_path: Path) -> None:
    yaml_file = tmp_path / "script.yaml"
    yaml_file.write_text(
        "models:\n  m:\n    answer: hi\n    fail: {kind: status, status: 503, times: 1}\n"
    )
    json_file = tmp_path / "script.json"
    json_file.write_text(json.dumps({"models": {"m": {"answer": "hi"}}, "seed": 7}))
    assert load_script(yaml_file).models["m"].fail.status == 503  # type: ignore[union-attr]
    assert load_script(json_file).seed == 7


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"models": {"m": {"latency_ms": -1}}}, "models.m.latency_ms"),
        ({"models": {"m": {"answr": "typo"}}}, "models.m.answr"),
        ({"models": {"m": {"fail": {"kind": "status", "status": 200}}}}, "models.m.fail.status"),
        ({"models": {"m": {}}, "rules": [{"model": "x"}]}, "rules.0.model"),
        ({"rules": []}, "models"),
        (["not", "a", "mapping"], "$"),
    ],
)
def test_malformed_scripts_name_the_field(data: Any, path: str) -> None:
    with pytest.raises(ScriptError) as raised:
        load_script(data)
    assert raised.value.path == path
    assert path in str(raised.value)
