"""``POST /v1/completions``: OpenAI's legacy text completions, answered by chat models.

A thin front door: the prompt becomes one user message of a chat request, routed, executed and
recorded by `rolecall.gateway.chat.run_chat` like any chat completion, and the answer comes back
as a ``text_completion`` (JSON, or SSE chunks whose ``choices[].text`` carry the text). What a
chat model cannot honour is refused with a 400 naming the parameter (``code:
"unsupported_parameter"``) rather than ignored: several prompts in one request, token-id prompts,
``n`` or ``best_of`` above 1, ``echo``, ``logprobs``, ``suffix``. As OpenAI's own route does,
``max_tokens`` defaults to 16.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

import orjson

from rolecall.gateway.chat import ChatReply
from rolecall.gateway.chat_asgi import Caller, FrontDoor, run_chat_for
from rolecall.gateway.chat_stream import StreamCut, chat_chunks
from rolecall.gateway.openapi import CHAT_HEADERS, Operation, array, obj
from rolecall.gateway.wire import WireError, chat_request, error_body, json_object
from rolecall.gateway.wire_models import routing_headers
from rolecall.services import Services

COMPLETIONS_PATH: Final = "/v1/completions"
DEFAULT_MAX_TOKENS: Final = 16  # OpenAI's default on this route
# parameters a chat model cannot honour → (the neutral values accepted, what the refusal says)
UNSUPPORTED: Final[dict[str, tuple[tuple[Any, ...], str]]] = {
    "n": ((1,), "only one choice per request is served (send n requests)"),
    "best_of": ((1,), "server-side best-of is not served (send several requests and compare)"),
    "echo": ((False,), "echoing the prompt is not served"),
    "logprobs": ((), "log probabilities are not served on this route"),
    "suffix": (("",), "insertion (a suffix after the completion) is not served"),
}
FINISH_REASONS: Final = frozenset({"stop", "length", "content_filter"})

Json = dict[str, Any]


def chat_body(body: Mapping[str, Any]) -> Json:
    """The chat-completions body for a completions body; raises `WireError` naming the field."""
    prompt = _prompt(body.get("prompt"))
    for name, (neutral, why) in UNSUPPORTED.items():
        value = body.get(name)
        if value is not None and not _neutral(value, neutral):
            raise WireError(
                400,
                f"'{name}' is not supported by rolecall's completions route: {why}; "
                f"omit it{f' or send {neutral[0]!r}' if neutral else ''}",
                param=name,
                code="unsupported_parameter",
            )
    out = {k: v for k, v in body.items() if k != "prompt" and k not in UNSUPPORTED}
    out["messages"] = [{"role": "user", "content": prompt}]
    if out.get("max_tokens") is None:
        out["max_tokens"] = DEFAULT_MAX_TOKENS
    return out


def _neutral(value: Any, neutral: tuple[Any, ...]) -> bool:
    # ``type(...) is`` keeps True from passing for 1 and 1 for True
    return any(type(value) is type(ok) and value == ok for ok in neutral)


def _prompt(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        return prompt[0]
    if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        raise WireError(
            400,
            f"'prompt' holds {len(prompt)} prompts; rolecall's completions route answers one "
            "prompt per request (send one request each)",
            param="prompt",
            code="unsupported_parameter",
        )
    if isinstance(prompt, list) and prompt:
        raise WireError(
            400,
            "'prompt' as token ids is not supported: the routed models each tokenize "
            "differently; send the prompt as text",
            param="prompt",
            code="unsupported_parameter",
        )
    raise WireError(400, "'prompt' is required and must be a string", param="prompt")


def text_completion(chat: Mapping[str, Any], completion_id: str) -> Json:
    """A chat completion as a ``text_completion``."""
    choices = chat.get("choices")
    out: Json = {
        "id": completion_id,
        "object": "text_completion",
        "created": chat.get("created") or int(time.time()),
        "model": chat.get("model") or "",
        "choices": [
            _choice(choice.get("message"), choice)
            for choice in (choices if isinstance(choices, list) else [])
            if isinstance(choice, dict)
        ],
    }
    if isinstance(chat.get("usage"), dict):
        out["usage"] = chat["usage"]
    return out


def _choice(said: Any, choice: Mapping[str, Any]) -> Json:
    """One choice (``said`` is the chat message or stream delta) with ``text``."""
    text = said.get("content") if isinstance(said, dict) else None
    finish = choice.get("finish_reason")
    if finish is not None:
        finish = finish if finish in FINISH_REASONS else "stop"
    return {
        "text": text if isinstance(text, str) else "",
        "index": choice.get("index", 0),
        "logprobs": None,
        "finish_reason": finish,
    }


def stream_chunk(chunk: Mapping[str, Any], completion_id: str, model: str) -> Json | None:
    """A chat chunk as a ``text_completion`` chunk; None for one with nothing to say (the role
    chunk, a tool-call delta)."""
    choices = chunk.get("choices")
    choices = [c for c in choices if isinstance(c, dict)] if isinstance(choices, list) else []
    out: Json = {
        "id": completion_id,
        "object": "text_completion",
        "created": chunk.get("created") or int(time.time()),
        "model": chunk.get("model") or model,
        "choices": [_choice(c.get("delta"), c) for c in choices],
    }
    out["choices"] = [c for c in out["choices"] if c["text"] or c["finish_reason"]]
    if isinstance(chunk.get("usage"), dict):
        out["usage"] = chunk["usage"]
    elif not out["choices"]:
        return None
    return out


async def completion_stream(
    stream: AsyncIterator[bytes], completion_id: str, model: str
) -> AsyncIterator[bytes]:
    """The ``text_completion`` chunks of a chat reply's stream, its error event if cut, then
    ``[DONE]``; the chat stream is drained to its end (its relay records the request)."""
    chunks = chat_chunks(stream)
    try:
        async for item in chunks:
            if isinstance(item, StreamCut):
                error = error_body(item.message, "upstream_error", code="stream_truncated")
                yield b"data: " + error + b"\n\n"
                continue
            out = stream_chunk(item, completion_id, model)
            if out is not None:
                yield b"data: " + orjson.dumps(out) + b"\n\n"
        yield b"data: [DONE]\n\n"
    finally:
        await chunks.aclose()


async def serve_completions(
    services: Services, raw: bytes, headers: Mapping[str, str], caller: Caller
) -> ChatReply:
    chat = chat_request(chat_body(json_object(raw)), headers)
    reply = await run_chat_for(services, chat, headers, caller)
    # errors are OpenAI's objects already; a decision-only answer is rolecall's own
    if reply.status >= 400 or "x-rolecall-endpoint" not in reply.headers:
        return reply
    completion_id = "cmpl-" + caller.request_id.removeprefix("req-")
    if reply.stream is not None:
        model = reply.headers.get("x-rolecall-model", chat.model)
        translated = completion_stream(reply.stream, completion_id, model)
        return ChatReply(reply.status, reply.headers, stream=translated)
    completion: Any = orjson.loads(reply.body)
    if not isinstance(completion, dict):
        completion = {}
    body = orjson.dumps(text_completion(completion, completion_id))
    return ChatReply(reply.status, reply.headers, body)


COMPLETIONS_DOOR: Final = FrontDoor(COMPLETIONS_PATH, serve_completions)


COMPLETIONS_REQUEST: Final = {
    **obj(
        "model",
        "prompt",
        model={"type": "string", "minLength": 1},
        prompt={
            "anyOf": [{"type": "string"}, array({"type": "string"}) | {"maxItems": 1}],
            "description": "one prompt (several, or token ids, are refused naming 'prompt')",
        },
        max_tokens={"type": "integer", "minimum": 1, "default": DEFAULT_MAX_TOKENS},
        temperature={"type": "number", "minimum": 0, "maximum": 2},
        top_p={"type": "number", "minimum": 0, "maximum": 1},
        stream={"type": "boolean"},
        n={"const": 1},
        best_of={"const": 1},
        echo={"const": False},
        suffix={"const": ""},
    ),
    "description": "an OpenAI legacy completions request; other fields are forwarded as chat's",
}
TEXT_COMPLETION: Final = {
    **obj(
        "object",
        object={"type": "string"},
        choices=array(obj("text", "index", text={"type": "string"}, index={"type": "integer"})),
    ),
    "description": "a text_completion, or a rolecall.decision for the decision-only scope",
}
OPERATIONS: Final = [
    Operation(
        "post",
        COMPLETIONS_PATH,
        "Legacy completions: the prompt routed as one user message (SSE when stream is true)",
        "gateway_key",
        TEXT_COMPLETION,
        params=routing_headers(),
        body=COMPLETIONS_REQUEST,
        errors=(400, 404, 413, 502, 503),
        headers=CHAT_HEADERS,
        also={"text/event-stream": {"schema": {"type": "string"}}},
    ),
]
