"""`FailoverStore`: counters on a primary store (Redis) with a fallback (SQL) while it is down.

The first failed call switches to the fallback at once (that request is served by it) and logs
once; a probe then asks the primary every ``probe_s``, off the request path, and requests go to
the primary again once it answers. A reservation is settled on the store that made it.

Budgets survive the switch both ways: what one store adds to a calendar counter (reservations
and settlements) is added to the other's copy too, unchecked — to the fallback every
``mirror_s`` in one batch while the primary serves, and to the primary, before requests return
to it, for what the fallback counted meanwhile. So the fallback lags the primary by at most one
batch. Rolling windows (the per-minute rates) are not copied: they restart on a switch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, Final

from rolecall.limits.ports import (
    Charge,
    LimitStore,
    LimitStoreError,
    Refusal,
    Reservation,
    ReserveRequest,
)

__all__ = ["FailoverStore"]

log = logging.getLogger("rolecall.limits")
PROBE_S: Final = 1.0
MIRROR_S: Final = 1.0

Amounts = dict[str, tuple[int, int]]  # counter → (amount, reset_ms)


class FailoverStore:
    """``primary`` while it answers, else ``fallback``; ``ping`` probes the primary."""

    def __init__(
        self,
        primary: LimitStore,
        fallback: LimitStore,
        ping: Callable[[], Awaitable[object]],
        *,
        probe_s: float = PROBE_S,
        mirror_s: float = MIRROR_S,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self._ping = ping
        self._probe_s = probe_s
        self._mirror_s = mirror_s
        self._down_since: int | None = None
        self._last_error = ""
        self._tasks: set[asyncio.Task[None]] = set()
        self._for_fallback: Amounts = {}  # counted on the primary, not yet on the fallback
        self._for_primary: Amounts = {}  # counted on the fallback while the primary was down
        self._mirroring = False

    @property
    def name(self) -> str:
        return self.fallback.name if self._down_since is not None else self.primary.name

    async def reserve(self, request: ReserveRequest) -> Reservation | Refusal:
        if self._down_since is None:
            try:
                outcome = await self.primary.reserve(request)
            except LimitStoreError as exc:
                self._fail_over(exc)
                await self._mirror_to_fallback()  # what the primary counted before it went
            else:
                if isinstance(outcome, Reservation):
                    self._copy(self._for_fallback, ((c, c.amount) for c in outcome.charges))
                return outcome
        outcome = await self.fallback.reserve(request)
        if isinstance(outcome, Reservation):
            self._copy(self._for_primary, ((c, c.amount) for c in outcome.charges))
        return outcome

    def settle(self, reservation: Reservation, actual: Sequence[int]) -> None:
        """Settle on the store that made the reservation (queued there)."""
        on_primary = reservation.store == self.primary.name
        (self.primary if on_primary else self.fallback).settle(reservation, actual)
        deltas = ((c, a - c.amount) for c, a in zip(reservation.charges, actual, strict=True))
        self._copy(self._for_fallback if on_primary else self._for_primary, deltas)

    async def absorb(self, amounts: Mapping[str, tuple[int, int]]) -> None:
        await (self.fallback if self._down_since is not None else self.primary).absorb(amounts)

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {"store": self.name, "primary": self.primary.name}
        if self._down_since is not None:
            body["fallback_since_ms"] = self._down_since
            body["primary_error"] = self._last_error
        return body

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._mirror_to_fallback()
        await self.primary.close()
        await self.fallback.close()

    def _copy(self, into: Amounts, amounts: Iterable[tuple[Charge, int]]) -> None:
        for charge, amount in amounts:
            if amount and not charge.rolling:
                before, _ = into.get(charge.counter, (0, 0))
                into[charge.counter] = (before + amount, charge.reset_ms)
        self._start_mirroring()

    def _start_mirroring(self) -> None:
        if not self._mirroring and (self._for_fallback or self._for_primary):
            self._mirroring = True
            self._start(self._mirror_loop())

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _mirror_loop(self) -> None:
        """Copy what was counted, a batch every ``mirror_s``, while there is any to copy (what
        the fallback counted waits for the primary to be back)."""
        try:
            while self._for_fallback or (self._for_primary and self._down_since is None):
                await asyncio.sleep(self._mirror_s)
                await self._mirror_to_fallback()
                if self._down_since is None:
                    with contextlib.suppress(LimitStoreError):
                        await self._send(self.primary, "_for_primary")
        finally:
            self._mirroring = False

    async def _mirror_to_fallback(self) -> None:
        try:
            await self._send(self.fallback, "_for_fallback")
        except LimitStoreError as exc:  # the fallback is down too: its copy stays behind
            log.warning("limits: could not copy counters to %s (%s)", self.fallback.name, exc)

    async def _send(self, store: LimitStore, pending: str) -> None:
        """Add one pending batch to ``store``; on failure it is pending again."""
        batch: Amounts = getattr(self, pending)
        setattr(self, pending, {})
        if not batch:
            return
        try:
            await store.absorb(batch)
        except LimitStoreError:
            self._merge(getattr(self, pending), batch)
            raise

    @staticmethod
    def _merge(into: Amounts, batch: Amounts) -> None:
        for counter, (amount, reset_ms) in batch.items():
            into[counter] = (into.get(counter, (0, 0))[0] + amount, reset_ms)

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
        self._start(self._wait_for_primary())

    async def _wait_for_primary(self) -> None:
        """Probe until the primary answers and has taken what the fallback counted; then
        requests go back to it (what the fallback counts after that follows by the mirror)."""
        while True:
            await asyncio.sleep(self._probe_s)
            try:
                await self._ping()
                await self._send(self.primary, "_for_primary")
            except Exception:  # whatever the client raises while its server is away
                continue
            log.warning("limits: %s answers again; counting there", self.primary.name)
            self._down_since = None
            self._start_mirroring()
            return
