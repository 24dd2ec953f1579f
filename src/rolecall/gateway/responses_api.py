"""``/v1/responses``: the OpenAI Responses API, routed and recorded as chat completions.

``POST /v1/responses`` is a front door (`rolecall.gateway.chat_asgi.FrontDoor`): the body is
checked and translated to a chat request (`rolecall.gateway.responses_wire`), routed and executed
by `run_chat` — the same decision, limits, fallbacks and records as chat completions — and the
answer translated back, as JSON or as Responses events (`rolecall.gateway.responses_stream`).
With ``store`` (the default, as at OpenAI) the response and its conversation are kept for
``previous_response_id`` and for ``GET``/``DELETE /v1/responses/{response_id}``, which only the
gateway key that created a response may use: stored with the request's records (durable as they
are) and cached in this process (`rolecall.storage.response_book`). A database that cannot be
reached is a 503 naming it, never a 404 or a 500.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rolecall.gateway.chat import ChatReply
from rolecall.gateway.chat_asgi import Caller, FrontDoor, run_chat_for
from rolecall.gateway.context import services_of
from rolecall.gateway.responses import json_response
from rolecall.gateway.responses_stream import ResponseEvents, responses_stream
from rolecall.gateway.responses_wire import (
    ResponsesCall,
    new_response_id,
    previous_response_id,
    response_object,
    responses_call,
)
from rolecall.gateway.wire import WireError, json_object, shown
from rolecall.services import Services
from rolecall.storage.response_book import NotStoredYetError
from rolecall.storage.responses import StoredResponse

log = logging.getLogger("rolecall.gateway")
PATH: Final = "/v1/responses"
ONE_PATH: Final = "/v1/responses/{response_id}"


async def create_response(
    services: Services, raw: bytes, headers: Mapping[str, str], caller: Caller
) -> ChatReply:
    body = json_object(raw)
    previous = None
    previous_id = previous_response_id(body)
    if previous_id is not None:
        previous = await _find(services, previous_id, caller.app_id)
        if previous is None:
            raise _not_found(previous_id, "previous_response_id")
    call = responses_call(body, headers, previous.conversation if previous else ())
    turn = _Turn(services, call, caller, previous, len(raw))
    reply = await run_chat_for(services, call.chat, headers, caller, turn.keep)
    if reply.stream is not None:
        return ChatReply(
            reply.status, reply.headers, stream=responses_stream(reply.stream, turn.events)
        )
    if turn.encoded is None:
        return reply  # refusals, failures, decision-only: chat's answer as it is
    return ChatReply(200, reply.headers, turn.encoded)


RESPONSES_DOOR: Final = FrontDoor(PATH, create_response)


class _Turn:
    """One ``POST /v1/responses``: its Response object, built from the chat answer right before
    the request is recorded (`rolecall.gateway.chat.Keep`), and, with ``store``, the stored
    response that travels with the request's records (so it is as durable as they are) and
    enters this process's cache at once."""

    def __init__(
        self,
        services: Services,
        call: ResponsesCall,
        caller: Caller,
        previous: StoredResponse | None,
        request_bytes: int,
    ) -> None:
        self.services = services
        self.call = call
        self.caller = caller
        self.previous = previous
        self.request_bytes = request_bytes
        self.response_id, self.created_at = new_response_id(), int(time.time())
        self.events = ResponseEvents(call.echo, self.response_id, self.created_at, call.chat.model)
        self.encoded: bytes | None = None  # the Response object of a JSON answer

    def keep(self, completion: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The stored response's row (None without ``store``); ``completion`` is the chat
        answer, None for a stream that finished (its Response is the events')."""
        if completion is None:
            response = self.events.completed()
            size = _output_size(response)
        else:
            response = response_object(
                self.call.echo, self.response_id, self.created_at, completion
            )
            self.encoded = orjson.dumps(response)
            size = len(self.encoded)
        if not self.call.store:
            return None
        stored = self._stored(response, self.request_bytes + size)
        self.services.responses.remember(stored)
        return stored.row()

    def _stored(self, response: dict[str, Any], size: int) -> StoredResponse:
        """The conversation so far (the stored one it continues, this request's input, its
        output) and the Response object."""
        previous = self.previous
        earlier = previous.conversation if previous is not None else []
        return StoredResponse(
            response_id=self.response_id,
            app_id=self.caller.app_id,
            request_id=self.caller.request_id,
            created_ms=time.time_ns() // 1_000_000,
            response=response,
            conversation=[*earlier, *self.call.input, *response["output"]],
            size=size + (previous.size if previous is not None else 0),
        )


def _output_size(response: Mapping[str, Any]) -> int:
    return len(orjson.dumps(response["output"])) + 2048  # the rest of the object, roughly


async def _find(services: Services, response_id: str, app_id: str) -> StoredResponse | None:
    try:
        return await services.responses.find(response_id, app_id)
    except Exception:  # the database is down or refused: the client may retry, not a 500
        log.warning("reading a stored response failed", exc_info=True)
        raise _store_down() from None


def _store_down() -> WireError:
    return WireError(
        503,
        "the database that keeps stored responses cannot be reached now; retry shortly",
        code="store_unavailable",
        kind="service_unavailable",
        headers={"retry-after": "1"},
    )


def _not_stored_yet(response_id: str) -> WireError:
    return WireError(
        503,
        f"response {shown(response_id)} is not in the database yet (it is stored with its "
        "request's records, which are waiting for the database); retry shortly",
        code="store_unavailable",
        kind="service_unavailable",
        headers={"retry-after": "1"},
    )


def _not_found(response_id: str, param: str) -> WireError:
    return WireError(
        404,
        f"no response with id {shown(response_id)} (it was never stored, was created with "
        "another key, or was deleted)",
        param=param,
        code="response_not_found",
    )


async def retrieve_response(request: Request) -> Response:
    """``GET /v1/responses/{response_id}``: the stored Response object."""
    response_id = request.path_params["response_id"]
    stored = await _find(services_of(request), response_id, request.state.app_id)
    if stored is None:
        raise _not_found(response_id, "response_id")
    return json_response(orjson.dumps(stored.response))


async def delete_response(request: Request) -> Response:
    """``DELETE /v1/responses/{response_id}``: forget a stored response."""
    response_id = request.path_params["response_id"]
    try:
        deleted = await services_of(request).responses.delete(response_id, request.state.app_id)
    except NotStoredYetError:
        raise _not_stored_yet(response_id) from None
    except Exception:
        log.warning("deleting a stored response failed", exc_info=True)
        raise _store_down() from None
    if not deleted:
        raise _not_found(response_id, "response_id")
    body = {"id": response_id, "object": "response.deleted", "deleted": True}
    return json_response(orjson.dumps(body))


ROUTES: Final = (
    (ONE_PATH, retrieve_response, ["GET"]),
    (ONE_PATH, delete_response, ["DELETE"]),
)
