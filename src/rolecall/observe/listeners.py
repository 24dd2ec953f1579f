"""Who else hears about each answered request: the port telemetry (metrics, access logs) plugs into.

Every chat completion ends in one of two ways: its `RequestRecord` goes to the `Recorder` (routed
requests, refused by a budget or not), or it is turned away at the door before a record exists (a
bad body, a missing key, a rate limit: `TurnedAway`). The recorder tells each `RequestListener`
the composition root gave it about both, on the event loop right after the response is sent, so
listeners add nothing to a request's latency; a listener must be quick and must not block.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rolecall.observe.observation import RequestRecord

__all__ = ["Listeners", "RequestListener", "TurnedAway"]

log = logging.getLogger("rolecall.observe")


@dataclass(frozen=True, slots=True)
class TurnedAway:
    """A request answered before it was routed: its status, error code and the key it came with
    (None before the key was checked); ``refusal`` is ``rate_limit_exceeded`` when a rate limit
    refused it (a refusal of an authenticated caller, unlike a failed key check's 429)."""

    status: int
    code: str | None
    key_id: str | None
    elapsed_s: float
    refusal: str | None = None


class RequestListener(Protocol):
    def recorded(self, record: RequestRecord) -> None:
        """A routed request's record, once it is final (never mutated afterwards)."""
        ...

    def turned_away(self, request: TurnedAway) -> None:
        """A request answered before routing (no record of it is stored)."""
        ...


class Listeners:
    """The recorder's listeners, told on the event loop once the current response is written
    (the handler's task does not yield before sending it); outside an event loop, at once."""

    def __init__(self, listeners: Sequence[RequestListener]) -> None:
        self._listeners = tuple(listeners)

    def recorded(self, record: RequestRecord) -> None:
        self._soon(self._recorded, record)

    def turned_away(self, request: TurnedAway) -> None:
        self._soon(self._turned_away, request)

    @staticmethod
    def _soon(tell: Callable[[Any], None], what: object) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            tell(what)
        else:
            loop.call_soon(tell, what)

    def _recorded(self, record: RequestRecord) -> None:
        for listener in self._listeners:
            try:
                listener.recorded(record)
            except Exception:  # telemetry never breaks serving; the log says what went wrong
                log.exception("request listener %r failed", listener)

    def _turned_away(self, request: TurnedAway) -> None:
        for listener in self._listeners:
            try:
                listener.turned_away(request)
            except Exception:
                log.exception("request listener %r failed", listener)
