"""The scripted upstream's HTTP app (aiohttp.web): routes, failure injection and SSE streaming.

Routes: ``POST /v1/chat/completions`` and ``POST /v1/embeddings`` (OpenAI), ``POST /v1/messages``
(Anthropic), ``GET /v1/models``, ``GET /health``, and the control routes ``PUT /_script``,
``GET /_stats``, ``POST /_reset``.
Handlers parse the request, ask `UpstreamState.plan` what to do, then `_play` it: wait the
latency, inject the failure if one fires, answer as JSON or as a paced event stream. The two wire
formats differ only in their `Reply`: the JSON body, the SSE framing (how a stream starts, carries
a piece of text, and ends) and the error bodies.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any, Protocol

import orjson
from aiohttp import web

from . import anthropic_wire, openai_wire
from .embeddings_wire import EmbeddingsReply, InputError, inputs_of
from .engine import Plan, UpstreamState
from .script import Failure, Script, ScriptError, load_script
from .tokens import last_user_text, prompt_tokens, send_offsets

STATE = web.AppKey("state", UpstreamState)
GARBAGE = b"<html><body>502 Bad Gateway (scripted garbage)</body></html>"
MAX_BODY_BYTES = 64 * 1024 * 1024


class Reply(Protocol):
    """One wire format's answer: the chunks to stream, the JSON body, SSE framing, error bodies."""

    chunks: list[tuple[str, int]]

    def body(self) -> dict[str, Any]: ...
    def head(self) -> bytes: ...
    def piece(self, text: str) -> bytes: ...
    def tail(self) -> bytes: ...
    def error(self, status: int, message: str) -> web.Response: ...


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def openai_error(status: int, message: str) -> web.Response:
    return _json(openai_wire.error_body(status, message), status)


def anthropic_error(status: int, message: str) -> web.Response:
    return _json(anthropic_wire.error_body(status, message), status)


def _sse(data: Any, event: str | None = None) -> bytes:
    prefix = f"event: {event}\n".encode() if event else b""
    return prefix + b"data: " + orjson.dumps(data) + b"\n\n"


class OpenAIReply:
    def __init__(self, completion: openai_wire.Completion, include_usage: bool) -> None:
        self.completion = completion
        self.chunks = completion.chunks
        self.include_usage = include_usage

    def body(self) -> dict[str, Any]:
        return self.completion.body()

    def error(self, status: int, message: str) -> web.Response:
        return openai_error(status, message)

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        return _sse(self.completion.chunk(delta, finish_reason, with_usage=self.include_usage))

    def head(self) -> bytes:
        return self._chunk({"role": "assistant", "content": ""})

    def piece(self, text: str) -> bytes:
        return self._chunk({"content": text})

    def tail(self) -> bytes:
        completion = self.completion
        frames = [self._chunk(delta) for delta in completion.tool_call_deltas()]
        frames.append(self._chunk({}, completion.finish_reason))
        if self.include_usage and completion.script.usage:
            frames.append(_sse(completion.usage_chunk()))
        frames.append(b"data: [DONE]\n\n")
        return b"".join(frames)


class AnthropicReply:
    def __init__(self, message: anthropic_wire.MessagesResponse) -> None:
        self.message = message
        self.chunks = message.chunks

    def body(self) -> dict[str, Any]:
        return self.message.body()

    def error(self, status: int, message: str) -> web.Response:
        return anthropic_error(status, message)

    def head(self) -> bytes:
        return b"".join(_sse(data, event) for event, data in self.message.start_events())

    def piece(self, text: str) -> bytes:
        event, data = self.message.text_delta(text)
        return _sse(data, event)

    def tail(self) -> bytes:
        return b"".join(_sse(data, event) for event, data in self.message.end_events())


def _drop(request: web.Request, *, reset: bool) -> web.Response:
    """Close the connection (after flushing what was written; with ``reset``, an abortive RST)."""
    transport = request.transport
    if transport is not None:
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()
    return web.Response()  # never sent: the connection is gone


