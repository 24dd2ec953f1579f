"""Feedback on answered requests: ``POST /v1/feedback`` and the admin API's feedback routes.

``POST /v1/feedback`` takes a score, a label or a comment on a request made with the same gateway
key (by its id or the client's ``x-request-id``); ``POST``/``GET
/api/requests/{request_id}/feedback`` do the same for an operator, on any request. The work is
`rolecall.observe.feedback.FeedbackDesk`'s, on a worker thread: the database is read and written
there, never on the event loop. Records of a request answered a moment ago are waited for first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Final, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.requests import Request
from starlette.responses import Response

from rolecall.gateway.chat_asgi import read_body
from rolecall.gateway.context import services_of
from rolecall.gateway.openapi import Operation, array, obj
from rolecall.gateway.responses import json_response
from rolecall.gateway.wire import WireError
from rolecall.gateway.wire_models import parse_body
from rolecall.observe.feedback import ADMIN_GIVER, FeedbackIn, FeedbackRefusedError

__all__ = ["ADMIN_ROUTES", "OPERATIONS", "ROUTES", "FeedbackBody", "RequestFeedbackBody"]

log = logging.getLogger("rolecall.gateway")
T = TypeVar("T")
MAX_LABEL: Final = 64
MAX_COMMENT: Final = 4000
MAX_ID: Final = 200
# the largest body the fields allow, JSON-escaped, with room: a bigger one is refused unread
MAX_BODY: Final = 64 * 1024


class RequestFeedbackBody(BaseModel):
    """A score (0 bad to 1 good), a label or a comment: at least one of them."""

    model_config = ConfigDict(extra="forbid")

    score: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    label: str | None = Field(default=None, min_length=1, max_length=MAX_LABEL)
    comment: str | None = Field(default=None, min_length=1, max_length=MAX_COMMENT)

    @model_validator(mode="after")
    def _something(self) -> RequestFeedbackBody:
        if self.score is None and self.label is None and self.comment is None:
            raise ValueError("give a score (0 to 1), a label or a comment")
        return self


class FeedbackBody(RequestFeedbackBody):
    """Feedback on the request whose id (or the client's ``x-request-id``) is ``request_id``."""

    request_id: str = Field(min_length=1, max_length=MAX_ID)


async def _on_thread(call: Callable[[], T]) -> T:
    try:
        return await asyncio.to_thread(call)
    except FeedbackRefusedError as refused:
        raise WireError(refused.status, refused.message, code=refused.code) from None
    except Exception:  # the database is down or refused: the client may retry, not a 500
        log.warning("storing or reading feedback failed", exc_info=True)
        raise WireError(
            503,
            "the database that keeps feedback cannot be reached now; retry shortly",
            code="store_unavailable",
            kind="service_unavailable",
            headers={"retry-after": "1"},
        ) from None


def _reply(body: Any, status: int = 200) -> Response:
    return json_response(orjson.dumps(body), status)


async def _give(request: Request, item: FeedbackIn, giver: str, owner: str | None) -> Response:
    services = services_of(request)
    await services.recorder.flushed()  # a request answered a moment ago is stored first
    record = await _on_thread(lambda: services.feedback.give(item, giver, owner=owner))
    return _reply(record.to_json())


async def create_feedback(request: Request) -> Response:
    """``POST /v1/feedback``: feedback from the gateway key that made the request."""
    body = parse_body(FeedbackBody, await read_body(request.receive, MAX_BODY))
    app_id = request.state.app_id
    item = FeedbackIn(body.request_id, body.score, body.label, body.comment)
    return await _give(request, item, app_id, app_id)


async def admin_feedback(request: Request) -> Response:
    """``POST /api/requests/{request_id}/feedback``: an operator's feedback on any request."""
    body = parse_body(RequestFeedbackBody, await read_body(request.receive, MAX_BODY))
    item = FeedbackIn(request.path_params["request_id"], body.score, body.label, body.comment)
    return await _give(request, item, ADMIN_GIVER, None)


async def list_feedback(request: Request) -> Response:
    """``GET /api/requests/{request_id}/feedback``: every giver's feedback on one request."""
    services = services_of(request)
    await services.recorder.flushed()
    request_id = request.path_params["request_id"]
    records = await _on_thread(lambda: services.feedback.for_request(request_id, owner=None))
    return _reply({"data": [r.to_json() for r in records]})


ROUTES: Final = (("/v1/feedback", create_feedback, ["POST"]),)
ADMIN_ROUTES: Final = (
    ("/api/requests/{request_id}/feedback", admin_feedback, ["POST"]),
    ("/api/requests/{request_id}/feedback", list_feedback, ["GET"]),
)

FEEDBACK: Final = obj(
    "object",
    "feedback_id",
    "request_id",
    "endpoint_id",
    "giver",
    object={"type": "string", "enum": ["feedback"]},
    score={"type": ["number", "null"]},
)
OPERATIONS: Final = [
    Operation(
        "post",
        "/v1/feedback",
        "Score, label or comment an answered request made with this key (by its id or the "
        "client's x-request-id); a scored answer becomes quality evidence of its endpoint",
        "gateway_key",
        FEEDBACK,
        body=FeedbackBody,
        errors=(400, 404, 409, 503),
    ),
    Operation(
        "post",
        "/api/requests/{request_id}/feedback",
        "An operator's score, label or comment on any answered request",
        "admin_token",
        FEEDBACK,
        body=RequestFeedbackBody,
        errors=(400, 404, 409, 503),
    ),
    Operation(
        "get",
        "/api/requests/{request_id}/feedback",
        "Every giver's feedback on one request",
        "admin_token",
        obj("data", data=array(FEEDBACK)),
        errors=(404, 503),
    ),
]
