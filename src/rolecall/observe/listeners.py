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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

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
    """The recorder's listeners, told on the event loop once the current responses are written
    (the handler's task does not yield before sending it): what the loop's turn collected, in
    one callback. Outside an event loop (a script's thread), at once."""

    def __init__(self, listeners: Sequence[RequestListener]) -> None:
        self._listeners = tuple(listeners)
        self._due: list[RequestRecord | TurnedAway] = []  # only the event loop touches it

    def recorded(self, record: RequestRecord) -> None:
        self._soon(record)

    def turned_away(self, request: TurnedAway) -> None:
        self._soon(request)

    def _soon(self, what: RequestRecord | TurnedAway) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._tell([what])
            return
        if not self._due:
            loop.call_soon(self._tell_due)
        self._due.append(what)

    def _tell_due(self) -> None:
        due, self._due = self._due, []
        self._tell(due)

    def _tell(self, due: list[RequestRecord | TurnedAway]) -> None:
        for listener in self._listeners:
            for what in due:
                try:
                    if isinstance(what, TurnedAway):
                        listener.turned_away(what)
                    else:
                        listener.recorded(what)
                except Exception:  # telemetry never breaks serving; the log says what failed
                    log.exception("request listener %r failed", listener)