async def _inject(
    request: web.Request, failure: Failure, reply: Reply, stream: bool
) -> web.StreamResponse | None:
    """Act out ``failure``; None means answer normally (a streamed ``cut`` happens mid-stream)."""
    if failure.kind == "status":
        return reply.error(failure.status, f"scripted failure: HTTP {failure.status}")
    if failure.kind == "garbage":
        return web.Response(body=GARBAGE, headers={"content-type": "application/json"})
    if failure.kind == "timeout":
        await asyncio.sleep(failure.seconds)
        return _drop(request, reset=False)
    if failure.kind == "cut" and stream:
        return None
    return _drop(request, reset=True)


async def _stream(
    request: web.Request, reply: Reply, plan: Plan, cut_after: int | None
) -> web.StreamResponse:
    """The paced event stream; with ``cut_after``, the connection drops after that many chunks."""
    headers = {"content-type": "text/event-stream", "cache-control": "no-cache"}
    response = web.StreamResponse(headers=headers)
    offsets = send_offsets((count for _, count in reply.chunks), plan.script.tokens_per_sec)
    loop = asyncio.get_running_loop()
    try:
        await response.prepare(request)
        await response.write(reply.head())
        start = loop.time()
        for index, (text, _) in enumerate(reply.chunks):
            if cut_after is not None and index >= cut_after:
                break
            await asyncio.sleep(max(0.0, start + offsets[index] - loop.time()))
            await response.write(reply.piece(text))
        if cut_after is not None:
            return _drop(request, reset=False)
        await response.write(reply.tail())
        await response.write_eof()
    except ConnectionResetError:  # the client went away mid-stream
        pass
    return response


async def _play(
    request: web.Request, state: UpstreamState, plan: Plan, reply: Reply, *, stream: bool
) -> web.StreamResponse:
    """Answer per ``plan``: wait the latency, then inject the failure or answer (JSON or stream)."""
    if plan.script.latency_ms:
        await asyncio.sleep(plan.script.latency_ms / 1000)
    failure = plan.failure
    if failure is not None:
        state.record_failure(plan.model, failure.kind)
        injected = await _inject(request, failure, reply, stream)
        if injected is not None:
            return injected
    if stream:
        return await _stream(request, reply, plan, failure.after_chunks if failure else None)
    offsets = send_offsets((count for _, count in reply.chunks), plan.script.tokens_per_sec)
    if offsets and offsets[-1]:  # a non-streamed answer takes as long as its stream would
        await asyncio.sleep(offsets[-1])
    return _json(reply.body())


async def _json_object(request: web.Request) -> dict[str, Any] | None:
    try:
        data = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _bearer_ok(request: web.Request, token: str | None) -> bool:
    return token is None or request.headers.get("authorization") == f"Bearer {token}"


