"""`FailoverStore`: counters on a primary store (Redis) with a fallback (SQL) while it is down.

The first failed call switches to the fallback at once (that request is served by it) and logs
once; a probe then asks the primary every ``probe_s`` off the request path, and the next request
after it answers goes to the primary again. A reservation is settled on the store that made it.
The two stores keep separate counters: while on the fallback, spend counted only by the primary
in the current window is not seen (docs/limits.md states what that means for the bound).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

from rolecall.limits.ports import (
    LimitStore,
    LimitStoreError,
    Refusal,
    Reservation,
    ReserveRequest,
)

__all__ = ["FailoverStore"]

log = logging.getLogger("rolecall.limits")
PROBE_S: Final = 1.0


class FailoverStore:
    """``primary`` while it answers, else ``fallback``; ``ping`` probes the primary."""

    def __init__(
        self,
        primary: LimitStore,
        fallback: LimitStore,
        ping: Callable[[], Awaitable[object]],
        *,
        probe_s: float = PROBE_S,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self._ping = ping
        self._probe_s = probe_s
        self._down_since: int | None = None
        self._last_error = ""
        self._probe: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.fallback.name if self._down_since is not None else self.primary.name

    async def reserve(self, request: ReserveRequest) -> Reservation | Refusal:
        if self._down_since is None:
            try:
                return await self.primary.reserve(request)
            except LimitStoreError as exc:
                self._fail_over(exc)
        return await self.fallback.reserve(request)

    async def settle(self, reservation: Reservation, actual: Sequence[int]) -> None:
        store = self.primary if reservation.store == self.primary.name else self.fallback
        try:
            await store.settle(reservation, actual)
        except LimitStoreError as exc:
            if store is self.primary:
                self._fail_over(exc)  # the reservation stays counted until its window ends
                return
            raise

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {"store": self.name, "primary": self.primary.name}
        if self._down_since is not None:
            body["fallback_since_ms"] = self._down_since
            body["primary_error"] = self._last_error
        return body

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        await self.primary.close()
        await self.fallback.close()

    def _fail_over(self, exc: Exception) -> None:
        if self._down_since is not None:
            return
        self._down_since = time.time_ns() // 1_000_000
        self._last_error = str(exc) or type(exc).__name__
        log.error(
            "limits: %s unavailable (%s); counting on %s until it answers again",
            self.primary.name,
            self._last_error,
            self.fallback.name,
        )
        self._probe = asyncio.get_running_loop().create_task(self._wait_for_primary())

    async def _wait_for_primary(self) -> None:
        while True:
            await asyncio.sleep(self._probe_s)
            try:
                await self._ping()
            except Exception:  # whatever the client raises while its server is away
                continue
            log.warning("limits: %s answers again; counting there", self.primary.name)
            self._down_since = None
            self._probe = None
            return
