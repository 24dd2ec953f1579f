"""The OpenAI Responses API as chat completions, both ways (pure).

`responses_call` checks a ``POST /v1/responses`` body and builds the chat-completions request it
becomes (then checked by `rolecall.gateway.wire.chat_request` like any chat request), plus the
fields the Response object repeats back. `response_object` turns the chat completion an upstream
answered into the Response object; `rolecall.gateway.responses_stream` does the same for a stream.
Refusals name the Responses field (``tools[1].type``, ``text.format.schema``), never a chat one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from rolecall.gateway.responses_input import ChatMessages, input_items
from rolecall.gateway.wire import MAX_TOKENS_REPORTED, ChatRequest, WireError, chat_request, shown
from rolecall.observe.observation import new_id

# fields forwarded to the chat request unchanged (chat_request checks them under the same names;
# role-model's Codex adapter sends its `role_model.intent` on Responses traffic)
SAME_NAMES: Final = (
    "model",
    "stream",
    "temperature",
    "top_p",
    "user",
    "metadata",
    "rolecall",
    "role_model",
)
# parts of the Responses API rolecall does not offer: refused, naming the field and what to do
UNSUPPORTED: Final = {
    "background": "background responses are not supported; leave 'background' unset or false",
    "conversation": "conversations are not stored; continue with 'previous_response_id'",
    "prompt": "stored prompt templates are not supported; send 'input' and 'instructions'",
}
TOOL_CHOICES: Final = ("none", "auto", "required")
FORMATS: Final = ("text", "json_object", "json_schema")
FINISHED: Final = {"length": "max_output_tokens", "content_filter": "content_filter"}


@dataclass(slots=True)
class ResponsesCall:
    """A checked Responses request: the chat request it becomes, this request's own input items
    (stored with the response), and the fields every Response object for it repeats."""

    chat: ChatRequest
    input: list[Any]
    echo: dict[str, Any]
    store: bool


def previous_response_id(body: Mapping[str, Any]) -> str | None:
    value = body.get("previous_response_id")
    if value is not None and (not isinstance(value, str) or not value):
        raise WireError(
            400, "'previous_response_id' must be a response id string", param="previous_response_id"
        )
    return value


def responses_call(
    body: dict[str, Any], headers: Mapping[str, str], conversation: Sequence[Any] = ()
) -> ResponsesCall:
    """Check ``body`` and build its chat request; ``conversation`` is the stored conversation
    ``previous_response_id`` continues (its items come before this request's input)."""
    for name, fix in UNSUPPORTED.items():
        if body.get(name) not in (None, False):
            raise WireError(400, f"'{name}': {fix}", param=name)
    store = body.get("store", True)
    if not isinstance(store, bool):
        raise WireError(400, "'store' must be true or false", param="store")
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise WireError(400, "'instructions' must be a string", param="instructions")
    items = input_items(body.get("input", []))
    built = ChatMessages()
    if instructions:
        built.messages.append({"role": "system", "content": instructions})
    built.add(list(conversation), "previous_response_id")
    built.add(items, "input")
    if not built.messages:
        raise WireError(400, "'input' is required (a string or an array of items)", param="input")
    chat: dict[str, Any] = {name: body[name] for name in SAME_NAMES if name in body}
    chat["messages"] = built.messages
    echo = _echo(body, instructions, store)
    chat.update(_options(body, echo))
    return ResponsesCall(chat_request(chat, headers), items, echo, store)


def _options(body: Mapping[str, Any], echo: Mapping[str, Any]) -> dict[str, Any]:
    """The chat fields that say what the Responses fields say: tools and the choice among
    them, the output format, the output cap, the usage chunk of a stream."""
    chat: dict[str, Any] = {}
    tools = _tools(body.get("tools"))
    if tools:
        chat["tools"] = tools
        if "parallel_tool_calls" in body:  # chat refuses it without tools
            chat["parallel_tool_calls"] = echo["parallel_tool_calls"]
    if body.get("tool_choice") is not None:
        choice = _tool_choice(body["tool_choice"])
        if tools:  # chat refuses a choice among no tools
            chat["tool_choice"] = choice
    response_format = _format(body.get("text"))
    if response_format is not None:
        chat["response_format"] = response_format
    if body.get("stream") is True:  # the usage chunk, for the Response's usage
        chat["stream_options"] = {"include_usage": True}
    if echo["max_output_tokens"] is not None:
        chat["max_tokens"] = echo["max_output_tokens"]  # the name every chat server knows
    return chat


def _echo(body: Mapping[str, Any], instructions: str | None, store: bool) -> dict[str, Any]:
    """What the Response object repeats of the request (checked here, where chat does not)."""
    max_output = body.get("max_output_tokens")
    if max_output is not None and (
        isinstance(max_output, bool)
        or not isinstance(max_output, int)
        or not 1 <= max_output <= MAX_TOKENS_REPORTED
    ):
        raise WireError(
            400,
            f"'max_output_tokens' must be an integer between 1 and {MAX_TOKENS_REPORTED}",
            param="max_output_tokens",
        )
    parallel = body.get("parallel_tool_calls", True)
    if not isinstance(parallel, bool):
        raise WireError(
            400, "'parallel_tool_calls' must be true or false", param="parallel_tool_calls"
        )
    text = body.get("text")
    reasoning = body.get("reasoning")
    metadata = body.get("metadata")
    return {
        "instructions": instructions,
        "max_output_tokens": max_output,
        "metadata": dict(metadata) if isinstance(metadata, dict) else {},
        "parallel_tool_calls": parallel,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": reasoning
        if isinstance(reasoning, dict)
        else {"effort": None, "summary": None},
        "store": store,
        "temperature": body.get("temperature"),
        "text": text if isinstance(text, dict) else {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p"),
        "truncation": body.get("truncation") or "disabled",
        "user": body.get("user"),
    }


def _tools(tools: Any) -> list[dict[str, Any]]:
    """Function tools as chat tools; any other kind (hosted search, computer use) is refused."""
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise WireError(400, "'tools' must be an array of function tools", param="tools")
    chat = []
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise WireError(400, f"'{where}' must be an object", param=where)
        if tool.get("type") != "function":
            raise WireError(
                400,
                f"'{where}.type' {shown(tool.get('type'))} is not supported; rolecall routes "
                "function tools only ('type': 'function')",
                param=f"{where}.type",
            )
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise WireError(
                400, f"'{where}.name' must be a non-empty string", param=f"{where}.name"
            )
        function: dict[str, Any] = {"name": name}
        for key, kind, what in (
            ("description", str, "a string"),
            ("parameters", dict, "a JSON Schema object"),
            ("strict", bool, "true or false"),
        ):
            value = tool.get(key)
            if value is None:
                continue
            if not isinstance(value, kind):
                raise WireError(400, f"'{where}.{key}' must be {what}", param=f"{where}.{key}")
            function[key] = value
        chat.append({"type": "function", "function": function})
    return chat


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, str) and choice in TOOL_CHOICES:
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            raise WireError(
                400, "'tool_choice.name' must be a non-empty string", param="tool_choice.name"
            )
        return {"type": "function", "function": {"name": name}}
    raise WireError(
        400,
        f"'tool_choice' must be one of {list(TOOL_CHOICES)} or {{'type': 'function', 'name': ...}}",
        param="tool_choice",
    )


def _format(text: Any) -> dict[str, Any] | None:
    """``text.format`` as a chat ``response_format`` (None for plain text)."""
    if text is None:
        return None
    if not isinstance(text, dict):
        raise WireError(400, "'text' must be an object", param="text")
    fmt = text.get("format")
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind not in FORMATS:
        raise WireError(
            400,
            f"'text.format' must be an object whose 'type' is one of {list(FORMATS)}",
            param="text.format.type" if isinstance(fmt, dict) else "text.format",
        )
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    name, schema = fmt.get("name"), fmt.get("schema")
    if not isinstance(name, str) or not name:
        raise WireError(
            400, "'text.format.name' must be a non-empty string", param="text.format.name"
        )
    if not isinstance(schema, dict):
        raise WireError(
            400, "'text.format.schema' must be a JSON Schema object", param="text.format.schema"
        )
    spec: dict[str, Any] = {"name": name, "schema": schema}
    for key, kind_of in (("strict", bool), ("description", str)):
        value = fmt.get(key)
        if value is not None:
            if not isinstance(value, kind_of):
                raise WireError(
                    400, f"'text.format.{key}' has the wrong type", param=f"text.format.{key}"
                )
            spec[key] = value
    return {"type": "json_schema", "json_schema": spec}


def new_response_id() -> str:
    return "resp_" + new_id(16)


def response_object(
    echo: Mapping[str, Any], response_id: str, created_at: int, completion: Mapping[str, Any]
) -> dict[str, Any]:
    """The Response object of a chat completion (an upstream's reply: read defensively)."""
    choices = completion.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else {}
    choice = choice if isinstance(choice, dict) else {}
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}
    status, incomplete = finish_status(choice.get("finish_reason"))
    output: list[dict[str, Any]] = []
    text, refusal = message.get("content"), message.get("refusal")
    part = None
    if isinstance(text, str) and text:
        part = output_text(text)
    elif isinstance(refusal, str) and refusal:
        part = {"type": "refusal", "refusal": refusal}
    if part is not None:
        output.append(message_item(new_item_id("msg"), [part], status))
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            continue
        call_id = call.get("id") if isinstance(call.get("id"), str) else new_item_id("call")
        name, arguments = function.get("name"), function.get("arguments")
        output.append(
            function_call_item(
                new_item_id("fc"),
                call_id,
                name if isinstance(name, str) else "",
                arguments if isinstance(arguments, str) else "",
                "completed",
            )
        )
    model = completion.get("model")
    return response_shell(
        echo, response_id, created_at, model if isinstance(model, str) else None,
        status=status, incomplete=incomplete, output=output,
        usage=response_usage(completion.get("usage")),
    )  # fmt: skip