async def chat_completions(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    if not _bearer_ok(request, state.script.require_auth):
        return openai_error(401, "Incorrect API key provided (scripted upstream).")
    body = await _json_object(request)
    if body is None or not isinstance(body.get("model"), str):
        return openai_error(400, "the body must be a JSON object with a string 'model'")
    model, messages = body["model"], body.get("messages")
    stream = bool(body.get("stream"))
    state.record_request(model, request.headers, body, stream=stream)
    plan = state.plan(model, last_user_text(messages))
    if plan is None:
        state.record_not_found(model)
        return openai_error(404, f"The model '{model}' does not exist (scripted upstream).")
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    completion = openai_wire.Completion(model, plan.script, prompt_tokens(messages))
    return await _play(request, state, plan, OpenAIReply(completion, include_usage), stream=stream)


class OpenAIEmbeddingsReply(EmbeddingsReply):
    def error(self, status: int, message: str) -> web.Response:
        return openai_error(status, message)


async def embeddings(request: web.Request) -> web.StreamResponse:
    """``POST /v1/embeddings``: deterministic vectors (`embeddings_wire`); a rule's
    ``prompt_contains`` matches any text input, and the model's ``fail`` applies as on chat."""
    state = request.app[STATE]
    if not _bearer_ok(request, state.script.require_auth):
        return openai_error(401, "Incorrect API key provided (scripted upstream).")
    body = await _json_object(request)
    if body is None or not isinstance(body.get("model"), str):
        return openai_error(400, "the body must be a JSON object with a string 'model'")
    model = body["model"]
    state.record_request(model, request.headers, body, stream=False)
    try:
        inputs = inputs_of(body.get("input"))
    except InputError as exc:
        return openai_error(400, str(exc))
    plan = state.plan(model, " ".join(item for item in inputs if isinstance(item, str)))
    if plan is None:
        state.record_not_found(model)
        return openai_error(404, f"The model '{model}' does not exist (scripted upstream).")
    script = plan.script
    if script.max_inputs is not None and len(inputs) > script.max_inputs:
        message = f"'input' holds {len(inputs)} inputs; at most {script.max_inputs} per request"
        return openai_error(400, message)
    dimensions = body.get("dimensions")
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1:
        dimensions = script.dimensions
    encoding = "base64" if body.get("encoding_format") == "base64" else "float"
    reply = OpenAIEmbeddingsReply(model, inputs, dimensions, encoding, script.usage)
    return await _play(request, state, plan, reply, stream=False)


def _anthropic_auth_error(request: web.Request, token: str | None) -> str | None:
    key = request.headers.get("x-api-key")
    if not key:
        return "x-api-key header is required"
    if token is not None and key != token:
        return "invalid x-api-key"
    if not request.headers.get("anthropic-version"):
        return "anthropic-version header is required"
    return None


async def messages(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    problem = _anthropic_auth_error(request, state.script.require_auth)
    if problem is not None:
        return anthropic_error(401, problem)
    body = await _json_object(request)
    if body is None or not isinstance(body.get("model"), str):
        return anthropic_error(400, "the body must be a JSON object with a string 'model'")
    if not isinstance(body.get("max_tokens"), int):
        return anthropic_error(400, "max_tokens: Field required")
    model, history = body["model"], body.get("messages")
    stream = bool(body.get("stream"))
    state.record_request(model, request.headers, body, stream=stream)
    plan = state.plan(model, last_user_text(history))
    if plan is None:
        state.record_not_found(model)
        return anthropic_error(404, f"model: {model}")
    message = anthropic_wire.MessagesResponse(
        model, plan.script, prompt_tokens(history, body.get("system"))
    )
    return await _play(request, state, plan, AnthropicReply(message), stream=stream)


async def list_models(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if not _bearer_ok(request, state.script.require_auth):
        return openai_error(401, "Incorrect API key provided (scripted upstream).")
    return _json(openai_wire.models_list(sorted(state.script.models)))


async def health(request: web.Request) -> web.Response:
    return _json({"status": "ok", "models": sorted(request.app[STATE].script.models)})


async def put_script(request: web.Request) -> web.Response:
    body = await _json_object(request)
    if body is None:
        return _json({"error": {"message": "the body must be a JSON object (a script)"}}, 400)
    try:
        script = load_script(body, name="PUT /_script")
    except ScriptError as exc:
        return _json({"error": {"message": str(exc), "path": exc.path}}, 400)
    request.app[STATE].replace(script)
    return _json({"status": "ok", "models": sorted(script.models)})


async def get_stats(request: web.Request) -> web.Response:
    return _json(request.app[STATE].stats())


async def post_reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return _json({"status": "ok"})


def build_app(script: Script) -> web.Application:
    """The scripted upstream as an aiohttp application playing ``script``."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[STATE] = UpstreamState(script)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/embeddings", embeddings)
    app.router.add_post("/v1/messages", messages)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/health", health)
    app.router.add_put("/_script", put_script)
    app.router.add_get("/_stats", get_stats)
    app.router.add_post("/_reset", post_reset)
    return app
