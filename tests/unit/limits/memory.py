"""A counter store in memory, for the use case's unit tests: the same arithmetic as the real
stores (`rolecall.limits.charges`), one process, no atomicity to speak of."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rolecall.limits.charges import (
    applied_charges,
    calendar_retry_ms,
    decide,
    rolling_retry_ms,
    soonest,
)
from rolecall.limits.ports import Charge, LimitStoreError, Refusal, Reservation, ReserveRequest


class MemoryStore:
    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.counters: dict[str, int] = {}
        self.logs: dict[str, list[tuple[int, str, int]]] = {}
        self.down = False
        self.calls = 0
        self.closed = False

    def _used(self, charge: Charge, now: int) -> int:
        if not charge.rolling:
            return self.counters.get(charge.counter, 0)
        cut = now - charge.limit.window.window_ms
        log = [entry for entry in self.logs.get(charge.counter, []) if entry[0] > cut]
        self.logs[charge.counter] = log
        return sum(amount for _, _, amount in log)

    async def reserve(self, request: ReserveRequest) -> Reservation | Refusal:
        self.calls += 1
        if self.down:
            raise LimitStoreError(f"{self.name}: down")
        now = request.now_ms
        every = (*request.common, *(c for alt in request.alternatives for c in alt))
        used = {c.counter: self._used(c, now) for c in every}
        verdict = decide(request, used)
        if isinstance(verdict, list):
            return soonest([self._refusal(c, used, alt, now) for c, alt in verdict])
        charged = applied_charges(request, verdict)
        for c in charged:
            if c.rolling:
                self.logs.setdefault(c.counter, []).append((now, request.reservation_id, c.amount))
            else:
                self.counters[c.counter] = self.counters.get(c.counter, 0) + c.amount
        return Reservation(request.reservation_id, now, charged, verdict, self.name)

    def _refusal(self, c: Charge, used: dict[str, int], alt: int | None, now: int) -> Refusal:
        if not c.rolling:
            return Refusal(c, used[c.counter], calendar_retry_ms(c, now), alt)
        entries = [(at, amount) for at, _, amount in self.logs.get(c.counter, [])]
        return Refusal(c, used[c.counter], rolling_retry_ms(c, used[c.counter], entries, now), alt)

    def settle(self, reservation: Reservation, actual: Sequence[int]) -> None:
        self.calls += 1
        if self.down:
            return  # as a real store: the settlement is lost, the estimate stays counted
        for c, amount in zip(reservation.charges, actual, strict=True):
            if not c.rolling:
                self.counters[c.counter] += amount - c.amount
                continue
            self.logs[c.counter] = [
                (at, rid, amount if rid == reservation.reservation_id else a)
                for at, rid, a in self.logs.get(c.counter, [])
            ]

    async def absorb(self, amounts: Mapping[str, tuple[int, int]]) -> None:
        self.calls += 1
        if self.down:
            raise LimitStoreError(f"{self.name}: down")
        for counter, (amount, _) in amounts.items():
            self.counters[counter] = self.counters.get(counter, 0) + amount

    async def close(self) -> None:
        self.closed = True
