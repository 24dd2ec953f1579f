"""`FailoverStore`: the fallback while the primary is down, and back once it answers."""

from __future__ import annotations

import asyncio

from rolecall.limits.failover import FailoverStore
from rolecall.limits.policy import Limit, Window
from rolecall.limits.ports import Charge, Reservation, ReserveRequest
from tests.unit.limits.memory import MemoryStore

LIMIT = Limit("key", "k", "usd", 100, Window("day"))


def request(rid: str) -> ReserveRequest:
    return ReserveRequest(rid, 0, (Charge("c", LIMIT, 10, 86_400_000),))


def test_counts_on_the_fallback_while_the_primary_is_down_then_goes_back() -> None:
    """Each store ends with every amount counted on either: 10 (a, on the primary), 4 (b,
    settled on the fallback), 10 (c), 10 (d, on the primary again)."""
    primary, fallback = MemoryStore("redis"), MemoryStore("sql")

    async def ping() -> None:
        if primary.down:
            raise ConnectionError("still down")

    store = FailoverStore(primary, fallback, ping, probe_s=0.01)

    async def run() -> None:
        first = await store.reserve(request("a"))
        assert isinstance(first, Reservation)
        assert first.store == "redis"
        primary.down = True
        second = await store.reserve(request("b"))
        assert isinstance(second, Reservation)
        assert second.store == "sql"
        status = store.status()
        assert status["store"] == "sql"
        assert "down" in status["primary_error"]
        store.settle(second, [4])  # on the store that made it
        calls = primary.calls
        assert isinstance(await store.reserve(request("c")), Reservation)
        assert primary.calls == calls  # the primary is not asked while down
        primary.down = False
        for _ in range(100):
            if store.name == "redis":
                break
            await asyncio.sleep(0.01)
        third = await store.reserve(request("d"))
        assert isinstance(third, Reservation)
        assert third.store == "redis"
        await store.close()

    asyncio.run(run())
    assert primary.counters == {"c": 34}
    assert fallback.counters == {"c": 34}
    assert primary.closed
    assert fallback.closed


def test_a_settlement_the_primary_cannot_take_leaves_the_estimate_counted() -> None:
    primary, fallback = MemoryStore("redis"), MemoryStore("sql")

    async def ping() -> None:
        raise ConnectionError("down")

    store = FailoverStore(primary, fallback, ping, probe_s=10)

    async def run() -> None:
        reserved = await store.reserve(request("a"))
        assert isinstance(reserved, Reservation)
        primary.down = True
        store.settle(reserved, [0])  # lost: the primary keeps the estimate until the day ends
        await store.close()

    asyncio.run(run())
    assert primary.counters == {"c": 10}
    assert fallback.counters == {"c": 0}  # the copy took the reservation and its release
