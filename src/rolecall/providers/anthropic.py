"""The Anthropic Messages API adapter, translating to and from the OpenAI chat format.

Requests: system messages become ``system``; image parts become image blocks; tools and tool choice,
assistant tool calls (``tool_use``) and tool results (``tool_result``) are mapped both ways. Responses
and streams come back as OpenAI ``chat.completion`` objects and ``chat.completion.chunk`` events, so
the gateway and its clients see one wire format.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

import aiohttp
import orjson

from rolecall.execution.failures import UpstreamFailure
from rolecall.inventory.config import ProviderConfig
from rolecall.providers.openai_compat import (
    OpenStream,
    open_stream,
    post_json,
    resolve_api_key,
    sse_payloads,
    upstream_call,
)
from rolecall.providers.timeouts import Timeouts

ANTHROPIC_VERSION: Final = "2023-06-01"
DEFAULT_MAX_TOKENS: Final = 1024
STOP_REASONS: Final = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
}


def to_anthropic(body: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAI chat-completions body as an Anthropic Messages body."""
    system: list[str] = []
    messages: list[dict[str, Any]] = []
    for m in body["messages"]:
        role = m.get("role")
        if role in ("system", "developer"):
            system.append(_text_of(m.get("content")))
        elif role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": m.get("tool_call_id", ""),
                "content": _text_of(m.get("content")),
            }
            messages.append({"role": "user", "content": [block]})
        elif role == "assistant":
            messages.append({"role": "assistant", "content": _assistant_blocks(m)})
        else:
            messages.append({"role": "user", "content": _user_blocks(m.get("content"))})
    out: dict[str, Any] = {
        "model": body["model"],
        "messages": messages,
        "max_tokens": body.get("max_completion_tokens")
        or body.get("max_tokens")
        or DEFAULT_MAX_TOKENS,
    }
    if system:
        out["system"] = "\n\n".join(system)
    for key in ("temperature", "top_p", "stream"):
        if key in body:
            out[key] = body[key]
    if body.get("stop"):
        stop = body["stop"]
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("tools"):
        out["tools"] = [
            {
                "name": t["function"]["name"],
                "description": t["function"].get("description", ""),
                "input_schema": t["function"].get("parameters")
                or {"type": "object", "properties": {}},
            }
            for t in body["tools"]
            if t.get("type") == "function"
        ]
        choice = body.get("tool_choice")
        if choice == "required":
            out["tool_choice"] = {"type": "any"}
        elif isinstance(choice, dict) and choice.get("type") == "function":
            out["tool_choice"] = {"type": "tool", "name": choice["function"]["name"]}
    return out


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _user_blocks(content: Any) -> list[dict[str, Any]] | str:
    if not isinstance(content, list):
        return _text_of(content)
    blocks: list[dict[str, Any]] = []
    for part in content:
        if part.get("type") == "text":
            blocks.append({"type": "text", "text": part.get("text", "")})
        elif part.get("type") == "image_url":
            url = (part.get("image_url") or {}).get("url", "")
            blocks.append({"type": "image", "source": _image_source(url)})
    return blocks


def _image_source(url: str) -> dict[str, Any]:
    if url.startswith("data:") and ";base64," in url:
        media, data = url[5:].split(";base64,", 1)
        return {"type": "base64", "media_type": media, "data": data}
    return {"type": "url", "url": url}


def _assistant_blocks(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    text = _text_of(message.get("content"))
    if text:
        blocks.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or []:
        fn = call.get("function", {})
        try:
            arguments = orjson.loads(fn.get("arguments") or "{}")
        except orjson.JSONDecodeError:
            arguments = {}
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id", ""),
                "name": fn.get("name", ""),
                "input": arguments,
            }
        )
    return blocks


