"""The counter stores (SQLite, PostgreSQL, Redis) keep the same contract: all-or-nothing
reservations, exact calendar and rolling windows, settlements, and no overspend however many
processes reserve at once."""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

from rolecall.limits.policy import Limit, Metric, Window
from rolecall.limits.ports import Charge, Refusal, Reservation, ReserveRequest
from rolecall.storage import open_storage
from tests.integration.limits.stores import BUDGET, StoreSpec, opened, race

NOW = int(datetime(2026, 12, 15, 12, tzinfo=UTC).timestamp() * 1000)
DAY_LEFT_MS = 12 * 3_600_000
MINUTE = Window("rolling", 60)


def charge(
    metric: Metric, cap: int, amount: int, now: int = NOW, window: Window | None = None
) -> Charge:
    limit = Limit(
        "key", "k1", metric, cap, window or (MINUTE if "per_min" in metric else Window("day"))
    )
    span = limit.window.span(now)
    return Charge(limit.counter(span), limit, amount, span.reset_ms)


def usd(amount: int, cap: int = 100) -> Charge:
    return charge("usd", cap, amount)


def test_a_budget_admits_until_full_then_refuses_until_the_day_ends(store_spec: StoreSpec) -> None:
    async def run() -> list[Reservation | Refusal]:
        async with opened(store_spec) as store:
            return [await store.reserve(ReserveRequest(f"r{i}", NOW, (usd(30),))) for i in range(4)]

    *admitted, refused = asyncio.run(run())
    assert all(isinstance(r, Reservation) and r.store == store_spec.kind for r in admitted)
    assert isinstance(refused, Refusal)
    assert (refused.used, refused.retry_after_ms, refused.alternative) == (90, DAY_LEFT_MS, None)


def test_the_first_alternative_that_fits_is_reserved_and_all_or_nothing(
    store_spec: StoreSpec,
) -> None:
    rate = charge("requests_per_min", 2, 1)

    async def run() -> list[Reservation | Refusal]:
        async with opened(store_spec) as store:
            spent = await store.reserve(ReserveRequest("r0", NOW, (usd(90),)))
            fits = await store.reserve(ReserveRequest("r1", NOW, (rate,), ((usd(20),), (usd(5),))))
            none_fit = await store.reserve(
                ReserveRequest("r2", NOW, (rate,), ((usd(20),), (usd(6),)))
            )
            # the refusal added nothing: the rate has room for exactly one more
            free = await store.reserve(ReserveRequest("r3", NOW, (rate,), ((usd(0),),)))
            over = await store.reserve(ReserveRequest("r4", NOW, (rate,), ((usd(0),),)))
            return [spent, fits, none_fit, free, over]

    spent, fits, none_fit, free, over = asyncio.run(run())
    assert isinstance(spent, Reservation)
    assert isinstance(fits, Reservation)
    assert fits.alternative == 1
    assert [c.amount for c in fits.charges] == [1, 5]
    assert isinstance(none_fit, Refusal)
    assert none_fit.charge.amount in (20, 6)
    assert none_fit.used == 95
    assert none_fit.retry_after_ms == DAY_LEFT_MS
    assert isinstance(free, Reservation)
    assert free.alternative == 0
    assert isinstance(over, Refusal)
    assert over.charge.limit.metric == "requests_per_min"


def test_a_rolling_window_frees_as_its_oldest_entries_leave(store_spec: StoreSpec) -> None:
    def rate(now: int) -> Charge:
        return charge("requests_per_min", 3, 1, now)

    async def run() -> list[Reservation | Refusal]:
        async with opened(store_spec) as store:
            out = []
            for i, at in enumerate((NOW, NOW + 10_000, NOW + 20_000, NOW + 30_000)):
                out.append(await store.reserve(ReserveRequest(f"r{i}", at, (rate(at),))))
            later = NOW + 60_000  # the first has left (the window is (now - 60 s, now])
            out.append(await store.reserve(ReserveRequest("r5", later, (rate(later),))))
            out.append(await store.reserve(ReserveRequest("r6", later, (rate(later),))))
            return out

    replies = asyncio.run(run())
    assert [isinstance(r, Reservation) for r in replies] == [True, True, True, False, True, False]
    fourth, sixth = replies[3], replies[5]
    assert isinstance(fourth, Refusal)
    assert fourth.retry_after_ms == 30_000
    assert isinstance(sixth, Refusal)
    assert sixth.retry_after_ms == 10_000
    assert sixth.used == 3


def test_settling_moves_a_counter_to_the_actual_amount(store_spec: StoreSpec) -> None:
    tokens = charge("tokens_per_min", 1_000, 600)
    budget = usd(60)

    async def run() -> list[Reservation | Refusal]:
        async with opened(store_spec) as store:
            first = await store.reserve(ReserveRequest("r1", NOW, (tokens, budget)))
            assert isinstance(first, Reservation)
            blocked = await store.reserve(ReserveRequest("r2", NOW, (tokens, budget)))
            store.settle(first, [100, 10])  # used far less than estimated
            second = await store.reserve(ReserveRequest("r3", NOW, (tokens, budget)))
            assert isinstance(second, Reservation)
            store.settle(second, [0, 0])  # released
            full = await store.reserve(
                ReserveRequest("r4", NOW, (charge("tokens_per_min", 1_000, 900), usd(91)))
            )
            return [blocked, full]

    blocked, full = asyncio.run(run())
    assert isinstance(blocked, Refusal)
    assert isinstance(full, Refusal)
    assert full.used == 10
    assert full.charge.limit.metric == "usd"


def test_a_charge_alone_over_its_limit_never_fits(store_spec: StoreSpec) -> None:
    async def run() -> Reservation | Refusal:
        async with opened(store_spec) as store:
            return await store.reserve(ReserveRequest("r1", NOW, (usd(101),)))

    refused = asyncio.run(run())
    assert isinstance(refused, Refusal)
    assert refused.retry_after_ms is None


def test_processes_reserving_at_once_never_exceed_the_limit(store_spec: StoreSpec) -> None:
    """4 processes × 25 concurrent reservations of 1 micro-USD against a budget of 10."""
    if store_spec.kind == "sql":
        open_storage(store_spec.url).close()  # migrate once, not in four racing processes
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(4, mp_context=context) as pool:
        counts = list(pool.map(race, [store_spec] * 4, range(4), [25] * 4, [NOW] * 4))
    assert sum(counts) == BUDGET.amount

    async def check() -> Reservation | Refusal:
        async with opened(store_spec) as store:
            span = BUDGET.window.span(NOW)
            probe = Charge(BUDGET.counter(span), BUDGET, 1, span.reset_ms)
            return await store.reserve(ReserveRequest("probe", NOW, (probe,)))

    refused = asyncio.run(check())
    assert isinstance(refused, Refusal)
    assert refused.used == BUDGET.amount


def test_absorbed_amounts_count_against_the_budget(store_spec: StoreSpec) -> None:
    """What another store counted (a failover's copy) is added, unchecked, to the counter."""
    budget = usd(10)

    async def run() -> list[Reservation | Refusal]:
        async with opened(store_spec) as store:
            first = await store.reserve(ReserveRequest("r1", NOW, (budget,)))
            await store.absorb({budget.counter: (85, budget.reset_ms)})
            second = await store.reserve(ReserveRequest("r2", NOW, (budget,)))
            return [first, second]

    first, second = asyncio.run(run())
    assert isinstance(first, Reservation)
    assert isinstance(second, Refusal)
    assert second.used == 95
