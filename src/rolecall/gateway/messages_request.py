"""Anthropic Messages requests (``POST /v1/messages``) as chat-completions bodies.

The inbound direction: a client speaking Anthropic's wire format is routed like any chat request,
so its body becomes the chat body `rolecall.gateway.wire.chat_request` checks (the outbound
direction, chat → Anthropic for an Anthropic upstream, is `rolecall.providers.anthropic`).
Checked by hand like `wire.py`, every refusal naming the field of the body the client sent. This
module translates the top-level fields and the tools; `rolecall.gateway.messages_content` the
system prompt and the turns.

What has no chat equivalent is refused, naming the field (Anthropic's server tools, ``max_tokens``
of 0). Fields rolecall does not translate (``thinking``, ``output_config.effort``,
``service_tier``, ``container``, ``cache_control``, ...) are ignored, so a newer client still gets
an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from rolecall.gateway.messages_content import chat_messages, fail, string, system_messages
from rolecall.gateway.wire import MAX_TOKENS_REPORTED, WireError, shown
from rolecall.gateway.wire_identity import MAX_USER_CHARS

TOOL_CHOICES: Final = {"auto": "auto", "any": "required", "none": "none"}

Json = dict[str, Any]


def chat_body(body: Mapping[str, Any], *, counting: bool = False) -> Json:
    """The chat-completions body for a Messages body (``counting``: for ``count_tokens``, where
    ``max_tokens`` is not asked for). Raises `WireError` naming the Messages field."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise fail("model", "is required and must be a non-empty string")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise fail("messages", "is required and must be a non-empty array")
    out: Json = {
        "model": model,
        "messages": [*system_messages(body.get("system")), *chat_messages(messages)],
    }
    max_tokens = body.get("max_tokens")
    if max_tokens is not None or not counting:
        out["max_tokens"] = _max_tokens(max_tokens)
    _sampling(body, out)
    _tools(body, out)
    _output_format(body.get("output_config"), out)
    if not counting and body.get("stream") is not None:
        stream = body["stream"]
        if not isinstance(stream, bool):
            raise fail("stream", "must be true or false")
        out["stream"] = stream
        if stream:  # exact token counts for message_delta's usage
            out["stream_options"] = {"include_usage": True}
    user = _user_id(body.get("metadata"))
    if user is not None:
        out["user"] = user
    for extension in ("rolecall", "role_model"):  # routing options and intent: the chat parser's
        if extension in body:
            out[extension] = body[extension]
    return out


def _max_tokens(value: Any) -> int:
    if value is None:
        raise fail("max_tokens", "is required (the most tokens to generate)")
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail("max_tokens", "must be a positive integer")
    if value == 0:  # Anthropic's prompt-cache warming: no routed model keeps that cache
        raise fail("max_tokens", "of 0 (warming a prompt cache) is not served; ask for 1 or more")
    if not 1 <= value <= MAX_TOKENS_REPORTED:
        raise fail("max_tokens", f"must be between 1 and {MAX_TOKENS_REPORTED}")
    return value


def _sampling(body: Mapping[str, Any], out: Json) -> None:
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise fail(name, "must be a number between 0 and 1")
        out[name] = value
    top_k = body.get("top_k")
    if top_k is not None:
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
            raise fail("top_k", "must be an integer >= 0")
        out["top_k"] = top_k
    stops = body.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
            raise fail("stop_sequences", "must be an array of non-empty strings")
        if stops:
            out["stop"] = stops


def _output_format(config: Any, out: Json) -> None:
    """Structured output (``output_config.format``, a JSON Schema) as chat's ``response_format``,
    so routing prefers endpoints that keep to a schema; ``effort`` has no chat equivalent."""
    if config is None:
        return
    if not isinstance(config, dict):
        raise fail("output_config", "must be an object")
    spec = config.get("format")
    if spec is None:
        return
    if not isinstance(spec, dict) or spec.get("type") != "json_schema":
        raise fail("output_config.format", "must be an object with 'type': 'json_schema'")
    schema = spec.get("schema")
    if not isinstance(schema, dict):
        raise fail("output_config.format.schema", "must be an object (a JSON Schema)")
    out["response_format"] = {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema},
    }


def _user_id(metadata: Any) -> str | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise fail("metadata", "must be an object (with an optional 'user_id')")
    user = metadata.get("user_id")
    if user is not None and (not isinstance(user, str) or len(user) > MAX_USER_CHARS):
        raise fail("metadata.user_id", f"must be a string of at most {MAX_USER_CHARS} characters")
    return user or None


def _tools(body: Mapping[str, Any], out: Json) -> None:
    tools = body.get("tools")
    if tools is None:
        if body.get("tool_choice") is not None:
            _tool_choice(body["tool_choice"], set())  # checked; without tools it changes nothing
        return
    if not isinstance(tools, list):
        raise fail("tools", "must be an array")
    functions = [_function(tool, f"tools[{i}]") for i, tool in enumerate(tools)]
    if not functions:
        return
    out["tools"] = functions
    names = {f["function"]["name"] for f in functions}
    choice = body.get("tool_choice")
    if choice is not None:
        chosen, parallel = _tool_choice(choice, names)
        out["tool_choice"] = chosen
        if parallel is not None:
            out["parallel_tool_calls"] = parallel


def _function(tool: Any, where: str) -> Json:
    if not isinstance(tool, dict):
        raise fail(where, "must be an object with 'name' and 'input_schema'")
    kind = tool.get("type")
    if kind not in (None, "custom"):
        raise WireError(
            400,
            f"'{where}.type' {shown(kind)} is one of Anthropic's own tools, which other models "
            "cannot run; declare a custom tool with 'name' and 'input_schema'",
            param=f"{where}.type",
        )
    schema = tool.get("input_schema")
    if not isinstance(schema, dict):
        raise fail(f"{where}.input_schema", "must be an object (a JSON Schema)")
    function: Json = {"name": string(tool, "name", where), "parameters": schema}
    description = tool.get("description")
    if description is not None:
        if not isinstance(description, str):
            raise fail(f"{where}.description", "must be a string")
        function["description"] = description
    strict = tool.get("strict")
    if strict is not None:
        if not isinstance(strict, bool):
            raise fail(f"{where}.strict", "must be true or false")
        function["strict"] = strict
    return {"type": "function", "function": function}


def _tool_choice(choice: Any, names: set[str]) -> tuple[Any, bool | None]:
    """(chat ``tool_choice``, ``parallel_tool_calls`` or None when not asked about)."""
    if not isinstance(choice, dict) or choice.get("type") not in (*TOOL_CHOICES, "tool"):
        raise fail("tool_choice", "must be an object with 'type' auto, any, tool or none")
    parallel = choice.get("disable_parallel_tool_use")
    if parallel is not None and not isinstance(parallel, bool):
        raise fail("tool_choice.disable_parallel_tool_use", "must be true or false")
    kind = choice["type"]
    if kind != "tool":
        return TOOL_CHOICES[kind], None if parallel is None else not parallel
    name = string(choice, "name", "tool_choice")
    if names and name not in names:
        raise fail("tool_choice.name", f"{shown(name)} is not one of the request's tools")
    chosen = {"type": "function", "function": {"name": name}}
    return chosen, None if parallel is None else not parallel