def from_anthropic(message: Mapping[str, Any], model: str) -> dict[str, Any]:
    """An Anthropic Messages response as an OpenAI chat.completion object."""
    text = ""
    tool_calls = []
    for block in message.get("content") or []:
        if block.get("type") == "text":
            text += block.get("text", "")
        elif block.get("type") == "tool_use":
            tool_calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {
                        "name": block.get("name", ""),
                        "arguments": orjson.dumps(block.get("input") or {}).decode(),
                    },
                }
            )
    reply: dict[str, Any] = {"role": "assistant", "content": text or None}
    if tool_calls:
        reply["tool_calls"] = tool_calls
    usage = message.get("usage") or {}
    tokens_in, tokens_out = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    return {
        "id": message.get("id", "msg"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": message.get("model", model),
        "choices": [
            {
                "index": 0,
                "message": reply,
                "finish_reason": STOP_REASONS.get(message.get("stop_reason") or "", "stop"),
            }
        ],
        "usage": {
            "prompt_tokens": tokens_in,
            "completion_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
        },
    }


class AnthropicAdapter:
    """Sends translated bodies to ``{base_url}/messages``."""

    def __init__(self, session: aiohttp.ClientSession, timeouts: Timeouts) -> None:
        self._session = session
        self._timeouts = timeouts

    def _headers(self, provider: ProviderConfig, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"content-type": "application/json", "anthropic-version": ANTHROPIC_VERSION}
        if extra:
            headers.update(extra)
        key = resolve_api_key(provider)
        if key:
            headers["x-api-key"] = key
        return headers

    def _call(
        self,
        provider: ProviderConfig,
        body: Mapping[str, Any],
        stream: bool,
        headers: Mapping[str, str] | None,
    ) -> upstream_call:
        return upstream_call(
            self._session,
            f"{provider.base_url}/messages",
            to_anthropic({**body, "stream": stream}),
            self._headers(provider, headers),
            self._timeouts.for_provider(provider),
        )

    async def complete(
        self,
        provider: ProviderConfig,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        message = await post_json(self._call(provider, body, False, headers))
        if not isinstance(message, dict):
            raise UpstreamFailure("bad_response", 200, "upstream returned an unexpected body")
        return from_anthropic(message, str(body.get("model", "")))

    async def stream(
        self,
        provider: ProviderConfig,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> OpenStream:
        model = str(body.get("model", ""))
        return await open_stream(
            self._call(provider, body, True, headers),
            lambda response, watch: _openai_chunks(
                sse_payloads(response, watch, require_done=False), model
            ),
            strip_usage=False,  # usage rides on the finish chunk, as Anthropic reports it
        )

    async def embed(
        self,
        provider: ProviderConfig,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Anthropic has no embeddings API. The inventory never lets an Anthropic endpoint
        declare ``embeddings.text``, so the router does not pick one; this is the last guard."""
        raise UpstreamFailure(
            "invalid_request",
            400,
            "provider kind 'anthropic' has no embeddings API; route embeddings to an "
            "OpenAI-compatible endpoint that declares 'embeddings.text'",
        )


async def _openai_chunks(events: AsyncIterator[bytes], model: str) -> AsyncIterator[bytes]:
    """Anthropic stream events → OpenAI chat.completion.chunk payloads."""
    message_id, created, tool_index = "msg", int(time.time()), -1
    tokens_in = 0
    async for raw in events:
        event = orjson.loads(raw)
        kind = event.get("type")
        delta: dict[str, Any] | None = None
        finish = None
        usage = None
        if kind == "message_start":
            message = event.get("message") or {}
            message_id = message.get("id", message_id)
            tokens_in = int((message.get("usage") or {}).get("input_tokens", 0))
            delta = {"role": "assistant", "content": ""}
        elif (
            kind == "content_block_start"
            and (event.get("content_block") or {}).get("type") == "tool_use"
        ):
            block = event["content_block"]
            tool_index += 1
            delta = {
                "tool_calls": [
                    {
                        "index": tool_index,
                        "id": block.get("id", ""),
                        "type": "function",
                        "function": {"name": block.get("name", ""), "arguments": ""},
                    }
                ]
            }
        elif kind == "content_block_delta":
            d = event.get("delta") or {}
            if d.get("type") == "text_delta":
                delta = {"content": d.get("text", "")}
            elif d.get("type") == "input_json_delta":
                delta = {
                    "tool_calls": [
                        {"index": tool_index, "function": {"arguments": d.get("partial_json", "")}}
                    ]
                }
        elif kind == "message_delta":
            finish = STOP_REASONS.get((event.get("delta") or {}).get("stop_reason") or "", "stop")
            tokens_out = int((event.get("usage") or {}).get("output_tokens", 0))
            usage = {
                "prompt_tokens": tokens_in,
                "completion_tokens": tokens_out,
                "total_tokens": tokens_in + tokens_out,
            }
            delta = {}
        elif kind == "message_stop":
            return
        elif kind == "error":
            raise UpstreamFailure("upstream_5xx", 0, "upstream stream reported an error")
        if delta is None:
            continue
        chunk: dict[str, Any] = {
            "id": message_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if usage is not None:
            chunk["usage"] = usage
        yield orjson.dumps(chunk)
    raise UpstreamFailure("network", 0, "upstream stream ended before message_stop")
