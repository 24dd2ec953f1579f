"""The gateway's ASGI entry: the proxied front doors served on raw ASGI, the rest by Starlette.

A front door (`FrontDoor`) is a POST route that answers with a `ChatReply`: chat completions, and
the doors that translate to it. Every proxied request takes this path, so it skips what the admin
and console routes use — Starlette's request and response objects, routing, and its two exception
middlewares — which cost more per request than routing the request did. Behaviour matches the
Starlette routes: the same key check, error objects for every refusal (405, 413, 401, 4xx from the
wire checks), a 500 without details for anything unexpected (its message and traceback go to the
log), and SSE streams that stop relaying when the client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Final

from rolecall.gateway.auth import KeyChecker
from rolecall.gateway.chat import (
    ChatReply,
    Keep,
    body_too_large,
    chat_completions,
    run_chat,
)
from rolecall.gateway.request_ids import (
    HEADER,
    client_request_id,
    incoming_id,
    new_request_id,
    tagged,
)
from rolecall.gateway.wire import ChatRequest, WireError
from rolecall.observe.listeners import TurnedAway
from rolecall.services import Services
from rolecall.storage.keys import ApiKeyRecord

log = logging.getLogger("rolecall.gateway")

# An oversize body is read and dropped up to this many times the limit so the client sees the 413.
DRAIN_FACTOR = 4

Scope = MutableMapping[str, Any]
ASGIMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[ASGIMessage]]
Send = Callable[[ASGIMessage], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CHAT_PATH: Final = "/v1/chat/completions"
JSON: Final = (b"content-type", b"application/json")
SSE: Final = ((b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"))


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request: ``app_id`` is its gateway key's id (``default`` without keys),
    ``request_id`` the record's id, ``client_request_id`` the client's own ``x-request-id``."""

    app_id: str
    key: ApiKeyRecord | None
    request_id: str
    client_request_id: str | None


# (services, body bytes, lower-cased request headers, caller) -> the reply; raises WireError
DoorHandler = Callable[[Services, bytes, Mapping[str, str], Caller], Awaitable[ChatReply]]


async def run_chat_for(
    services: Services,
    chat: ChatRequest,
    headers: Mapping[str, str],
    caller: Caller,
    keep: Keep | None = None,
) -> ChatReply:
    """`run_chat` for ``caller``: what a door that translates to chat calls."""
    return await run_chat(
        services,
        chat,
        headers,
        caller.app_id,
        caller.key,
        caller.request_id,
        caller.client_request_id,
        keep,
    )


def openai_error(error: WireError) -> bytes:
    return error.body()


@dataclass(frozen=True, slots=True)
class FrontDoor:
    """A proxied POST route: its handler, and how its errors are written (OpenAI's error object
    unless the door speaks another wire format)."""

    path: str
    serve: DoorHandler
    render_error: Callable[[WireError], bytes] = openai_error


async def _chat_door(
    services: Services, raw: bytes, headers: Mapping[str, str], caller: Caller
) -> ChatReply:
    return await chat_completions(
        services,
        raw,
        headers,
        caller.app_id,
        caller.key,
        request_id=caller.request_id,
        client_request_id=caller.client_request_id,
    )


CHAT_DOOR: Final = FrontDoor(CHAT_PATH, _chat_door)


class GatewayApp:
    """Dispatches each front door's path to `serve_door`, everything else (and lifespan) to
    ``app``; every HTTP answer carries ``x-request-id`` (`rolecall.gateway.request_ids`)."""

    def __init__(
        self,
        services: Services,
        keys: KeyChecker,
        app: ASGIApp,
        doors: tuple[FrontDoor, ...] = (CHAT_DOOR,),
    ) -> None:
        self.services = services
        self.keys = keys
        self.app = app
        self.doors = {door.path: door for door in doors}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        door = self.doors.get(scope["path"]) if scope["type"] == "http" else None
        if door is not None:
            await serve_door(self.services, self.keys, door, scope, receive, send)
        elif scope["type"] != "http":
            await self.app(scope, receive, send)
        else:
            request_id = incoming_id(scope["headers"]) or new_request_id()
            await self.app(scope, receive, tagged(send, request_id))


