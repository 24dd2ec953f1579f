"""Observe's live tail: ``GET /api/console/requests/stream``, new requests as Server-Sent Events.

The stream polls the request facts (every gateway process and the record writer share them, so a
tail sees every worker's traffic) once a second and sends each new fact row of the slice once, as
``event: request`` with the ledger's row shape as ``data``. Facts are keyed by when the request
ended, and a request can reach the database after later ones, so each poll reads the newest
`BATCH` rows of the last `GRACE_MS` and skips what it has sent (under heavier traffic than that a
second, a tail shows the newest of each poll).

Without ``since_ms`` the tail starts at what is stored now; with it, it first sends what was
stored from then on (how a page resumes). A stream ends after `LIFETIME_S` with ``event: end``
whose data's ``since_ms`` resumes it: a server shutting down waits for open responses, so none
stays open longer than that. The page drops ids it has shown already.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from rolecall.console.common import fact_filter, now_ms
from rolecall.gateway.context import services_of
from rolecall.gateway.wire import int_param
from rolecall.storage.analytics import FactFilter, SqlAnalytics

__all__ = ["GRACE_MS", "LIFETIME_S", "POLL_S", "stream"]

POLL_S: Final = 1.0
LIFETIME_S: Final = 15.0
GRACE_MS: Final = 30_000  # a request stored this long after it ended is still sent
BATCH: Final = 200  # rows per poll; more wait for the next poll
MAX_MS: Final = 2**53  # a since_ms beyond this is a typo, not a time


async def stream(request: Request) -> Response:
    services = services_of(request)
    slice_ = fact_filter(request, since_ms=None)
    since = int_param(request, "since_ms", -1, MAX_MS)
    tail = Tail(services.storage.analytics, slice_, None if since < 0 else since)
    return StreamingResponse(
        tail.events(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


class Tail:
    """One open tail: what it has sent (request id → time) and where it reads from."""

    def __init__(self, storage: SqlAnalytics, slice_: FactFilter, since_ms: int | None) -> None:
        self._storage = storage
        self._slice = slice_
        self._resume = since_ms
        self._sent: dict[str, int] = {}
        self._cursor = now_ms() if since_ms is None else since_ms

    async def events(self) -> AsyncIterator[bytes]:
        deadline = time.monotonic() + LIFETIME_S
        if self._resume is None:  # only what is stored from now on is new
            for row in await self._poll(self._cursor - GRACE_MS):
                self._sent[row["request_id"]] = row["timestamp_ms"]
        yield b"retry: 2000\n: tail open\n\n"  # the headers and a first byte go out at once
        while True:
            for row in reversed(await self._poll(self._low())):  # oldest first
                if row["request_id"] not in self._sent:
                    self._sent[row["request_id"]] = row["timestamp_ms"]
                    yield _event("request", row)
            self._forget()
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(POLL_S)
        yield _event("end", {"since_ms": self._low()})

    def _low(self) -> int:
        """Where the next poll starts: the grace period before the newest row sent (or before
        where it started), never earlier than ``since_ms`` asked for."""
        newest = max(self._sent.values(), default=self._cursor)
        low = max(self._cursor, newest) - GRACE_MS
        return low if self._resume is None else max(low, self._resume)

    def _forget(self) -> None:
        low = self._low()
        self._sent = {k: t for k, t in self._sent.items() if t >= low}

    async def _poll(self, since_ms: int) -> list[dict[str, Any]]:
        return await asyncio.to_thread(
            self._storage.recent_facts, self._slice, since_ms, limit=BATCH
        )


def _event(kind: str, data: Any) -> bytes:
    data_bytes = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)  # column names: str subclasses
    return b"event: " + kind.encode() + b"\ndata: " + data_bytes + b"\n\n"
