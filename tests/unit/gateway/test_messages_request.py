"""Anthropic Messages request bodies → chat bodies, and refusals naming the Messages field."""

from __future__ import annotations

from typing import Any

import pytest

from rolecall.gateway.messages_request import chat_body
from rolecall.gateway.wire import WireError, chat_request

USER = [{"role": "user", "content": "hello"}]


def _body(**fields: Any) -> dict[str, Any]:
    return {"model": "default", "max_tokens": 64, "messages": USER, **fields}


def test_minimal_body_becomes_a_chat_body() -> None:
    assert chat_body(_body()) == {
        "model": "default",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hello"}],
    }


def test_system_as_string_and_as_text_blocks() -> None:
    blocks = [
        {"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "be kind"},
    ]
    for system, text in (("be brief", "be brief"), (blocks, "be brief\nbe kind")):
        messages = chat_body(_body(system=system))["messages"]
        assert messages[0] == {"role": "system", "content": text}
        assert messages[1]["role"] == "user"


def test_sampling_stop_sequences_user_and_streaming() -> None:
    out = chat_body(
        _body(
            temperature=0.2,
            top_p=0.9,
            top_k=40,
            stop_sequences=["END"],
            metadata={"user_id": "u-1"},
            stream=True,
        )
    )
    assert out["temperature"] == 0.2
    assert out["top_p"] == 0.9
    assert out["top_k"] == 40
    assert out["stop"] == ["END"]
    assert out["user"] == "u-1"
    assert out["stream"] is True
    assert out["stream_options"] == {"include_usage": True}  # exact usage for message_delta


def test_images_from_base64_and_url_sources() -> None:
    content = [
        {"type": "text", "text": "what is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]
    [message] = chat_body(_body(messages=[{"role": "user", "content": content}]))["messages"]
    assert message["content"] == [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]
    chat = chat_request(chat_body(_body(messages=[{"role": "user", "content": content}])), {})
    assert chat.modalities == ("text", "image")  # routed to an endpoint that takes images


def test_a_tool_round_trip_becomes_tool_calls_and_tool_messages() -> None:
    messages = [
        {"role": "user", "content": "weather in Oslo?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "4 C"},
                {"type": "text", "text": "and tomorrow?"},
            ],
        },
    ]
    out = chat_body(_body(messages=messages))["messages"]
    assert out[1] == {
        "role": "assistant",
        "content": "Let me look.",
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
            }
        ],
    }
    assert out[2] == {"role": "tool", "tool_call_id": "toolu_1", "content": "4 C"}
    assert out[3] == {"role": "user", "content": "and tomorrow?"}


