"""The Responses API ↔ chat completions translation: requests, refusals naming the field, and the
Response object built from a chat completion (checked against the openai SDK's own models)."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.responses import Response

from rolecall.gateway.responses_wire import (
    new_response_id,
    previous_response_id,
    response_object,
    responses_call,
)
from rolecall.gateway.wire import WireError
from rolecall.storage.response_book import response_id_shape

WEATHER = {
    "type": "function",
    "name": "weather",
    "description": "the weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": True,
}


def _user(*parts: Any, role: str = "user") -> dict[str, Any]:
    return {"input": [{"role": role, "content": list(parts)}]}


def _image(**fields: Any) -> dict[str, Any]:
    return {"type": "input_image", **fields}


def _tools(*tools: Any) -> dict[str, Any]:
    return {"input": "x", "tools": list(tools)}


def _call(**body: Any) -> Any:
    return responses_call({"model": "default", **body}, {})


def test_a_string_input_is_one_user_message_after_the_instructions() -> None:
    call = _call(input="hello", instructions="be brief", max_output_tokens=50, temperature=0.2)
    assert call.chat.body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello"},
    ]
    assert call.chat.body["max_tokens"] == 50
    assert call.chat.max_tokens == 50
    assert call.chat.body["temperature"] == 0.2
    assert call.store is True
    assert call.input == [{"type": "message", "role": "user", "content": "hello"}]
    assert call.echo["instructions"] == "be brief"


def test_items_become_messages_tool_calls_and_tool_results() -> None:
    items = [
        {"role": "developer", "content": "use tools"},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "what is here?"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"},
            ],
        },
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "let me look", "annotations": []}],
        },
        {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": '{"city":"x"}'},
        {"type": "function_call", "call_id": "c2", "name": "weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "rain"}]},
    ]  # fmt: skip
    call = _call(input=items, tools=[WEATHER], tool_choice="required", parallel_tool_calls=True)
    messages = call.chat.body["messages"]
    assert messages[0] == {"role": "system", "content": "use tools"}
    assert messages[1]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"},
    }
    assert messages[2]["content"] == "let me look"
    assert [c["id"] for c in messages[2]["tool_calls"]] == ["c1", "c2"]
    assert messages[3:] == [
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "c2", "content": "rain"},
    ]
    assert call.chat.modalities == ("text", "image")
    assert call.chat.needs_tools
    assert call.chat.body["tools"] == [
        {
            "type": "function",
            "function": {k: v for k, v in WEATHER.items() if k != "type"},
        }
    ]
    assert call.chat.body["tool_choice"] == "required"
    assert call.chat.body["parallel_tool_calls"] is True


def test_a_stored_conversation_comes_before_the_new_input() -> None:
    earlier = [{"role": "user", "content": "one"}, {"role": "assistant", "content": "two"}]
    call = responses_call({"model": "m", "input": "three"}, {}, earlier)
    assert [m["content"] for m in call.chat.body["messages"]] == ["one", "two", "three"]
    assert call.input == [{"type": "message", "role": "user", "content": "three"}]


def test_structured_output_and_routing_options_carry_over() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    call = _call(
        input="x",
        text={"format": {"type": "json_schema", "name": "thing", "schema": schema, "strict": True}},
        rolecall={"strategy": "cost"},
        metadata={"tags": "a,b"},
        user="u-1",
    )
    assert call.chat.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "thing", "schema": schema, "strict": True},
    }
    assert call.chat.structured_output
    assert call.chat.hints.strategy == "cost"
    assert call.chat.identity.user == "u-1"
    assert "metadata" not in call.chat.body  # on the record, not forwarded
    assert call.echo["metadata"] == {"tags": "a,b"}
    assert _call(input="x", text={"format": {"type": "json_object"}}).chat.body[
        "response_format"
    ] == {"type": "json_object"}
    assert "response_format" not in _call(input="x", text={"format": {"type": "text"}}).chat.body


def test_a_function_tool_choice_names_the_function() -> None:
    call = _call(input="x", tools=[WEATHER], tool_choice={"type": "function", "name": "weather"})
    assert call.chat.body["tool_choice"] == {"type": "function", "function": {"name": "weather"}}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": 5}, "input"),
        ({"input": []}, "input"),
        ({"input": [7]}, "input[0]"),
        ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        (_user({"type": "video"}), "input[0].content[0].type"),
        (_user({"type": 1}), "input[0].content[0].type"),
        (_user({"type": "input_text"}), "input[0].content[0].text"),
        (_user(_image(image_url="x"), role="system"), "input[0].content[0].type"),
        (_user(_image(file_id="f")), "input[0].content[0].file_id"),
        (_user(_image(image_url="u", detail="x")), "input[0].content[0].detail"),
        ({"input": [{"type": "item_reference", "id": "x"}]}, "input[0].type"),
        ({"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}, "input[0].call_id"),
        ({"input": [{"type": "function_call_output", "call_id": "c", "output": 3}]}, "input[0].output"),
        (_user(_image(), role="assistant"), "input[0].content[0].type"),
        (_tools({"type": "web_search"}), "tools[0].type"),
        (_tools({"type": "function"}), "tools[0].name"),
        (_tools({"type": "function", "name": "f", "parameters": []}), "tools[0].parameters"),
        ({"input": "x", "tool_choice": "sometimes"}, "tool_choice"),
        ({"input": "x", "tool_choice": {"type": "function"}}, "tool_choice.name"),
        ({"input": "x", "text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({"input": "x", "text": {"format": {"type": "json_schema"}}}, "text.format.name"),
        ({"input": "x", "text": []}, "text"),
        ({"input": "x", "max_output_tokens": 0}, "max_output_tokens"),
        ({"input": "x", "max_output_tokens": True}, "max_output_tokens"),
        ({"input": "x", "store": "yes"}, "store"),
        ({"input": "x", "instructions": ["x"]}, "instructions"),
        ({"input": "x", "background": True}, "background"),
        ({"input": "x", "conversation": "conv_1"}, "conversation"),
        ({"input": "x", "temperature": 3}, "temperature"),
        ({"input": "x", "rolecall": {"strategy": "fastest"}}, "rolecall.strategy"),
        ({"input": "x", "model": ""}, "model"),
        ({"input": "x", "parallel_tool_calls": "yes"}, "parallel_tool_calls"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(WireError) as refused:
        _call(**body)
    assert (refused.value.status, refused.value.param) == (400, param), refused.value.message


def test_previous_response_id_must_be_a_string() -> None:
    assert previous_response_id({"previous_response_id": "resp_x"}) == "resp_x"
    assert previous_response_id({}) is None
    with pytest.raises(WireError) as refused:
        previous_response_id({"previous_response_id": 3})
    assert refused.value.param == "previous_response_id"


def _completion(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "model-a",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 4,
            "prompt_tokens_details": {"cached_tokens": 2},
        },
    }


def test_a_completion_becomes_a_response_the_sdk_reads() -> None:
    call = _call(input="x", instructions="hi", metadata={"k": "v"})
    rid = new_response_id()
    assert response_id_shape(rid)
    body = response_object(call.echo, rid, 1700000000, _completion({"content": "hello"}))
    response = Response.model_validate(body)
    assert response.output_text == "hello"
    assert response.status == "completed"
    assert response.model == "model-a"
    assert response.instructions == "hi"
    assert response.metadata == {"k": "v"}
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (10, 4)
    assert response.usage.total_tokens == 14
    assert response.usage.input_tokens_details.cached_tokens == 2


def test_tool_calls_and_a_cut_answer() -> None:
    call = _call(input="x", tools=[WEATHER])
    tool_call = {
        "id": "call_9",
        "type": "function",
        "function": {"name": "weather", "arguments": "{}"},
    }
    message = {"content": None, "tool_calls": [tool_call, "junk"]}
    response = Response.model_validate(
        response_object(call.echo, new_response_id(), 1, _completion(message, "tool_calls"))
    )
    [item] = response.output
    assert item.type == "function_call"
    assert (item.call_id, item.name, item.arguments) == ("call_9", "weather", "{}")
    assert response.tools[0].type == "function"
    cut = response_object(call.echo, new_response_id(), 1, _completion({"content": "ab"}, "length"))
    assert cut["status"] == "incomplete"
    assert cut["incomplete_details"] == {"reason": "max_output_tokens"}


@pytest.mark.parametrize(
    "completion",
    [{}, {"choices": "x"}, {"choices": [None]}, {"choices": [{"message": 5}], "usage": [1]}],
)
def test_a_strange_upstream_reply_still_makes_a_response(completion: dict[str, Any]) -> None:
    body = response_object(_call(input="x").echo, new_response_id(), 1, completion)
    assert body["output"] == []
    assert body["usage"] is None
    Response.model_validate(body)
