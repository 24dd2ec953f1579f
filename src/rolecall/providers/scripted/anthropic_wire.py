"""Anthropic Messages wire shapes for the scripted upstream: the message body, the SSE events
(``message_start`` … ``message_stop``) and error bodies. OpenAI-shaped scripted tool calls become
``tool_use`` blocks whose ``input`` is the parsed arguments."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

from .script import ModelScript
from .tokens import chunk_text, completion_tokens, tool_function

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}

Event = tuple[str, dict[str, Any]]


def error_body(status: int, message: str) -> dict[str, Any]:
    """An Anthropic-style error body for ``status``."""
    kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def _tool_use(call: dict[str, Any], index: int) -> dict[str, Any]:
    name, arguments = tool_function(call)
    try:
        parsed = json.loads(arguments) if arguments else {}
    except json.JSONDecodeError:
        parsed = {}
    tool_input = parsed if isinstance(parsed, dict) else {}
    return {
        "type": "tool_use",
        "id": call.get("id", f"toolu_{index}"),
        "name": name,
        "input": tool_input,
    }


class MessagesResponse:
    """One Messages API response (Anthropic's ``message`` object): identity and usage; renders the
    body or the stream events."""

    def __init__(self, model: str, script: ModelScript, input_tokens: int) -> None:
        self.id = f"msg_{uuid.uuid4().hex[:24]}"
        self.model = model
        self.script = script
        self.chunks = chunk_text(script.answer, script.chunk_tokens)
        self.input_tokens = input_tokens
        self.output_tokens = completion_tokens(script.answer, script.tool_calls)

    @property
    def stop_reason(self) -> str:
        return "tool_use" if self.script.tool_calls else "end_turn"

    def _envelope(self, content: list[dict[str, Any]], stop_reason: str | None) -> dict[str, Any]:
        output = self.output_tokens if stop_reason else 1
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": output},
        }

    def body(self) -> dict[str, Any]:
        """The non-streaming message body."""
        content: list[dict[str, Any]] = []
        if self.script.answer:
            content.append({"type": "text", "text": self.script.answer})
        content += [_tool_use(call, i) for i, call in enumerate(self.script.tool_calls or [])]
        return self._envelope(content, self.stop_reason)

    def start_events(self) -> list[Event]:
        """``message_start`` and, when there is an answer, the text block's start."""
        events: list[Event] = [
            ("message_start", {"type": "message_start", "message": self._envelope([], None)})
        ]
        if self.chunks:
            block = {"type": "text", "text": ""}
            events.append(_block_start(0, block))
        return events

    def text_delta(self, text: str) -> Event:
        return _delta(0, {"type": "text_delta", "text": text})

    def end_events(self) -> Iterator[Event]:
        """The text block's stop, the tool-use blocks, ``message_delta`` and ``message_stop``."""
        index = 0
        if self.chunks:
            yield _block_stop(0)
            index = 1
        for offset, call in enumerate(self.script.tool_calls or []):
            block = _tool_use(call, offset)
            yield _block_start(index + offset, {**block, "input": {}})
            partial = json.dumps(block["input"])
            yield _delta(index + offset, {"type": "input_json_delta", "partial_json": partial})
            yield _block_stop(index + offset)
        delta = {"stop_reason": self.stop_reason, "stop_sequence": None}
        usage = {"output_tokens": self.output_tokens}
        yield "message_delta", {"type": "message_delta", "delta": delta, "usage": usage}
        yield "message_stop", {"type": "message_stop"}


def _block_start(index: int, block: dict[str, Any]) -> Event:
    return "content_block_start", {
        "type": "content_block_start",
        "index": index,
        "content_block": block,
    }


def _delta(index: int, delta: dict[str, Any]) -> Event:
    return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}


def _block_stop(index: int) -> Event:
    return "content_block_stop", {"type": "content_block_stop", "index": index}
