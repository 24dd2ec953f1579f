"""The official anthropic SDK against a real gateway over a scripted upstream: ``messages.create``
(text, system, tools with a tool-result round trip, images, structured output), ``messages.stream``
(text, tools, a cut stream), ``count_tokens``, a Claude Code shaped request, errors, and a request
through an Anthropic upstream and back. Each routed request is checked to leave the records a chat
completion leaves: its decision and its usage event (tests/integration/clients/scripted_pool.py).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from typing import Any

import anthropic
import orjson
import pytest
from pydantic import BaseModel

from tests.integration.gateway.harness import Gateway

from .scripted_pool import (
    ANSWER,
    HELLO,
    MODELS,
    check_records,
    check_usage,
    plain_script,
    pool_gateway,
    pool_upstream,
    script,
    sent_upstream,
)


@pytest.fixture(scope="module")
def upstream() -> Iterator[Any]:
    with pool_upstream() as handle:
        yield handle


@pytest.fixture(scope="module")
def gateway(upstream: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with pool_gateway(upstream, tmp_path_factory.mktemp("clients")) as gw:
        yield gw


@pytest.fixture(autouse=True)
def plain(upstream: Any) -> None:
    plain_script(upstream)


WEATHER_TOOL = {
    "name": "get_weather",
    "description": "the weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
CALL = {
    "id": "call_oslo",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
}
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()


@pytest.fixture(scope="module")
def claude(gateway: Gateway) -> Iterator[anthropic.Anthropic]:
    # what Claude Code does with ANTHROPIC_BASE_URL: the server's root, the key as x-api-key
    client = anthropic.Anthropic(
        base_url=f"http://127.0.0.1:{gateway.port}", api_key=gateway.api_key, max_retries=0
    )
    yield client
    client.close()


def test_messages_create_with_a_system_prompt(
    gateway: Gateway, upstream: Any, claude: anthropic.Anthropic
) -> None:
    raw = claude.messages.with_raw_response.create(
        model="default",
        max_tokens=64,
        system="Answer briefly.",
        messages=HELLO,  # type: ignore[arg-type]
        stop_sequences=["STOP"],
        extra_body={"temperature": 0.3},  # no longer a parameter of this SDK's create
        metadata={"user_id": "user-7"},
    )
    message = raw.parse()
    assert message.type == "message"
    assert message.id.startswith("msg_")
    assert message.model == "model-a"
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "fast answer"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0
    assert message.usage.output_tokens > 0
    assert raw.headers["x-rolecall-endpoint"] == "ep-a"
    assert raw.headers["request-id"] == raw.headers["x-rolecall-request-id"]
    sent = sent_upstream(upstream)
    assert sent["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "hello"},
    ]
    assert (sent["max_tokens"], sent["temperature"], sent["stop"]) == (64, 0.3, ["STOP"])
    assert sent["user"] == "user-7"
    check_records(gateway, raw.headers)
    _, record = gateway.admin(f"/api/requests/{raw.headers['x-rolecall-request-id']}")
    assert record["identity"]["user"] == "user-7"  # usage per user counts Anthropic clients too


def test_tools_round_trip_with_a_tool_result(
    gateway: Gateway, upstream: Any, claude: anthropic.Anthropic
) -> None:
    script(upstream, answer="", tool_calls=[CALL])
    question = {"role": "user", "content": "What is the weather in Oslo?"}
    first = claude.messages.create(
        model="default",
        max_tokens=64,
        messages=[question],  # type: ignore[list-item]
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        tool_choice={"type": "any"},
    )
    assert first.stop_reason == "tool_use"
    [call] = first.content
    assert call.type == "tool_use"
    assert (call.id, call.name, call.input) == ("call_oslo", "get_weather", {"city": "Oslo"})
    sent = sent_upstream(upstream)
    assert sent["tool_choice"] == "required"
    assert sent["tools"][0]["function"]["parameters"] == WEATHER_TOOL["input_schema"]

    script(upstream, answer="It is 4 C in Oslo.")
    result = {"type": "tool_result", "tool_use_id": call.id, "content": "4 C, cloudy"}
    raw = claude.messages.with_raw_response.create(
        model="default",
        max_tokens=64,
        messages=[  # type: ignore[list-item]
            question,
            {"role": "assistant", "content": [call.model_dump()]},
            {"role": "user", "content": [result]},
        ],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    final = raw.parse()
    assert final.content[0].text == "It is 4 C in Oslo."  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    sent = sent_upstream(upstream)
    assert sent["messages"][1]["tool_calls"][0]["id"] == "call_oslo"
    assert orjson.loads(sent["messages"][1]["tool_calls"][0]["function"]["arguments"]) == {
        "city": "Oslo"
    }
    assert sent["messages"][2] == {
        "role": "tool",
        "tool_call_id": "call_oslo",
        "content": "4 C, cloudy",
    }
    check_records(gateway, raw.headers)


def test_an_image_is_routed_to_an_endpoint_that_takes_images(
    gateway: Gateway, upstream: Any, claude: anthropic.Anthropic
) -> None:
    content = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        {"type": "text", "text": "What is in these images?"},
    ]
    raw = claude.messages.with_raw_response.create(
        model="default",
        max_tokens=64,
        messages=[{"role": "user", "content": content}],  # type: ignore[list-item]
    )
    assert raw.parse().content[0].text == "fast answer"  # type: ignore[union-attr]
    parts = sent_upstream(upstream)["messages"][0]["content"]
    assert parts[0] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    assert parts[1]["image_url"]["url"] == "https://example.com/cat.png"
    decision = check_records(gateway, raw.headers)
    excluded = {e["endpoint_id"]: e for e in decision["eligibility"] if not e["eligible"]}
    assert "ep-b" in excluded  # text-only: the image rules it out


def test_messages_stream_text(gateway: Gateway, upstream: Any, claude: anthropic.Anthropic) -> None:
    script(upstream, answer="one two three four")
    with claude.messages.stream(
        model="default",
        max_tokens=64,
        messages=HELLO,  # type: ignore[arg-type]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
        headers = stream.response.headers
    assert text == "one two three four"
    assert final.content[0].text == text  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 4  # the upstream's count, from the usage chunk
    assert final.usage.input_tokens > 0
    assert sent_upstream(upstream)["stream"] is True
    check_records(gateway, headers)


def test_messages_stream_with_a_tool_call(
    gateway: Gateway, upstream: Any, claude: anthropic.Anthropic
) -> None:
    script(upstream, answer="Looking it up.", tool_calls=[CALL])
    with claude.messages.stream(
        model="default",
        max_tokens=64,
        messages=[{"role": "user", "content": "weather in Oslo?"}],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    ) as stream:
        events = [event.type for event in stream]
        final = stream.get_final_message()
        headers = stream.response.headers
    assert "input_json" in events  # the SDK's parsed partial-JSON event
    assert [block.type for block in final.content] == ["text", "tool_use"]
    tool = final.content[1]
    assert tool.type == "tool_use"
    assert (tool.id, tool.name, tool.input) == ("call_oslo", "get_weather", {"city": "Oslo"})
    assert final.stop_reason == "tool_use"
    check_records(gateway, headers)


def test_a_stream_cut_after_it_began_ends_with_an_error_event(
    upstream: Any, claude: anthropic.Anthropic
) -> None:
    script(upstream, answer="a b c d e f", fail={"kind": "cut", "after_chunks": 2})
    received: list[str] = []
    stream = claude.messages.stream(model="default", max_tokens=64, messages=HELLO)  # type: ignore[arg-type]
    with pytest.raises(anthropic.APIStatusError) as caught, stream as events:
        received.extend(events.text_stream)
    assert "".join(received)  # the first tokens arrived before the error
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["type"] == "error"
    assert body["error"]["type"] == "api_error"
    assert "cut" in body["error"]["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_through_an_anthropic_upstream_and_back(
    gateway: Gateway, upstream: Any, claude: anthropic.Anthropic, stream: bool
) -> None:
    # Messages in → chat → the Anthropic adapter → Messages upstream, and the answer back the
    # same two steps: the tool call survives both translations
    script(upstream, "claude-x", answer="Checking.", tool_calls=[CALL])
    options: dict[str, Any] = {
        "model": "ep-claude",
        "max_tokens": 64,
        "system": "Use the tools.",
        "messages": [{"role": "user", "content": "weather in Oslo?"}],
        "tools": [WEATHER_TOOL],
    }
    if stream:
        with claude.messages.stream(**options) as events:
            final = events.get_final_message()
            headers = events.response.headers
    else:
        raw = claude.messages.with_raw_response.create(**options)
        final, headers = raw.parse(), raw.headers
    assert [block.type for block in final.content] == ["text", "tool_use"]
    assert final.content[0].text == "Checking."  # type: ignore[union-attr]
    tool = final.content[1]
    assert tool.type == "tool_use"
    assert (tool.name, tool.input) == ("get_weather", {"city": "Oslo"})
    assert final.stop_reason == "tool_use"
    assert final.usage.output_tokens > 0
    sent = sent_upstream(upstream, "claude-x")
    assert sent["system"] == "Use the tools."
    assert sent["tools"][0]["input_schema"] == WEATHER_TOOL["input_schema"]
    check_records(gateway, headers, "ep-claude")


def test_a_claude_code_shaped_request(
    gateway: Gateway, upstream: Any, claude: anthropic.Anthropic
) -> None:
    # what Claude Code sends: ?beta=true, beta headers, cached system blocks, thinking history
    # and config, draft-07 tool schemas, fields rolecall does not translate; async and streamed
    schema = {**WEATHER_TOOL["input_schema"], "$schema": "http://json-schema.org/draft-07/schema#"}
    history = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "greet back", "signature": "c2ln"},
                {"type": "redacted_thinking", "data": "eHl6"},
                {"type": "text", "text": "Hello!"},
            ],
        },
        {"role": "user", "content": "and the weather?"},
    ]

    async def run() -> tuple[str, Any, Any]:
        client = anthropic.AsyncAnthropic(
            base_url=f"http://127.0.0.1:{gateway.port}",
            api_key=gateway.api_key,
            max_retries=0,
            default_headers={
                "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14"
            },
        )
        async with (
            client,
            client.messages.stream(
                model="default",
                max_tokens=512,
                system=[
                    {
                        "type": "text",
                        "text": "You are Claude Code.",
                        "cache_control": {"type": "ephemeral"},
                    },
                    {"type": "text", "text": "Be concise."},
                ],
                messages=history,  # type: ignore[arg-type]
                tools=[{**WEATHER_TOOL, "input_schema": schema}],  # type: ignore[list-item]
                metadata={"user_id": "user_0123abcd_account__session_5f1e"},
                thinking={"type": "enabled", "budget_tokens": 1024},
                extra_query={"beta": "true"},
                extra_body={"context_management": {"edits": []}, "temperature": 1},
            ) as stream,
        ):
            text = "".join([piece async for piece in stream.text_stream])
            return text, await stream.get_final_message(), stream.response.headers

    text, final, headers = asyncio.run(run())
    assert text == "fast answer"
    assert final.stop_reason == "end_turn"
    sent = sent_upstream(upstream)
    assert sent["messages"] == [
        {"role": "system", "content": "You are Claude Code.\nBe concise."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "and the weather?"},
    ]
    assert "thinking" not in sent
    assert "context_management" not in sent
    check_records(gateway, headers)


class Weather(BaseModel):
    city: str
    celsius: int


def test_structured_output_with_messages_parse(
    gateway: Gateway, upstream: Any, claude: anthropic.Anthropic
) -> None:
    script(upstream, answer='{"city": "Oslo", "celsius": 4}')
    parsed = claude.messages.parse(
        model="default",
        max_tokens=64,
        messages=[{"role": "user", "content": "Weather in Oslo as JSON"}],
        output_format=Weather,
    )
    assert parsed.parsed_output == Weather(city="Oslo", celsius=4)
    response_format = sent_upstream(upstream)["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["schema"]["properties"].keys() == {"city", "celsius"}
    assert parsed._request_id is not None  # Anthropic's request-id header: the record's id
    check_usage(gateway, parsed._request_id)


def test_count_tokens_is_an_estimate(claude: anthropic.Anthropic) -> None:
    counted = claude.messages.count_tokens(
        model="default",
        system="Answer briefly.",
        messages=HELLO,  # type: ignore[arg-type]
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    assert counted.input_tokens > 0
    assert counted.model_extra == {"estimate": True}


def test_bad_input_gets_anthropic_errors_naming_the_field(
    gateway: Gateway, claude: anthropic.Anthropic
) -> None:
    with pytest.raises(anthropic.BadRequestError) as bad:
        claude.messages.create(
            model="default",
            max_tokens=64,
            messages=[{"role": "user", "content": [{"type": "container_upload", "file_id": "f"}]}],  # type: ignore[list-item]
        )
    assert bad.value.status_code == 400
    assert bad.value.body["type"] == "error"  # type: ignore[index]
    assert bad.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert "messages[0].content[0].type" in bad.value.body["error"]["message"]  # type: ignore[index]
    with pytest.raises(anthropic.NotFoundError) as unknown:
        claude.messages.create(model="no-such-model", max_tokens=8, messages=HELLO)  # type: ignore[arg-type]
    assert unknown.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    wrong_key = claude.with_options(api_key="rc-not-a-key")
    with pytest.raises(anthropic.AuthenticationError) as refused:
        wrong_key.messages.create(model="default", max_tokens=8, messages=HELLO)  # type: ignore[arg-type]
    assert refused.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    status, body = gateway.raw("/v1/messages", b"{not json", {"x-api-key": gateway.api_key})
    assert status == 400
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    status, body = gateway.raw(
        "/v1/messages",
        orjson.dumps({"model": "default", "messages": HELLO}),
        {"x-api-key": gateway.api_key},
    )
    assert status == 400
    assert "max_tokens" in body["error"]["message"]


def test_an_upstream_failure_is_an_anthropic_error(
    gateway: Gateway, upstream: Any, claude: anthropic.Anthropic
) -> None:
    failing = {**ANSWER, "fail": {"kind": "status", "status": 500}}
    upstream.set_script({"models": dict.fromkeys(MODELS, failing)})
    try:
        with pytest.raises(anthropic.APIStatusError) as caught:
            claude.messages.create(model="default", max_tokens=8, messages=HELLO)  # type: ignore[arg-type]
    finally:  # the next tests of the module expect both endpoints available
        for endpoint in ("ep-a", "ep-b", "ep-claude"):
            gateway.admin(f"/api/cooldowns/{endpoint}", "DELETE")
    assert caught.value.status_code == 502
    assert caught.value.body["error"]["type"] == "api_error"  # type: ignore[index]
    assert "every eligible endpoint failed" in caught.value.body["error"]["message"]  # type: ignore[index]
