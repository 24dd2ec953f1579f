"""The scripted upstream through the official openai SDK: answers, streaming, pacing, tool calls."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import openai
import pytest

from rolecall.providers.scripted import ScriptedUpstream, UpstreamHandle

from .conftest import HELLO

CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
}


def test_non_streaming_answer_echoes_the_model_with_usage(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="m", messages=HELLO)
    assert completion.choices[0].message.content == "one two three four"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "m"
    assert completion.id.startswith("chatcmpl-")
    assert completion.created > 0
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 3  # 2 words × 1.3, rounded
    assert completion.usage.completion_tokens == 4
    assert completion.usage.total_tokens == 7


def test_usage_can_be_left_out(client: openai.OpenAI, upstream: UpstreamHandle) -> None:
    upstream.set_script({"models": {"m": {"usage": False}}})
    completion = client.chat.completions.create(model="m", messages=HELLO)
    assert completion.usage is None
    assert completion.choices[0].message.content == "ok"


def test_stream_reassembles_the_answer_and_ends_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="m", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 4
    assert {c.id for c in chunks} == {chunks[0].id}


def test_chunk_tokens_groups_tokens(client: openai.OpenAI, upstream: UpstreamHandle) -> None:
    upstream.set_script({"models": {"m": {"answer": "a b c d e", "chunk_tokens": 2}}})
    stream = client.chat.completions.create(model="m", messages=HELLO, stream=True)
    pieces = [
        c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content
    ]
    assert pieces == ["a b", " c d", " e"]


def test_latency_and_token_rate_are_honoured(
    client: openai.OpenAI, upstream: UpstreamHandle
) -> None:
    answer = " ".join(f"w{i}" for i in range(21))
    upstream.set_script(
        {"models": {"m": {"answer": answer, "latency_ms": 50, "tokens_per_sec": 200}}}
    )
    expected = 0.050 + 20 / 200  # the first chunk after the latency, then 20 paced tokens
    started = time.monotonic()
    stream = client.chat.completions.create(model="m", messages=HELLO, stream=True)
    first_byte = None
    text = ""
    for chunk in stream:
        first_byte = first_byte or time.monotonic() - started
        text += (chunk.choices[0].delta.content or "") if chunk.choices else ""
    elapsed = time.monotonic() - started
    assert text == answer
    assert first_byte is not None
    assert first_byte >= 0.050 * 0.8
    assert expected * 0.8 <= elapsed < expected * 3 + 0.5


def test_non_streamed_answer_takes_its_generation_time(
    client: openai.OpenAI, upstream: UpstreamHandle
) -> None:
    upstream.set_script(
        {"models": {"m": {"answer": "a b c d e f g h i j k", "tokens_per_sec": 100}}}
    )
    started = time.monotonic()
    client.chat.completions.create(model="m", messages=HELLO)
    assert time.monotonic() - started >= 0.1 * 0.8


def test_tool_calls_non_streaming(client: openai.OpenAI, upstream: UpstreamHandle) -> None:
    upstream.set_script({"models": {"m": {"answer": "", "tool_calls": [CALL]}}})
    completion = client.chat.completions.create(model="m", messages=HELLO)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.id == "call_1"
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert call.function.arguments == '{"city": "Oslo"}'  # type: ignore[union-attr]


def test_tool_calls_streaming_reassemble_by_index(
    client: openai.OpenAI, upstream: UpstreamHandle
) -> None:
    second = {**CALL, "id": "call_2", "function": {"name": "get_time", "arguments": "{}"}}
    upstream.set_script({"models": {"m": {"answer": "", "tool_calls": [CALL, second]}}})
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in client.chat.completions.create(model="m", messages=HELLO, stream=True):
        for delta in chunk.choices[0].delta.tool_calls or []:
            entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += delta.id or ""
            if delta.function:
                entry["name"] += delta.function.name or ""
                entry["arguments"] += delta.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert calls == {
        0: {"id": "call_1", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
        1: {"id": "call_2", "name": "get_time", "arguments": "{}"},
    }


def test_unknown_model_is_404(client: openai.OpenAI, upstream: UpstreamHandle) -> None:
    with pytest.raises(openai.NotFoundError, match="nope"):
        client.chat.completions.create(model="nope", messages=HELLO)
    assert upstream.stats()["models"]["nope"]["not_found"] == 1


def test_models_list(client: openai.OpenAI, upstream: UpstreamHandle) -> None:
    upstream.set_script({"models": {"b": {}, "a": {}}})
    assert [model.id for model in client.models.list()] == ["a", "b"]


def test_require_auth(upstream: UpstreamHandle) -> None:
    upstream.set_script({"models": {"m": {}}, "require_auth": "sk-right"})
    with openai.OpenAI(base_url=upstream.base_url, api_key="sk-wrong", max_retries=0) as wrong:
        with pytest.raises(openai.AuthenticationError):
            wrong.chat.completions.create(model="m", messages=HELLO)
        with pytest.raises(openai.AuthenticationError):
            wrong.models.list()
    with openai.OpenAI(base_url=upstream.base_url, api_key="sk-right", max_retries=0) as right:
        assert (
            right.chat.completions.create(model="m", messages=HELLO).choices[0].message.content
            == "ok"
        )


def test_async_context_manager_serves_the_async_client() -> None:
    async def run() -> list[Any]:
        script = {"models": {"m": {"answer": "hi", "latency_ms": 20}}}
        async with ScriptedUpstream(script) as upstream:
            client = openai.AsyncOpenAI(base_url=upstream.base_url, api_key="x", max_retries=0)
            async with client:
                calls = [
                    client.chat.completions.create(model="m", messages=HELLO) for _ in range(5)
                ]
                results = await asyncio.gather(*calls)
            assert upstream.stats()["models"]["m"]["requests"] == 5
        return [r.choices[0].message.content for r in results]

    started = time.monotonic()
    assert asyncio.run(run()) == ["hi"] * 5
    assert time.monotonic() - started < 1.0  # served concurrently, not one after another
