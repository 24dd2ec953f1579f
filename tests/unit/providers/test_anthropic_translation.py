"""OpenAI chat ⇄ Anthropic Messages translation, both ways."""

from __future__ import annotations

import orjson

from rolecall.providers.anthropic import from_anthropic, to_anthropic


def test_request_translation() -> None:
    body = {
        "model": "claude-x",
        "max_tokens": 300,
        "temperature": 0.2,
        "stop": "END",
        "messages": [
            {"role": "system", "content": "be brief"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is in this image?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,QUJD"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "t1",
                        "type": "function",
                        "function": {"name": "look", "arguments": '{"x": 1}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "t1", "content": "a cat"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {"name": "look", "description": "d", "parameters": {"type": "object"}},
            }
        ],
        "tool_choice": "required",
    }
    out = to_anthropic(body)
    assert out["system"] == "be brief"
    assert out["max_tokens"] == 300
    assert out["stop_sequences"] == ["END"]
    user, assistant, tool = out["messages"]
    assert user["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "QUJD"},
    }
    assert assistant["content"] == [
        {"type": "tool_use", "id": "t1", "name": "look", "input": {"x": 1}}
    ]
    assert tool == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "a cat"}],
    }
    assert out["tools"] == [
        {"name": "look", "description": "d", "input_schema": {"type": "object"}}
    ]
    assert out["tool_choice"] == {"type": "any"}


def test_default_max_tokens() -> None:
    assert (
        to_anthropic({"model": "m", "messages": [{"role": "user", "content": "x"}]})["max_tokens"]
        == 1024
    )


def test_response_translation() -> None:
    message = {
        "id": "msg_1",
        "model": "claude-x",
        "stop_reason": "tool_use",
        "content": [
            {"type": "text", "text": "checking"},
            {"type": "tool_use", "id": "t9", "name": "look", "input": {"q": "cat"}},
        ],
        "usage": {"input_tokens": 12, "output_tokens": 7},
    }
    out = from_anthropic(message, "claude-x")
    choice = out["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "checking"
    [call] = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "look"
    assert orjson.loads(call["function"]["arguments"]) == {"q": "cat"}
    assert out["usage"] == {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
