"""OpenAI chat-completions wire shapes for the scripted upstream: completions, stream chunks, the
model list and error bodies. Pure functions from a resolved `ModelScript` to JSON-ready dicts."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

from .script import ModelScript
from .tokens import chunk_text, completion_tokens

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    402: ("insufficient_quota", "insufficient_quota"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def error_body(status: int, message: str) -> dict[str, Any]:
    """An OpenAI-style error body for ``status``."""
    kind, code = _ERROR_TYPES.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class Completion:
    """One response's identity and usage; renders the body or the stream chunks."""

    def __init__(self, model: str, script: ModelScript, prompt_tokens: int) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.model = model
        self.script = script
        self.chunks = chunk_text(script.answer, script.chunk_tokens)
        self.prompt_tokens = prompt_tokens

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.script.tool_calls else "stop"

    def usage(self) -> dict[str, int]:
        completion = completion_tokens(self.script.answer, self.script.tool_calls)
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        }

    def body(self) -> dict[str, Any]:
        """The non-streaming ``chat.completion`` body."""
        message: dict[str, Any] = {"role": "assistant", "content": self.script.answer or None}
        if self.script.tool_calls:
            message["tool_calls"] = self.script.tool_calls
        body: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self.finish_reason,
                }
            ],
        }
        if self.script.usage:
            body["usage"] = self.usage()
        return body

    def chunk(
        self, delta: dict[str, Any], finish_reason: str | None = None, *, with_usage: bool = False
    ) -> dict[str, Any]:
        """A ``chat.completion.chunk`` carrying ``delta`` (``usage: null`` when usage is on)."""
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if with_usage:
            chunk["usage"] = None
        return chunk

    def usage_chunk(self) -> dict[str, Any]:
        """The final chunk of ``stream_options.include_usage``: no choices, the usage."""
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": self.usage(),
        }

    def tool_call_deltas(self) -> Iterator[dict[str, Any]]:
        """Per tool call: a delta with id and name, then one with the arguments."""
        for index, call in enumerate(self.script.tool_calls or []):
            function = call.get("function", {})
            yield {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call.get("id", f"call_{index}"),
                        "type": call.get("type", "function"),
                        "function": {"name": function.get("name", ""), "arguments": ""},
                    }
                ]
            }
            arguments = function.get("arguments", "")
            yield {"tool_calls": [{"index": index, "function": {"arguments": arguments}}]}


def models_list(names: list[str]) -> dict[str, Any]:
    """``GET /v1/models`` for the scripted model names."""
    created = int(time.time())
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": created, "owned_by": "scripted"}
            for name in names
        ],
    }