async def serve_door(
    services: Services,
    keys: KeyChecker,
    door: FrontDoor,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    started = time.perf_counter()
    app_id = None  # known once the key is checked
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    client_id = client_request_id(headers.get("x-request-id"))
    request_id = new_request_id()  # the record's id, whatever the client sent
    tag = (HEADER, (client_id or request_id).encode("ascii"))
    try:
        if scope["method"] != "POST":
            raise WireError(405, f"use POST for {door.path}", code="method_not_allowed")
        key = None
        if services.settings.require_api_key:
            client = scope.get("client")
            key = keys.check(_credential(headers), client[0] if client else "")
        app_id = "default" if key is None else key.key_id
        raw = await read_body(receive, services.settings.max_body_bytes)
        reply = await door.serve(services, raw, headers, Caller(app_id, key, request_id, client_id))
    except WireError as exc:
        await _send_json(send, exc.status, exc.headers, door.render_error(exc), tag)
        _turned_away(services, exc.status, exc.code, app_id, started)
        return
    except Exception:  # never a stack trace on the wire; the log has it (never the body)
        log.exception("unexpected error on POST %s", door.path)
        body = door.render_error(
            WireError(500, "internal error; see the rolecall log", kind="server_error")
        )
        await _send_json(send, 500, {}, body, tag)
        _turned_away(services, 500, "server_error", app_id, started)
        return
    if reply.stream is None:
        await _send_json(send, reply.status, reply.headers, reply.body, tag)
    else:
        await _send_stream(send, receive, reply, tag)


def _credential(headers: Mapping[str, str]) -> str | None:
    """The ``Authorization`` header, or Anthropic's ``x-api-key`` taken as a bearer token (the
    anthropic SDK and Claude Code send the key there)."""
    authorization = headers.get("authorization")
    if authorization is None and "x-api-key" in headers:
        return f"Bearer {headers['x-api-key']}"
    return authorization


def _turned_away(
    services: Services, status: int, code: str | None, app_id: str | None, started: float
) -> None:
    """Tell the recorder's listeners of a request answered without a record; a 429 for a
    caller whose key was accepted is a rate limit's refusal (before that, too many failed key
    checks)."""
    refused = status == 429 and app_id is not None and code == "rate_limit_exceeded"
    elapsed = time.perf_counter() - started
    turned = TurnedAway(status, code, app_id, elapsed, "rate_limit_exceeded" if refused else None)
    services.recorder.turned_away(turned)


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, refused once it passes ``limit`` (never buffering more than that)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise WireError(400, "the client closed the connection before sending the body")
        chunk = message.get("body", b"")
        size += len(chunk)
        more = message.get("more_body", False)
        if size > limit:
            if more:
                await _discard_rest(receive, DRAIN_FACTOR * limit - size)
            raise body_too_large(limit)
        chunks.append(chunk)
        if not more:
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _discard_rest(receive: Receive, budget: int) -> None:
    """Read and drop the rest of an oversize body, up to ``budget`` bytes, before the 413.

    A client such as urllib sends the whole body before it reads; closing on unread data makes
    the kernel answer with a reset that can destroy the 413 in the client's buffer, so the client
    sees "connection reset" instead of the reason. Past the budget (or the edge's body timeout)
    the connection is closed anyway."""
    while budget > 0:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _raw_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


RawHeader = tuple[bytes, bytes]


async def _send_json(
    send: Send, status: int, headers: dict[str, str], body: bytes, tag: RawHeader
) -> None:
    raw = [JSON, (b"content-length", str(len(body)).encode()), tag, *_raw_headers(headers)]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _send_stream(send: Send, receive: Receive, reply: ChatReply, tag: RawHeader) -> None:
    """Relay the SSE events; a client that disconnects stops the relay (and its upstream read)."""
    stream = reply.stream
    assert stream is not None
    raw = [*SSE, tag, *_raw_headers(reply.headers)]
    await send({"type": "http.response.start", "status": reply.status, "headers": raw})
    relay = asyncio.ensure_future(_relay(send, stream))
    gone = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait((relay, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (relay, gone):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()  # an unfinished relay still closes its upstream and records
    if relay.done() and not relay.cancelled() and relay.exception() is None:
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _relay(send: Send, stream: AsyncIterator[bytes]) -> None:
    async for event in stream:
        await send({"type": "http.response.body", "body": event, "more_body": True})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
