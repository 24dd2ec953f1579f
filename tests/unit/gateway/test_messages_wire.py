"""Chat replies → Anthropic messages and stream events, and Anthropic's error objects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from rolecall.gateway.messages_stream import MessageEvents, message_stream
from rolecall.gateway.messages_wire import (
    from_openai_error,
    message,
    render_error,
    stop_of,
    tool_input,
    usage,
)
from rolecall.gateway.wire import WireError, error_body


def _completion(said: dict[str, Any], finish: str = "stop", **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "model-a",
        "choices": [{"index": 0, "message": said, "finish_reason": finish, **extra}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    }


def test_a_text_answer_becomes_a_message() -> None:
    out = message(_completion({"role": "assistant", "content": "hi"}), "msg_1", "ep", [], 9)
    assert out == {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "model-a",
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 12,
            "output_tokens": 3,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def test_tool_calls_become_tool_use_blocks() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
    said = {"role": "assistant", "content": None, "tool_calls": [call]}
    out = message(_completion(said, "tool_calls"), "msg_1", "ep", [], 9)
    assert out["content"] == [{"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}}]
    assert out["stop_reason"] == "tool_use"
    # a server that finishes a tool call with "stop" still says tool_use
    assert message(_completion(said, "stop"), "m", "ep", [], 9)["stop_reason"] == "tool_use"


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"finish_reason": "stop"}, ("end_turn", None)),
        ({"finish_reason": "length"}, ("max_tokens", None)),
        ({"finish_reason": "tool_calls"}, ("tool_use", None)),
        ({"finish_reason": "content_filter"}, ("refusal", None)),
        ({"finish_reason": "stop", "stop_reason": "END"}, ("stop_sequence", "END")),
        ({"finish_reason": "stop", "stop_reason": "other"}, ("end_turn", None)),
        ({"finish_reason": None}, (None, None)),
    ],
)
def test_stop_reasons(choice: dict[str, Any], expected: tuple[str | None, str | None]) -> None:
    assert stop_of(choice, ["END"]) == expected


def test_usage_cached_tokens_and_the_estimate() -> None:
    reported = {
        "prompt_tokens": 100,
        "completion_tokens": 5,
        "prompt_tokens_details": {"cached_tokens": 60},
    }
    assert usage(reported, 7) == {
        "input_tokens": 40,
        "output_tokens": 5,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 60,
    }
    assert usage(None, 7)["input_tokens"] == 7
    assert usage({"prompt_tokens": "lots"}, 7)["input_tokens"] == 7


def test_tool_input_keeps_what_is_not_an_object() -> None:
    assert tool_input('{"a": 1}') == {"a": 1}
    assert tool_input("") == {}
    assert tool_input("[1]") == {"arguments": "[1]"}
    assert tool_input("{broken") == {"arguments": "{broken"}


def test_errors_in_anthropic_shape() -> None:
    body = orjson.loads(render_error(WireError(400, "must be a string", param="system")))
    assert body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "system: must be a string"},
    }
    assert orjson.loads(render_error(WireError(401, "bad key")))["error"]["type"] == (
        "authentication_error"
    )
    relayed = from_openai_error(503, error_body("no eligible endpoint", "service_unavailable"))
    assert orjson.loads(relayed)["error"] == {
        "type": "overloaded_error",
        "message": "no eligible endpoint",
    }
    assert orjson.loads(from_openai_error(502, b"not json"))["error"]["type"] == "api_error"
    assert orjson.loads(from_openai_error(429, b"{}"))["error"]["type"] == "rate_limit_error"


def _events(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in raw.decode().strip().split("\n\n"):
        name, data = block.split("\n")
        out.append((name.removeprefix("event: "), orjson.loads(data.removeprefix("data: "))))
    return out


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}


def test_stream_text_then_tool_call() -> None:
    events = MessageEvents("msg_1", "model-a", [], 9)
    raw = events.start()
    raw += events.chunk(_chunk({"role": "assistant", "content": ""}))
    raw += events.chunk(_chunk({"content": "Let "}))
    raw += events.chunk(_chunk({"content": "me."}))
    call = {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": ""}}
    raw += events.chunk(_chunk({"tool_calls": [call]}))
    raw += events.chunk(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}))
    raw += events.chunk(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}))
    raw += events.chunk(_chunk({}, "tool_calls"))
    raw += events.chunk({"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 4}})
    raw += events.end()
    names = [name for name, _ in _events(raw)]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    parsed = [data for _, data in _events(raw)]
    assert parsed[0]["message"]["usage"]["input_tokens"] == 9  # the estimate, until the end
    assert parsed[5]["content_block"] == {
        "type": "tool_use",
        "id": "call_1",
        "name": "f",
        "input": {},
    }
    assert parsed[6]["delta"] == {"type": "input_json_delta", "partial_json": '{"a":'}
    assert parsed[9]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert parsed[9]["usage"]["input_tokens"] == 12
    assert parsed[9]["usage"]["output_tokens"] == 4


def test_stream_without_usage_counts_deltas() -> None:
    events = MessageEvents("msg_1", "model-a", [], 9)
    events.chunk(_chunk({"content": "a"}))
    events.chunk(_chunk({"content": "b"}, "length"))
    [(_, stop), (_, delta), _] = _events(events.end())
    assert stop["type"] == "content_block_stop"
    assert delta["delta"]["stop_reason"] == "max_tokens"
    assert delta["usage"]["output_tokens"] == 2


def test_message_stream_ends_with_an_error_event_when_cut_and_drains_the_relay() -> None:
    drained: list[str] = []

    async def relay() -> AsyncIterator[bytes]:
        yield b"data: " + orjson.dumps(_chunk({"content": "a"})) + b"\n\n"
        yield b"data: " + error_body("upstream stream was cut", "upstream_error") + b"\n\n"
        yield b"data: [DONE]\n\n"
        drained.append("done")

    async def collect() -> bytes:
        events = MessageEvents("msg_1", "m", [], 1)
        return b"".join([event async for event in message_stream(relay(), events)])

    parsed = _events(asyncio.run(collect()))
    assert [name for name, _ in parsed][-1] == "error"
    assert parsed[-1][1] == {
        "type": "error",
        "error": {"type": "api_error", "message": "upstream stream was cut"},
    }
    assert "message_stop" not in [name for name, _ in parsed]
    assert drained == ["done"]
