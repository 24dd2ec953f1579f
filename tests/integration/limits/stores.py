"""Opening a counter store the way the gateway does, in this process or in another one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from rolecall.cluster.redis_limits import RedisLimitStore
from rolecall.limits.policy import Limit, Window
from rolecall.limits.ports import Charge, LimitStore, Reservation, ReserveRequest
from rolecall.storage import open_storage
from rolecall.storage.limit_counters import SqlLimitCounters
from rolecall.storage.limit_store import ThreadedLimitStore


@dataclass(frozen=True)
class StoreSpec:
    kind: str  # "sql" or "redis"
    url: str
    prefix: str = ""


@asynccontextmanager
async def opened(spec: StoreSpec) -> AsyncIterator[LimitStore]:
    """The store, inside the running event loop (closed, with its database, afterwards)."""
    if spec.kind == "redis":
        store = RedisLimitStore(spec.url, prefix=spec.prefix)
        try:
            yield store
        finally:
            await store.close()
        return
    storage = await asyncio.to_thread(open_storage, spec.url)
    threaded = ThreadedLimitStore(SqlLimitCounters(storage.database))
    try:
        yield threaded
    finally:
        await threaded.close()
        storage.close()


BUDGET = Limit("key", "k1", "usd", 10, Window("day"))
RATE = Limit("key", "k1", "requests_per_min", 1_000, Window("rolling", 60))


def race_request(rid: str, now: int) -> ReserveRequest:
    """One request of the race: a request against a rate, then a 1 micro-USD alternative."""
    rate = Charge(RATE.counter(RATE.window.span(now)), RATE, 1, 0)
    span = BUDGET.window.span(now)
    budget = Charge(BUDGET.counter(span), BUDGET, 1, span.reset_ms)
    return ReserveRequest(rid, now, (rate,), ((budget,),))


def race(spec: StoreSpec, worker: int, requests: int, now: int) -> int:
    """``requests`` concurrent reservations from one process; how many were admitted."""

    async def run() -> int:
        async with opened(spec) as store:
            replies = await asyncio.gather(
                *(store.reserve(race_request(f"w{worker}-{i}", now)) for i in range(requests))
            )
        return sum(isinstance(reply, Reservation) for reply in replies)

    return asyncio.run(run())
