"""Chat stream chunks → Responses events: order, sequence numbers, ids, and the final Response,
each event parsed by the openai SDK's own event models."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from rolecall.gateway.responses_stream import ResponseEvents, responses_stream
from rolecall.gateway.responses_wire import new_response_id, responses_call

EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return b"data: " + orjson.dumps({"model": "model-a", "choices": [choice], **extra}) + b"\n\n"


USAGE = b"data: " + orjson.dumps(
    {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
)
USAGE += b"\n\n"


async def _relay(events: list[bytes], closed: list[bool]) -> AsyncIterator[bytes]:
    try:
        for event in events:
            yield event
    finally:
        closed.append(True)


def _run(chat: list[bytes]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[bool]]:
    echo = responses_call({"model": "default", "input": "x"}, {}).echo
    events = ResponseEvents(echo, new_response_id(), 1, "default")
    closed: list[bool] = []

    async def collect() -> bytes:
        stream = responses_stream(_relay(chat, closed), events)
        return b"".join([part async for part in stream])

    raw = asyncio.run(collect())
    done = [] if events.final is None else [events.final]  # what the door stores
    parsed = []
    for block in raw.split(b"\n\n")[:-1]:
        head, data = block.split(b"\n", 1)
        event = orjson.loads(data.removeprefix(b"data: "))
        assert head == b"event: " + event["type"].encode()
        EVENT.validate_python(event)  # the SDK's own model of that event type
        parsed.append(event)
    assert [e["sequence_number"] for e in parsed] == list(range(len(parsed)))
    return parsed, done, closed


def test_text_streams_as_one_message_item() -> None:
    chat = [
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"content": "hel"}),
        _chunk({"content": "lo"}),
        _chunk({}, "stop"),
        USAGE,
        b"data: [DONE]\n\n",
    ]
    events, done, closed = _run(chat)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    item_id = events[2]["item"]["id"]
    assert {e["item_id"] for e in events[3:8]} == {item_id} == {events[8]["item"]["id"]}
    assert events[6]["text"] == "hello"
    final = events[-1]["response"]
    assert final["status"] == "completed"
    assert final["model"] == "model-a"
    assert final["output"][0]["content"][0]["text"] == "hello"
    assert final["usage"]["total_tokens"] == 5
    assert done == [final]
    assert closed == [True]


def test_tool_calls_stream_as_function_call_items() -> None:
    first = {
        "index": 0,
        "id": "call_a",
        "type": "function",
        "function": {"name": "f", "arguments": ""},
    }
    second = {
        "index": 1,
        "id": "call_b",
        "type": "function",
        "function": {"name": "g", "arguments": "{}"},
    }
    chat = [
        _chunk({"content": "checking"}),
        _chunk({"tool_calls": [first]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
        _chunk({"tool_calls": [second]}),
        _chunk({}, "tool_calls"),
        b"data: [DONE]\n\n",
    ]  # fmt: skip
    events, done, _ = _run(chat)
    kinds = [e["type"] for e in events]
    assert kinds.count("response.output_item.added") == 3
    assert kinds.count("response.output_item.done") == 3
    arguments = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert [a["arguments"] for a in arguments] == ['{"a":1}', "{}"]
    # the message closes before the first call opens; each item's events use its own index
    assert kinds.index("response.output_item.done") < kinds.index(
        "response.function_call_arguments.delta"
    )
    final = done[0]
    assert [i["type"] for i in final["output"]] == ["message", "function_call", "function_call"]
    assert [i.get("call_id") for i in final["output"][1:]] == ["call_a", "call_b"]
    assert final["usage"] is None  # the upstream sent none


def test_a_cut_stream_ends_with_error_and_response_failed() -> None:
    cut = {
        "message": "upstream stream was cut",
        "type": "upstream_error",
        "code": "stream_truncated",
    }
    error = b"data: " + orjson.dumps({"error": {**cut, "param": None}}) + b"\n\n"
    events, done, closed = _run([_chunk({"content": "par"}), error, b"data: [DONE]\n\n"])
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert events[-2]["code"] == "stream_truncated"
    failed = events[-1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"]["message"] == "upstream stream was cut"
    assert failed["output"][0]["content"][0]["text"] == "par"
    assert done == []  # a failed response is not stored
    assert closed == [True]


def test_a_length_cut_is_incomplete() -> None:
    events, done, _ = _run([_chunk({"content": "a"}), _chunk({}, "length"), b"data: [DONE]\n\n"])
    assert events[-1]["type"] == "response.incomplete"
    assert done[0]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert done[0]["output"][0]["status"] == "incomplete"


def test_garbage_chunks_are_skipped() -> None:
    chat = [b"data: not json\n\n", b"data: [1]\n\n", _chunk({"content": "ok"}, "stop")]
    chat.append(b"data: [DONE]\n\n")
    _events, done, _ = _run(chat)
    assert done[0]["output"][0]["content"][0]["text"] == "ok"
