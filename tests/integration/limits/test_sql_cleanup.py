"""The SQL counters' cleanup deletes ended windows without upsetting live running sums."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from rolecall.limits.policy import Limit, Window
from rolecall.limits.ports import Charge, Refusal, Reservation, ReserveRequest
from rolecall.storage import SqlStorage, open_storage
from rolecall.storage.limit_counters import GRACE_MS, SqlLimitCounters
from rolecall.storage.sql_tables import LIMIT_COUNTERS, LIMIT_LOG

NOW = 1_797_336_000_000  # 2026-12-15T12:00:00Z
RATE = Limit("key", "k1", "requests_per_min", 2, Window("rolling", 60))
DAY = Limit("key", "k1", "usd", 100, Window("day"))


@pytest.fixture
def storage(db_url: str) -> Iterator[SqlStorage]:
    opened = open_storage(db_url)
    yield opened
    opened.close()


def request(rid: str, now: int) -> ReserveRequest:
    day = DAY.window.span(now)
    return ReserveRequest(
        rid,
        now,
        (
            Charge(RATE.counter(RATE.window.span(now)), RATE, 1, 0),
            Charge(DAY.counter(day), DAY, 10, day.reset_ms),
        ),
    )


def rows(storage: SqlStorage) -> tuple[int, int]:
    with storage.engine.connect() as connection:
        counters = connection.execute(select(func.count()).select_from(LIMIT_COUNTERS)).scalar()
        log = connection.execute(select(func.count()).select_from(LIMIT_LOG)).scalar()
    return int(counters or 0), int(log or 0)


@pytest.fixture
def counters(storage: SqlStorage) -> Iterator[SqlLimitCounters]:
    opened = SqlLimitCounters(storage.database)
    yield opened
    opened.close()


def test_cleanup_keeps_live_windows_and_drops_ended_ones(
    storage: SqlStorage, counters: SqlLimitCounters
) -> None:
    assert isinstance(counters.reserve(request("a", NOW)), Reservation)
    assert isinstance(counters.reserve(request("b", NOW + 1_000)), Reservation)
    counters.clean(NOW + 30_000)  # nothing has ended
    assert rows(storage) == (2, 2)
    assert isinstance(counters.reserve(request("c", NOW + 30_000)), Refusal)  # 2 a minute
    counters.clean(NOW + 120_000)  # the rate's window ended: its row and entries go
    assert rows(storage) == (1, 0)
    later = counters.reserve(request("d", NOW + 120_000))
    assert isinstance(later, Reservation)  # a fresh window, and the day's 20 still counted
    refused = counters.reserve(ReserveRequest("e", NOW + 120_000, (later.charges[1],) * 9))
    assert isinstance(refused, Refusal)
    assert refused.used == 30
    counters.clean(DAY.window.span(NOW).reset_ms + GRACE_MS + 1)
    assert rows(storage) == (0, 0)