def response_shell(
    echo: Mapping[str, Any],
    response_id: str,
    created_at: int,
    model: str | None,
    *,
    status: str,
    output: list[dict[str, Any]],
    incomplete: str | None = None,
    usage: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "error": error,
        "incomplete_details": None if incomplete is None else {"reason": incomplete},
        "model": model or "",
        "output": output,
        "usage": usage,
        **echo,
    }


def finish_status(finish_reason: Any) -> tuple[str, str | None]:
    """(the response's status, why it is incomplete) for a chat finish reason."""
    reason = FINISHED.get(finish_reason) if isinstance(finish_reason, str) else None
    return ("incomplete", reason) if reason is not None else ("completed", None)


def new_item_id(prefix: str) -> str:
    return f"{prefix}_{new_id(16)}"


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item_id: str, content: list[dict[str, Any]], status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def function_call_item(
    item_id: str, call_id: str, name: str, arguments: str, status: str
) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def response_usage(usage: Any) -> dict[str, Any] | None:
    """A chat ``usage`` object in the Responses shape (None when the upstream sent none)."""
    if not isinstance(usage, dict):
        return None
    tokens_in = _count(usage.get("prompt_tokens"))
    tokens_out = _count(usage.get("completion_tokens"))
    cached = _count(_detail(usage, "prompt_tokens_details", "cached_tokens"))
    reasoning = _count(_detail(usage, "completion_tokens_details", "reasoning_tokens"))
    return {
        "input_tokens": tokens_in,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": tokens_out,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": tokens_in + tokens_out,
    }


def _detail(usage: Mapping[str, Any], group: str, name: str) -> Any:
    details = usage.get(group)
    return details.get(name) if isinstance(details, dict) else 0


def _count(value: Any) -> int:
    ok = (
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS_REPORTED
    )
    return value if ok else 0
