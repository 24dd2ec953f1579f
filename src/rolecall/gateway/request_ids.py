"""``x-request-id`` on every answer of the gateway: the client's own id when it sent a sane one,
else the gateway's.

A sane id is 1 to 128 characters of ``A-Z a-z 0-9 . _ : -`` (anything else — too long, spaces,
control characters — is replaced, never echoed). On chat completions the gateway's id is the
request's record id (``x-rolecall-request-id``); a client's id is stored on the record beside it,
so either finds the request. Other routes get one on the way out (`tagged`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from rolecall.observe.observation import new_id

__all__ = ["HEADER", "SANE_ID", "client_request_id", "incoming_id", "new_request_id", "tagged"]

HEADER: Final = b"x-request-id"
SANE_ID: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]


def new_request_id() -> str:
    """A request id of the gateway's own (the record's id on chat completions)."""
    return "req-" + new_id(12)


def client_request_id(value: str | None) -> str | None:
    """The client's ``x-request-id`` when it is sane, else None."""
    return value if value is not None and SANE_ID.fullmatch(value) else None


def incoming_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The sane ``x-request-id`` among raw ASGI headers (names arrive lower-cased), if any."""
    for name, value in headers:
        if name == HEADER:
            return client_request_id(value.decode("latin-1"))
    return None


def tagged(send: Send, request_id: str) -> Send:
    """``send`` that adds ``x-request-id: request_id`` to the response's start, unless the
    handler set one itself."""
    header = (HEADER, request_id.encode("ascii"))

    async def send_tagged(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers") or ())
            if not any(name.lower() == HEADER for name, _ in headers):
                message = {**message, "headers": [*headers, header]}
        await send(message)

    return send_tagged
