"""Legacy completions → chat bodies, and chat replies → text completions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from rolecall.gateway.completions import (
    chat_body,
    completion_stream,
    stream_chunk,
    text_completion,
)
from rolecall.gateway.wire import WireError, error_body


def test_a_prompt_becomes_one_user_message_with_the_default_cap() -> None:
    for prompt in ("Say hi", ["Say hi"]):
        out = chat_body({"model": "default", "prompt": prompt, "temperature": 0.5, "n": 1})
        assert out == {
            "model": "default",
            "messages": [{"role": "user", "content": "Say hi"}],
            "temperature": 0.5,
            "max_tokens": 16,
        }
    assert chat_body({"model": "m", "prompt": "x", "max_tokens": 99})["max_tokens"] == 99


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"prompt": ["a", "b"]}, "prompt"),
        ({"prompt": [1, 2, 3]}, "prompt"),
        ({"prompt": [[1, 2]]}, "prompt"),
        ({"prompt": None}, "prompt"),
        ({"prompt": []}, "prompt"),
        ({"n": 2}, "n"),
        ({"n": True}, "n"),
        ({"best_of": 3}, "best_of"),
        ({"echo": True}, "echo"),
        ({"logprobs": 2}, "logprobs"),
        ({"suffix": "end"}, "suffix"),
    ],
)
def test_what_a_chat_model_cannot_honour_is_a_400_naming_it(
    fields: dict[str, Any], param: str
) -> None:
    with pytest.raises(WireError) as caught:
        chat_body({"model": "default", "prompt": "x", **fields})
    assert (caught.value.status, caught.value.param) == (400, param)
    assert f"'{param}'" in caught.value.message


def test_neutral_values_are_accepted() -> None:
    body = {"model": "m", "prompt": "x", "echo": False, "suffix": "", "best_of": 1, "n": 1}
    assert chat_body(body)["messages"] == [{"role": "user", "content": "x"}]


def test_a_chat_completion_becomes_a_text_completion() -> None:
    chat = {
        "id": "chatcmpl-1",
        "created": 5,
        "model": "model-a",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
    assert text_completion(chat, "cmpl-1") == {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 5,
        "model": "model-a",
        "choices": [{"text": "hi", "index": 0, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }


def test_stream_chunks() -> None:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    assert stream_chunk(chunk({"role": "assistant", "content": ""}), "c", "m") is None
    text = stream_chunk(chunk({"content": "hi"}), "c", "m")
    assert text is not None
    assert text["object"] == "text_completion"
    assert text["choices"] == [{"text": "hi", "index": 0, "logprobs": None, "finish_reason": None}]
    end = stream_chunk(chunk({}, "length"), "c", "m")
    assert end is not None
    assert end["choices"][0]["finish_reason"] == "length"
    usage = stream_chunk({"choices": [], "usage": {"prompt_tokens": 1}}, "c", "m")
    assert usage is not None
    assert usage["choices"] == []
    assert usage["usage"] == {"prompt_tokens": 1}


def test_a_cut_stream_keeps_its_error_event_then_done() -> None:
    async def relay() -> AsyncIterator[bytes]:
        yield (
            b"data: "
            + orjson.dumps({"choices": [{"index": 0, "delta": {"content": "a"}}]})
            + b"\n\n"
        )
        yield b"data: " + error_body("cut", "upstream_error", code="stream_truncated") + b"\n\n"
        yield b"data: [DONE]\n\n"

    async def collect() -> list[bytes]:
        return [event async for event in completion_stream(relay(), "c", "m")]

    events = asyncio.run(collect())
    assert orjson.loads(events[0].removeprefix(b"data: "))["choices"][0]["text"] == "a"
    assert orjson.loads(events[1].removeprefix(b"data: "))["error"]["code"] == "stream_truncated"
    assert events[2] == b"data: [DONE]\n\n"
