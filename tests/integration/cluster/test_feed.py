"""The change feed and the leader election on real databases (SQLite and PostgreSQL) and Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import insert

from rolecall.cluster.changes import ChangeFeed
from rolecall.cluster.leader import FileLock, Leadership, PostgresLock
from rolecall.cluster.wakers import RedisWaker, SleepWaker, libpq_url, waker_for
from rolecall.storage import SqlStorage, open_storage
from rolecall.storage.sql_cluster_tables import STATE_CHANGES

REDIS_URL = "redis://127.0.0.1:6379/0"


class Inbox:
    def __init__(self) -> None:
        self.keys: list[str] = []
        self.arrived = threading.Event()

    def __call__(self, keys: list[str]) -> None:
        self.keys.extend(keys)
        self.arrived.set()


@pytest.fixture
def second(db_url: str, storage: SqlStorage) -> Iterator[SqlStorage]:
    """Another process's view of the same database (its own engine and connections)."""
    other = open_storage(db_url, migrate=False)
    try:
        yield other
    finally:
        other.close()


def _feed(
    storage: SqlStorage, origin: str, db_url: str, redis_url: str | None = None
) -> ChangeFeed:
    return ChangeFeed(storage.changes, waker_for(db_url, redis_url), origin=origin, poll_s=0.5)


def test_a_notice_reaches_every_other_process_not_its_own(
    db_url: str, storage: SqlStorage, second: SqlStorage
) -> None:
    mine, theirs = _feed(storage, "a", db_url), _feed(second, "b", db_url)
    own, inbox = Inbox(), Inbox()
    mine.subscribe("cooldown", own)
    theirs.subscribe("cooldown", inbox)
    mine.start()
    theirs.start()
    try:
        sent = time.monotonic()
        mine.publish("cooldown", "ep-1")
        mine.publish("cooldown", "ep-1")  # queued twice, delivered once
        mine.publish("other", "x")
        assert inbox.arrived.wait(1.0)
        assert time.monotonic() - sent < 1.0
        assert inbox.keys == ["ep-1"]
        time.sleep(0.6)  # a whole poll: A's own notice is never handed back to A
        assert own.keys == []
    finally:
        mine.stop()
        theirs.stop()


def test_notices_published_before_start_are_not_replayed(storage: SqlStorage, db_url: str) -> None:
    storage.changes.append([("cooldown", "old")], "elsewhere")
    feed, inbox = _feed(storage, "a", db_url), Inbox()
    feed.subscribe("cooldown", inbox)
    feed.start()
    try:
        storage.changes.append([("cooldown", "new")], "elsewhere")
        # the started feed's watcher (woken by NOTIFY on PostgreSQL) may deliver it first: then
        # this read finds nothing new. Either way, once it returns the notice was delivered, once
        assert feed.read_now() in (0, 1)
        assert inbox.keys == ["new"]
    finally:
        feed.stop()


def test_a_notice_committed_out_of_id_order_is_still_delivered(storage: SqlStorage) -> None:
    """Ids are allocated at insert but commit in any order: a reader that saw id 3 must still
    deliver id 2 when its transaction commits later."""
    feed, inbox = ChangeFeed(storage.changes, SleepWaker(), origin="me"), Inbox()
    feed.subscribe("k", inbox)

    def row(id_: int, key: str) -> dict[str, object]:
        return {"id": id_, "kind": "k", "key": key, "origin": "other", "at_ms": 1}

    with storage.engine.begin() as connection:
        connection.execute(insert(STATE_CHANGES), [row(1, "one"), row(3, "three")])
    assert feed.read_now() == 2
    with storage.engine.begin() as connection:
        connection.execute(insert(STATE_CHANGES), [row(2, "two")])
    assert feed.read_now() == 1
    assert feed.read_now() == 0
    assert inbox.keys == ["one", "three", "two"]


def test_a_handler_that_fails_does_not_stop_the_others(storage: SqlStorage) -> None:
    feed, inbox = ChangeFeed(storage.changes, SleepWaker(), origin="me"), Inbox()

    def broken(keys: list[str]) -> None:
        raise RuntimeError("boom")

    feed.subscribe("k", broken)
    feed.subscribe("k", inbox)
    storage.changes.append([("k", "x")], "other")
    feed.read_now()
    assert inbox.keys == ["x"]


def test_with_redis_gone_notices_still_arrive_by_polling(
    db_url: str, storage: SqlStorage, second: SqlStorage, unused_port: int
) -> None:
    dead = f"redis://127.0.0.1:{unused_port}/0"
    mine, theirs = _feed(storage, "a", db_url, dead), _feed(second, "b", db_url, dead)
    inbox = Inbox()
    theirs.subscribe("k", inbox)
    theirs.start()
    try:
        mine.publish("k", "still")
        assert inbox.arrived.wait(2.0)
        assert inbox.keys == ["still"]
        assert theirs.status()["wakeups"] == {
            "via": "redis",
            "ok": False,
            "down_s": pytest.approx(0, abs=3),
        }
    finally:
        mine.stop()
        theirs.stop()


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_redis_wakes_a_waiting_watcher_at_once() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("Redis not reachable")
    listener, sender = RedisWaker(REDIS_URL), RedisWaker(REDIS_URL)
    try:
        listener.wait(0.01)  # subscribes
        start = time.monotonic()
        timer = threading.Timer(0.2, sender.notify)
        timer.start()
        listener.wait(5.0)
        timer.join()
        assert time.monotonic() - start < 2.0
        assert listener.describe() == {"via": "redis", "ok": True}
    finally:
        listener.close()
        sender.close()


def test_one_leader_at_a_time_on_a_lock_file(tmp_path: Path) -> None:
    first, second = FileLock(tmp_path / "leader.lock"), FileLock(tmp_path / "leader.lock")
    assert first.try_hold()
    assert first.try_hold()  # still ours
    assert not second.try_hold()
    first.release()
    assert second.try_hold()
    second.release()


def test_one_leader_at_a_time_on_postgresql(pg_url: str) -> None:
    url = libpq_url(pg_url)
    first, second = PostgresLock(url, "test-lock"), PostgresLock(url, "test-lock")
    try:
        assert first.try_hold()
        assert not second.try_hold()
        first.release()  # the session ends: the server drops its lock (as it notices the close)
        deadline = time.monotonic() + 5
        while not second.try_hold():
            assert time.monotonic() < deadline, "the lock was not released"
            time.sleep(0.05)
        assert not first.try_hold()
    finally:
        first.release()
        second.release()


def test_leadership_runs_jobs_only_while_it_leads(tmp_path: Path, storage: SqlStorage) -> None:
    runs: list[str] = []
    blocker = FileLock(tmp_path / "leader.lock")
    assert blocker.try_hold()
    leadership = Leadership(FileLock(tmp_path / "leader.lock"), storage.job_runs, owner="me")
    leadership.every("tick", 3600, lambda: runs.append("tick"))
    leadership.tick()
    assert (leadership.leader, runs) == (False, [])
    blocker.release()
    leadership.tick()
    leadership.tick()  # not due again for an hour
    assert (leadership.leader, runs) == (True, ["tick"])
    assert [(r.job, r.owner, r.runs) for r in storage.job_runs.all()] == [("tick", "me", 1)]
    leadership.stop()
