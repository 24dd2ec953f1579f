"""`RedisLimitStore`: budget and rate-limit counters in Redis, one Lua script call per request.

The script (`rolecall.cluster.limits_lua`) reads every counter a request touches, picks the first
alternative that fits, and adds the charges, all in one atomic step on the server, so any number
of gateway processes and replicas share exact counters with one round trip per request.
Settlements do not take a round trip of their own: they are queued and ride along with the next
reservation (or go after `SETTLE_DELAY_S` when none comes), applied before it reads anything.

A calendar window's counter is an integer key that expires a day after its window ends (a late
settlement still finds it). A rolling window is a sorted set of ``reservation|amount`` members
scored by time, beside a key holding their sum; entries that left the window are pruned (and
subtracted) as it is read, so "at most N in any window" holds exactly rather than per bucket.
Every key starts with one hash tag, so on Redis Cluster they share a slot and the script stays
atomic.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from rolecall.cluster.limits_lua import GRACE_MS, SCRIPT
from rolecall.cluster.redis import async_client, redis_module
from rolecall.limits.charges import applied_charges
from rolecall.limits.ports import (
    Charge,
    LimitStoreError,
    Refusal,
    Reservation,
    ReserveRequest,
)

if TYPE_CHECKING:  # the redis extra, imported when a store is built
    import redis.asyncio as aioredis
    from redis.commands.core import AsyncScript

__all__ = ["DEFAULT_PREFIX", "RedisLimitStore"]

DEFAULT_PREFIX: Final = "rolecall:{limits}:"
SETTLE_DELAY_S: Final = 0.02  # settlements wait this long for a reservation to ride along with


class RedisLimitStore:
    """Counters in the Redis at ``url`` under ``prefix`` (the client connects on first use,
    inside the serving event loop)."""

    name: Final = "redis"

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._failures = (redis_module().RedisError, OSError, TimeoutError)
        self._url = url
        self._prefix = prefix
        self._client: aioredis.Redis | None = None
        self._script: AsyncScript | None = None
        self._settlements: list[tuple[Charge, str, int]] = []  # (charge, reservation, actual)
        self._flush: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task[None]] = set()

    def _redis(self) -> tuple[aioredis.Redis, AsyncScript]:
        if self._client is None or self._script is None:
            self._client = async_client(self._url)
            self._script = self._client.register_script(SCRIPT)
        return self._client, self._script

    async def reserve(self, request: ReserveRequest) -> Reservation | Refusal:
        charges: dict[str, Charge] = {}
        groups = (request.common, *request.alternatives)
        for group in groups:
            for charge in group:
                charges.setdefault(charge.counter, charge)
        index = {counter: i for i, counter in enumerate(charges, 1)}
        counters = ",".join(_counter_text(c) for c in charges.values())
        texts = (",".join(f"{index[c.counter]}:{c.amount}" for c in g) or "-" for g in groups)
        keys = self._keys(charges)
        settled = self._settled_args(keys)
        args = [request.now_ms, request.reservation_id, counters, "/".join(texts), settled]
        reply = await self._call(list(keys), args)
        if int(reply[0]) == 1:
            alternative = int(reply[1])
            charged = applied_charges(request, alternative)
            return Reservation(
                request.reservation_id, request.now_ms, charged, alternative, "redis"
            )
        return _refusal(request, list(charges), reply)

    def settle(self, reservation: Reservation, actual: Sequence[int]) -> None:
        """Queue the settlement: it rides along with the next reservation, or goes on its own
        after `SETTLE_DELAY_S` (either way in one script call with any others waiting)."""
        for charge, amount in zip(reservation.charges, actual, strict=True):
            if amount != charge.amount:
                self._settlements.append((charge, reservation.reservation_id, amount))
        if self._settlements and self._flush is None:
            loop = asyncio.get_running_loop()
            self._flush = loop.call_later(SETTLE_DELAY_S, self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush = None
        task = asyncio.get_running_loop().create_task(self._settle_now())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _settle_now(self) -> None:
        keys: dict[str, None] = {}
        settled = self._settled_args(keys)
        if settled:
            with contextlib.suppress(LimitStoreError):  # a reservation stays as it was
                await self._call(list(keys), [0, "", "", "", settled])

    def _settled_args(self, keys: dict[str, None]) -> str:
        """Take the queued settlements as the script's last argument, adding their keys."""
        pending, self._settlements = self._settlements, []
        if self._flush is not None and not self._settlements:
            self._flush.cancel()
            self._flush = None
        parts = []
        for charge, reservation_id, amount in pending:
            main = self._prefix + charge.counter
            keys.setdefault(main)
            keys.setdefault(main + "#sum")
            position = list(keys).index(main) + 1
            kind = "r" if charge.rolling else "c"
            parts.append(f"{position}:{kind}:{reservation_id}:{charge.amount}:{amount}")
        return ",".join(parts)

    def _keys(self, charges: Mapping[str, Charge]) -> dict[str, None]:
        keys: dict[str, None] = {}
        for counter in charges:
            keys[self._prefix + counter] = None
            keys[self._prefix + counter + "#sum"] = None
        return keys

    async def _call(self, keys: list[str], args: list[Any]) -> Any:
        _, script = self._redis()
        try:
            return await script(keys=keys, args=args)
        except self._failures as exc:
            raise LimitStoreError(f"redis: {type(exc).__name__}: {exc}") from exc

    async def absorb(self, amounts: Mapping[str, tuple[int, int]]) -> None:
        if not amounts:
            return
        client, _ = self._redis()
        pipe = client.pipeline(transaction=True)
        for counter, (amount, reset_ms) in amounts.items():
            pipe.incrby(self._prefix + counter, amount)
            pipe.pexpireat(self._prefix + counter, reset_ms + GRACE_MS)
        try:
            await pipe.execute()
        except self._failures as exc:
            raise LimitStoreError(f"redis: {type(exc).__name__}: {exc}") from exc

    async def ping(self) -> None:
        """Raise unless Redis answers (the failover's probe)."""
        client, _ = self._redis()
        await client.ping()

    async def close(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)
        if self._settlements and self._client is not None:
            await self._settle_now()
        if self._client is not None:
            await self._client.aclose()
            self._client = self._script = None


def _counter_text(charge: Charge) -> str:
    span = charge.limit.window.window_ms if charge.rolling else charge.reset_ms
    return f"{'r' if charge.rolling else 'c'}:{charge.cap}:{span}"


def _refusal(request: ReserveRequest, counters: Sequence[str], reply: Sequence[Any]) -> Refusal:
    counter = counters[int(reply[1]) - 1]
    alternative = int(reply[4])
    group = (*request.common, *(request.alternatives[alternative] if alternative >= 0 else ()))
    charge = next(c for c in reversed(group) if c.counter == counter)
    retry = int(reply[3])
    return Refusal(
        charge,
        int(reply[2]),
        None if retry < 0 else retry,
        None if alternative < 0 else alternative,
    )
