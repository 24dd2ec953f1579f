"""Wake-ups for the change feed's watcher: Redis pub/sub, PostgreSQL LISTEN, or none (polling).

A waker only shortens the wait before the watcher reads the change log; losing one costs at most
a poll interval. Each says what it is and whether it works (`describe`) for `/readyz`; one that
loses its server logs it once, keeps the watcher polling, and reconnects in the background of its
next waits.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Final, Protocol

from rolecall.cluster.redis import redis_module, sync_client
from rolecall.storage.changes import NOTIFY_CHANNEL

if TYPE_CHECKING:  # optional dependencies, imported by the waker that needs one
    import psycopg
    import redis

__all__ = ["PostgresWaker", "RedisWaker", "SleepWaker", "Waker", "waker_for"]

log = logging.getLogger("rolecall.cluster")

REDIS_CHANNEL: Final = "rolecall:changes"
RECONNECT_S: Final = 2.0


class Waker(Protocol):
    def wait(self, timeout: float) -> None: ...
    def notify(self) -> None: ...
    def interrupt(self) -> None: ...
    def close(self) -> None: ...
    def describe(self) -> dict[str, object]: ...


class SleepWaker:
    """No wake-ups between processes: the watcher polls (SQLite, one host)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def wait(self, timeout: float) -> None:
        self._event.wait(timeout)
        self._event.clear()

    def notify(self) -> None:
        """Nothing to wake elsewhere; other processes poll."""

    def interrupt(self) -> None:
        self._event.set()

    def close(self) -> None:
        self._event.set()

    def describe(self) -> dict[str, object]:
        return {"via": "polling", "ok": True}


class _Reconnecting:
    """Outage bookkeeping shared by the wakers that hold a connection."""

    name = ""

    def __init__(self) -> None:
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._closed = threading.Event()

    def _failed(self, exc: Exception) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning(
                "%s unreachable (%s): change notices fall back to polling the database",
                self.name,
                type(exc).__name__,
            )
        self._retry_at = time.monotonic() + RECONNECT_S

    def _recovered(self) -> None:
        if self._down_since is not None:
            log.warning("%s reachable again: change notices are pushed again", self.name)
            self._down_since = None

    def _may_try(self) -> bool:
        return time.monotonic() >= self._retry_at

    def interrupt(self) -> None:
        self._closed.set()

    def describe(self) -> dict[str, object]:
        down = self._down_since
        out: dict[str, object] = {"via": self.name, "ok": down is None}
        if down is not None:
            out["down_s"] = round(time.monotonic() - down, 1)
        return out


class RedisWaker(_Reconnecting):
    """Redis pub/sub: `notify` publishes on `REDIS_CHANNEL`, `wait` listens on it."""

    name = "redis"

    def __init__(self, url: str) -> None:
        super().__init__()
        self._client = sync_client(url)
        self._error = redis_module().RedisError
        self._pubsub: redis.client.PubSub | None = None

    def notify(self) -> None:
        try:
            self._client.publish(REDIS_CHANNEL, b"")
        except self._error as exc:
            self._failed(exc)

    def wait(self, timeout: float) -> None:
        if self._pubsub is None and self._may_try():
            try:
                pubsub = self._client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call,unused-ignore]
                pubsub.subscribe(REDIS_CHANNEL)
                self._pubsub = pubsub
                self._recovered()
            except self._error as exc:
                self._failed(exc)
        if self._pubsub is None:
            self._closed.wait(timeout)
            return
        try:
            self._pubsub.get_message(timeout=timeout)
            while self._pubsub.get_message(timeout=0) is not None:
                pass  # one read of the log answers every notice that arrived meanwhile
        except (self._error, OSError) as exc:
            self._drop_pubsub()
            self._failed(exc)

    def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(self._error, OSError):
                pubsub.close()

    def close(self) -> None:
        self.interrupt()
        self._drop_pubsub()
        self._client.close()


class PostgresWaker(_Reconnecting):
    """PostgreSQL LISTEN on `NOTIFY_CHANNEL` (the change log's appends send the NOTIFY)."""

    name = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg

        super().__init__()
        self._psycopg = psycopg
        self._url = url
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None

    def notify(self) -> None:
        """The append's own NOTIFY woke the listeners at commit."""

    def wait(self, timeout: float) -> None:
        if self._connection is None and self._may_try():
            try:
                connection = self._psycopg.connect(self._url, autocommit=True, connect_timeout=5)
                connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                self._connection = connection
                self._recovered()
            except self._psycopg.Error as exc:
                self._failed(exc)
        if self._connection is None:
            self._closed.wait(timeout)
            return
        try:
            for _ in self._connection.notifies(timeout=timeout, stop_after=1):
                pass
        except self._psycopg.Error as exc:
            self._drop()
            self._failed(exc)

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(self._psycopg.Error):
                connection.close()

    def close(self) -> None:
        self.interrupt()
        self._drop()


def waker_for(database_url: str, redis_url: str | None) -> Waker:
    """Redis when configured, else PostgreSQL's LISTEN on PostgreSQL, else polling."""
    if redis_url:
        return RedisWaker(redis_url)
    if database_url.startswith("postgresql"):
        return PostgresWaker(libpq_url(database_url))
    return SleepWaker()


def libpq_url(sqlalchemy_url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq takes it (without the ``+driver`` part)."""
    scheme, sep, rest = sqlalchemy_url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"
