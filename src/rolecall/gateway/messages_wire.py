"""Anthropic's Messages wire format for replies: a chat completion as a ``message``, stop reasons,
usage, and Anthropic's error object.

Pure functions over plain dicts (the request direction is `rolecall.gateway.messages_request`, the
streamed reply `rolecall.gateway.messages_stream`). The shapes are those the official ``anthropic``
SDK parses: ``{"type": "error", "error": {"type", "message"}}`` for errors, whose ``type`` follows
the status as Anthropic's own API does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from rolecall.gateway.wire import WireError, token_count

# chat finish reasons → Anthropic stop reasons (``stop`` may become ``stop_sequence``: `stop_of`)
STOP_REASONS: Final = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
ERROR_TYPES: Final = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}

Json = dict[str, Any]


def error_type(status: int) -> str:
    return ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_body(status: int, message: str) -> bytes:
    return orjson.dumps(
        {"type": "error", "error": {"type": error_type(status), "message": message}}
    )


def render_error(error: WireError) -> bytes:
    """A refusal in Anthropic's shape. It has no ``param``: the message names the field (every
    message of rolecall's checks quotes it; one that does not gets it as a prefix)."""
    message = error.message
    if error.param and error.param not in message:
        message = f"{error.param}: {message}"
    return error_body(error.status, message)


def from_openai_error(status: int, body: bytes) -> bytes:
    """An error answer of the routed path (an OpenAI-style object: a refusal, no endpoint, every
    upstream failed) in Anthropic's shape, keeping its message."""
    try:
        error = orjson.loads(body).get("error")
        message = error["message"]
        param = error.get("param")
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError):
        message, param = "the request failed", None
    if not isinstance(message, str):
        message = "the request failed"
    if isinstance(param, str) and param not in message:
        message = f"{param}: {message}"
    return error_body(status, message)


def stop_of(choice: Mapping[str, Any], stops: Sequence[str]) -> tuple[str | None, str | None]:
    """(stop reason, the stop sequence that ended the answer). Chat says ``stop`` for both a
    natural end and a stop sequence; servers that name the matched string (vLLM's
    ``stop_reason``) let it be told apart."""
    finish = choice.get("finish_reason")
    if not isinstance(finish, str):
        return None, None
    matched = choice.get("stop_reason")
    if finish == "stop" and isinstance(matched, str) and matched in stops:
        return "stop_sequence", matched
    return STOP_REASONS.get(finish, "end_turn"), None


def usage(reported: Any, input_estimate: int) -> Json:
    """Anthropic usage from chat usage: cached prompt tokens (``prompt_tokens_details``) are
    Anthropic's cache reads, which its ``input_tokens`` does not include. Without a report, the
    gateway's own estimate of the prompt (the record's too) and no output."""
    if not isinstance(reported, dict):
        reported = {}
    tokens_in = token_count(reported.get("prompt_tokens"))
    tokens_out = token_count(reported.get("completion_tokens")) or 0
    details = reported.get("prompt_tokens_details")
    cached = token_count(details.get("cached_tokens")) if isinstance(details, dict) else None
    if tokens_in is None:
        tokens_in, cached = input_estimate, None
    cached = min(cached or 0, tokens_in)
    return {
        "input_tokens": tokens_in - cached,
        "output_tokens": tokens_out,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }


def tool_input(arguments: Any) -> Json:
    """A chat tool call's ``arguments`` (JSON text) as a ``tool_use`` block's ``input`` object;
    text that is not a JSON object is kept whole under ``arguments`` rather than lost."""
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str) or not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {"arguments": arguments}
    return value if isinstance(value, dict) else {"arguments": arguments}


def text_of(content: Any) -> str:
    """A chat message's ``content``: a string, or an array of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def tool_use_id(call: Mapping[str, Any], fallback: str) -> str:
    call_id = call.get("id")
    return call_id if isinstance(call_id, str) and call_id else fallback


def message(
    completion: Mapping[str, Any],
    message_id: str,
    model: str,
    stops: Sequence[str],
    input_estimate: int,
) -> Json:
    """A chat completion (the upstream's answer) as an Anthropic ``message``."""
    choices = completion.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else {}
    if not isinstance(choice, dict):
        choice = {}
    said = choice.get("message")
    said = said if isinstance(said, dict) else {}
    content: list[Json] = []
    text = text_of(said.get("content"))
    if text:
        content.append({"type": "text", "text": text})
    calls = said.get("tool_calls")
    for i, call in enumerate(calls if isinstance(calls, list) else []):
        if not isinstance(call, dict):
            continue
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        name = function.get("name")
        content.append(
            {
                "type": "tool_use",
                "id": tool_use_id(call, f"toolu_{message_id}_{i}"),
                "name": name if isinstance(name, str) else "",
                "input": tool_input(function.get("arguments")),
            }
        )
    reason, sequence = stop_of(choice, stops)
    if reason in (None, "end_turn") and any(b["type"] == "tool_use" for b in content):
        reason = "tool_use"  # some servers finish a tool call with "stop"
    answered = completion.get("model")
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": answered if isinstance(answered, str) and answered else model,
        "content": content,
        "stop_reason": reason or "end_turn",
        "stop_sequence": sequence,
        "usage": usage(completion.get("usage"), input_estimate),
    }
