"""Upstream timeouts shaped for LLM traffic: connect, first token, idle between stream events.

One total timeout does not fit: a healthy stream may run for minutes as long as it keeps
producing, and a non-streamed answer is the whole generation. So an attempt is bounded three ways
(docs/protocol.md §Failure classes, docs/configuration.md):

- ``connect_s``: the TCP (and TLS) connect; nothing was sent, so a retry in place is safe;
- ``first_token_s``: from sending the request to the answer (non-streamed) or to the stream's
  first content token; the upstream may still be working, so it is not retried in place;
- ``idle_s``: between two events of a started stream; a stream that keeps producing has no cap.

`IdleWatch` enforces ``idle_s`` with one timer per stream that is re-armed lazily, so each event
costs a clock read instead of a timer (the relay reads events in another task than the one that
opened the stream, so a per-read ``asyncio.timeout`` would also be the wrong task to cancel).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp

from rolecall.inventory.config import ProviderConfig

__all__ = ["IdleWatch", "Timeouts"]


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Process defaults; a provider's own fields override them (`for_provider`)."""

    connect_s: float = 10.0
    first_token_s: float = 120.0
    idle_s: float = 60.0

    def for_provider(self, provider: ProviderConfig) -> Timeouts:
        connect = provider.connect_timeout_s
        first = provider.first_token_timeout_s or provider.timeout_s
        idle = provider.idle_timeout_s
        if connect is None and first is None and idle is None:
            return self
        return Timeouts(connect or self.connect_s, first or self.first_token_s, idle or self.idle_s)


class IdleWatch:
    """Fails a stream's reads once no event has arrived for ``idle_s`` (after `arm`)."""

    __slots__ = ("_handle", "_idle_s", "_loop", "_response", "fired", "last")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._response: aiohttp.ClientResponse | None = None
        self._idle_s = 0.0
        self.fired = False
        self.last = 0.0

    def arm(self, response: aiohttp.ClientResponse, idle_s: float) -> None:
        loop = self._loop = asyncio.get_running_loop()
        self._response = response
        self._idle_s = idle_s
        self.last = loop.time()
        self._handle = loop.call_at(self.last + idle_s, self._check)

    def touch(self) -> None:
        """An event arrived."""
        if self._loop is not None:
            self.last = self._loop.time()

    def _check(self) -> None:
        assert self._loop is not None
        assert self._response is not None
        due = self.last + self._idle_s
        if self._loop.time() < due:  # events came meanwhile: look again when the new wait is up
            self._handle = self._loop.call_at(due, self._check)
            return
        self.fired = True
        self._handle = None
        message = f"no stream event for {self._idle_s:g} s"
        self._response.content.set_exception(aiohttp.SocketTimeoutError(message))

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._loop = None
