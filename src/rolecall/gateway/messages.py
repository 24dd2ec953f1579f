"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens``: Anthropic's Messages API inbound.

A thin front door: the body is translated to a chat request (`messages_request`), routed,
executed and recorded by `rolecall.gateway.chat.run_chat` exactly as a chat completion is (the
same decision, limits, fallbacks and records), and the reply is translated back (`messages_wire`
for JSON and errors, `messages_stream` for SSE). Claude Code and the anthropic SDK reach it with
``ANTHROPIC_BASE_URL`` set to the gateway and a gateway key as ``x-api-key``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson

from rolecall.gateway.chat import ChatReply
from rolecall.gateway.chat_asgi import Caller, FrontDoor, run_chat_for
from rolecall.gateway.messages_request import chat_body
from rolecall.gateway.messages_stream import MessageEvents, message_stream
from rolecall.gateway.messages_wire import from_openai_error, message, render_error
from rolecall.gateway.openapi import (
    ANTHROPIC_ERROR_REF,
    CHAT_HEADERS,
    REQUEST_ID,
    Operation,
    array,
    obj,
)
from rolecall.gateway.targets import resolve_target
from rolecall.gateway.wire import ChatRequest, chat_request, json_object
from rolecall.gateway.wire_models import routing_headers
from rolecall.services import Services

MESSAGES_PATH: Final = "/v1/messages"
COUNT_TOKENS_PATH: Final = "/v1/messages/count_tokens"


async def serve_messages(
    services: Services, raw: bytes, headers: Mapping[str, str], caller: Caller
) -> ChatReply:
    chat = chat_request(chat_body(json_object(raw)), headers)
    reply = await run_chat_for(services, chat, headers, caller)
    return answer(reply, chat, caller.request_id)


def answer(reply: ChatReply, chat: ChatRequest, request_id: str) -> ChatReply:
    """The chat reply in Anthropic's shape. A decision-only answer (``rolecall.decision``) is
    rolecall's own object and is returned as it is."""
    headers = {**reply.headers, "request-id": request_id}  # Anthropic's; the SDK reads it
    if reply.status >= 400:
        return ChatReply(reply.status, headers, from_openai_error(reply.status, reply.body))
    message_id = "msg_" + request_id.removeprefix("req-")
    model = reply.headers.get("x-rolecall-model", chat.model)
    stop = chat.body.get("stop")
    stops: list[str] = stop if isinstance(stop, list) else []
    estimate = chat.prompt_tokens_estimate
    if reply.stream is not None:
        events = MessageEvents(message_id, model, stops, estimate)
        return ChatReply(reply.status, headers, stream=message_stream(reply.stream, events))
    if "x-rolecall-endpoint" not in headers:  # no endpoint answered: a decision-only answer
        return ChatReply(reply.status, headers, reply.body)
    completion: Any = orjson.loads(reply.body)
    if not isinstance(completion, dict):
        completion = {}
    translated = message(completion, message_id, model, stops, estimate)
    return ChatReply(reply.status, headers, orjson.dumps(translated))


async def count_tokens(
    services: Services, raw: bytes, headers: Mapping[str, str], caller: Caller
) -> ChatReply:
    """An estimate of the prompt's tokens (the gateway's own, characters / 4, the one routing
    and budgets use), marked ``"estimate": true``: the model that will answer is not known
    before routing, and each counts differently."""
    chat = chat_request(chat_body(json_object(raw), counting=True), headers)
    resolve_target(chat.model, services.routing.view.inventory)  # an unknown model is a 404
    body = {"input_tokens": chat.prompt_tokens_estimate, "estimate": True}
    return ChatReply(200, {"request-id": caller.request_id}, orjson.dumps(body))


MESSAGES_DOOR: Final = FrontDoor(MESSAGES_PATH, serve_messages, render_error)
COUNT_TOKENS_DOOR: Final = FrontDoor(COUNT_TOKENS_PATH, count_tokens, render_error)


_BLOCK: Final = obj("type", type={"type": "string"})
_TEXT_BLOCK: Final = obj("type", "text", type={"const": "text"}, text={"type": "string"})
_REQUEST_FIELDS: Final[dict[str, Any]] = {
    "model": {"type": "string", "minLength": 1},
    "messages": {
        "type": "array",
        "minItems": 1,
        "items": obj(
            "role",
            "content",
            role={"enum": ["user", "assistant"]},
            content={"anyOf": [{"type": "string"}, array(_BLOCK)]},
        ),
    },
    "system": {"anyOf": [{"type": "string"}, array(_TEXT_BLOCK)]},
    "tools": array(obj("name", "input_schema", name={"type": "string"}, input_schema={})),
    "tool_choice": obj("type", type={"enum": ["auto", "any", "tool", "none"]}),
    "output_config": obj(format=obj("type", "schema", type={"const": "json_schema"})),
    "rolecall": {"type": "object", "description": "per-request routing options"},
}
MESSAGES_REQUEST: Final = {
    **obj(
        "model",
        "max_tokens",
        "messages",
        **_REQUEST_FIELDS,
        max_tokens={"type": "integer", "minimum": 1},
        stream={"type": "boolean"},
        temperature={"type": "number", "minimum": 0, "maximum": 1},
        top_p={"type": "number", "minimum": 0, "maximum": 1},
        top_k={"type": "integer", "minimum": 0},
        stop_sequences=array({"type": "string", "minLength": 1}),
        metadata=obj(user_id={"type": ["string", "null"], "maxLength": 256}),
    ),
    "description": "an Anthropic Messages request; fields not listed are ignored",
}
MESSAGE_REPLY: Final = {
    **obj(
        id={"type": "string"},
        type={"const": "message"},
        role={"const": "assistant"},
        model={"type": "string"},
        content=array(_BLOCK),
        stop_reason={"type": ["string", "null"]},
        usage=obj("input_tokens", "output_tokens"),
    ),
    "description": "an Anthropic message, or a rolecall.decision for the decision-only scope",
}
OPERATIONS: Final = [
    Operation(
        "post",
        MESSAGES_PATH,
        "Anthropic Messages: route and execute like a chat completion (SSE when stream is true)",
        "gateway_key",
        MESSAGE_REPLY,
        params=routing_headers(),
        body=MESSAGES_REQUEST,
        errors=(400, 404, 413, 502, 503),
        headers={**CHAT_HEADERS, "request-id": {"schema": {"type": "string"}}},
        also={"text/event-stream": {"schema": {"type": "string"}}},
        error=ANTHROPIC_ERROR_REF,
    ),
    Operation(
        "post",
        COUNT_TOKENS_PATH,
        "Anthropic token count: the gateway's estimate of the prompt (marked estimate: true)",
        "gateway_key",
        obj("input_tokens", "estimate", input_tokens={"type": "integer"}, estimate={"const": True}),
        body=obj("model", "messages", **_REQUEST_FIELDS),
        errors=(400, 404, 413),
        headers={**REQUEST_ID, "request-id": {"schema": {"type": "string"}}},
        error=ANTHROPIC_ERROR_REF,
    ),
]