def test_tool_result_blocks_errors_and_images() -> None:
    result = {
        "type": "tool_result",
        "tool_use_id": "toolu_9",
        "is_error": True,
        "content": [
            {"type": "text", "text": "no such city"},
            {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
        ],
    }
    out = chat_body(_body(messages=[{"role": "user", "content": [result]}]))["messages"]
    assert out[0] == {"role": "tool", "tool_call_id": "toolu_9", "content": "Error: no such city"}
    assert out[1] == {
        "role": "user",
        "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
    }


def test_documents_as_text_and_pdf_file_parts() -> None:
    content = [
        {"type": "document", "title": "Notes", "source": {"type": "text", "data": "a b c"}},
        {
            "type": "document",
            "source": {"type": "content", "content": [{"type": "text", "text": "chunk"}]},
        },
        {
            "type": "document",
            "title": "report",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
        },
    ]
    [message] = chat_body(_body(messages=[{"role": "user", "content": content}]))["messages"]
    assert message["content"] == [
        {"type": "text", "text": "Notes"},
        {"type": "text", "text": "a b c"},
        {"type": "text", "text": "chunk"},
        {
            "type": "file",
            "file": {"filename": "report.pdf", "file_data": "data:application/pdf;base64,JVBE"},
        },
    ]
    result = {
        "type": "tool_result",
        "tool_use_id": "t",
        "content": [{"type": "document", "source": {"type": "text", "data": "file body"}}],
    }
    out = chat_body(_body(messages=[{"role": "user", "content": [result]}]))["messages"]
    assert out == [{"role": "tool", "tool_call_id": "t", "content": "file body"}]


def test_tools_and_each_tool_choice() -> None:
    tools = [
        {"name": "weather", "description": "the weather", "input_schema": {"type": "object"}},
        {"type": "custom", "name": "clock", "input_schema": {"type": "object"}},
    ]
    out = chat_body(_body(tools=tools))
    assert out["tools"][0] == {
        "type": "function",
        "function": {
            "name": "weather",
            "parameters": {"type": "object"},
            "description": "the weather",
        },
    }
    assert "tool_choice" not in out
    choices = {
        "auto": "auto",
        "any": "required",
        "none": "none",
        "tool": {"type": "function", "function": {"name": "clock"}},
    }
    for kind, expected in choices.items():
        choice = {"type": kind, "name": "clock"} if kind == "tool" else {"type": kind}
        assert chat_body(_body(tools=tools, tool_choice=choice))["tool_choice"] == expected
    serial = chat_body(
        _body(tools=tools, tool_choice={"type": "auto", "disable_parallel_tool_use": True})
    )
    assert serial["parallel_tool_calls"] is False
    none = chat_request(chat_body(_body(tools=tools, tool_choice={"type": "none"})), {})
    assert none.needs_tools is False
    assert chat_request(chat_body(_body(tools=tools)), {}).needs_tools is True


def test_count_tokens_needs_no_max_tokens() -> None:
    body = _body()
    del body["max_tokens"]
    assert "max_tokens" not in chat_body(body, counting=True)
    with pytest.raises(WireError) as caught:
        chat_body(body)
    assert caught.value.param == "max_tokens"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"model": 3}, "model"),
        ({"messages": []}, "messages"),
        ({"messages": "hi"}, "messages"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": "8"}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"temperature": 1.5}, "temperature"),
        ({"top_p": "x"}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"stop_sequences": "END"}, "stop_sequences"),
        ({"stream": "yes"}, "stream"),
        ({"metadata": []}, "metadata"),
        ({"metadata": {"user_id": 7}}, "metadata.user_id"),
        ({"metadata": {"user_id": "u" * 300}}, "metadata.user_id"),
        ({"system": 5}, "system"),
        ({"system": [{"type": "image"}]}, "system[0].type"),
        ({"system": [{"type": "text"}]}, "system[0].text"),
        ({"messages": [7]}, "messages[0]"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": [{"text": "x"}]}]}, "messages[0].content[0]"),
        (
            {"messages": [{"role": "user", "content": [{"type": "container_upload"}]}]},
            "messages[0].content[0].type",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "document"}]}]},
            "messages[0].content[0].source",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "document", "source": {"type": "url", "url": "u"}}],
                    }
                ]
            },
            "messages[0].content[0].source.type",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "image", "source": "x"}]}]},
            "messages[0].content[0].source",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/tiff",
                                    "data": "A",
                                },
                            }
                        ],
                    }
                ]
            },
            "messages[0].content[0].source.media_type",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "tool_result"}]}]},
            "messages[0].content[0].tool_use_id",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": "t", "name": "f", "input": []}],
                    },
                ]
            },
            "messages[1].content[0].input",
        ),
        ({"tools": {}}, "tools"),
        ({"tools": [{"name": "f"}]}, "tools[0].input_schema"),
        ({"tools": [{"input_schema": {}}]}, "tools[0].name"),
        ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools[0].type"),
        ({"tool_choice": {"type": "sometimes"}}, "tool_choice"),
        (
            {"tools": [{"name": "f", "input_schema": {}}], "tool_choice": {"type": "tool"}},
            "tool_choice.name",
        ),
        (
            {
                "tools": [{"name": "f", "input_schema": {}}],
                "tool_choice": {"type": "tool", "name": "g"},
            },
            "tool_choice.name",
        ),
    ],
)
def test_bad_fields_are_refused_naming_the_messages_field(
    fields: dict[str, Any], param: str
) -> None:
    with pytest.raises(WireError) as caught:
        chat_body(_body(**fields))
    assert caught.value.status == 400
    assert caught.value.param == param
    assert f"'{param}'" in caught.value.message


def test_fields_rolecall_does_not_translate_are_ignored() -> None:
    out = chat_body(_body(thinking={"type": "enabled", "budget_tokens": 1024}, service_tier="auto"))
    assert "thinking" not in out
    assert "service_tier" not in out


def test_routing_options_pass_to_the_chat_parser() -> None:
    chat = chat_request(chat_body(_body(rolecall={"strategy": "quality"})), {})
    assert chat.hints.strategy == "quality"
    with pytest.raises(WireError) as caught:
        chat_request(chat_body(_body(rolecall={"budget": "x"})), {})
    assert caught.value.param == "rolecall.budget"
