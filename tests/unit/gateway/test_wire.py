"""Request checks and requirement inference of the OpenAI wire format."""

from __future__ import annotations

import orjson
import pytest

from rolecall.gateway.wire import WireError, parse_chat_request


def _parse(body: object, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return parse_chat_request(orjson.dumps(body), headers or {})


BASE = {"model": "default", "messages": [{"role": "user", "content": "hello there"}]}


def test_minimal_request() -> None:
    chat = _parse(BASE)
    assert chat.model == "default"
    assert chat.stream is False
    assert chat.modalities == ("text",)
    assert chat.needs_tools is False
    assert chat.context_tokens > 0


def test_inference_from_payload() -> None:
    body = {
        **BASE,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            }
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "response_format": {"type": "json_object"},
        "max_tokens": 500,
        "stream": True,
    }
    chat = _parse(body)
    assert chat.modalities == ("text", "image")
    assert chat.needs_tools is True
    assert chat.structured_output is True
    assert chat.stream is True
    assert chat.context_tokens >= 500


def test_tool_choice_none_needs_no_tools() -> None:
    body = {
        **BASE,
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "tool_choice": "none",
    }
    assert _parse(body).needs_tools is False


def test_hints_from_extension_and_headers() -> None:
    chat = _parse(
        {**BASE, "rolecall": {"strategy": "latency", "budget": 0.01}},
        {"x-rolecall-deny-remote": "true", "x-rolecall-role": "coder.patch"},
    )
    assert chat.hints.strategy == "latency"
    assert chat.hints.budget == 0.01
    assert chat.hints.deny_remote is True
    assert chat.hints.role == "coder.patch"
    assert "rolecall" not in chat.body  # never forwarded upstream


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": BASE["messages"]}, "model"),
        ({"model": 3, "messages": BASE["messages"]}, "model"),
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": ["hi"]}, "messages[0]"),
        ({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"model": "m", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"model": "m", "messages": [{"role": "user"}]}, "messages[0].content"),
        ({**BASE, "stream": "yes"}, "stream"),
        ({**BASE, "max_tokens": 0}, "max_tokens"),
        ({**BASE, "temperature": 3}, "temperature"),
        ({**BASE, "tools": {}}, "tools"),
        ({**BASE, "rolecall": {"strategy": "fastest"}}, "rolecall.strategy"),
        ({**BASE, "rolecall": {"colour": "red"}}, "rolecall.colour"),
        ({**BASE, "rolecall": {"budget": "lots"}}, "rolecall.budget"),
    ],
)
def test_bad_requests_name_the_parameter(body: object, param: str) -> None:
    with pytest.raises(WireError) as info:
        _parse(body)
    assert info.value.status == 400
    assert info.value.param == param
    error = orjson.loads(info.value.body())["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"


def test_not_json() -> None:
    with pytest.raises(WireError, match="not valid JSON"):
        parse_chat_request(b"{nope", {})
    with pytest.raises(WireError, match="JSON object"):
        parse_chat_request(b"[1]", {})
