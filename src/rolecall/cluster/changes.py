"""`ChangeFeed`: every process's notices of shared-state changes, delivered to every other.

A change is made durable in its own table first (a cooldown row, a revoked key, the overrides
document, a profile); then `publish` queues a notice (kind, key). The publisher thread appends
queued notices to the database's change log (`SqlChanges`) and wakes the other processes: a Redis
``PUBLISH`` when Redis is configured, PostgreSQL's ``NOTIFY`` (sent by the append itself) else.
The watcher thread reads the log past what it has seen whenever it is woken, and every
`poll_s` regardless, and hands each kind's changed keys to the handlers subscribed to it.

So the log, not the wake-up, is what is delivered: a lost Redis message, a dropped LISTEN
connection or Redis being down only delays a notice until the next poll; nothing is lost.
Notices a process published itself are skipped on reading (it applied the change already).

Ids are allocated at insert but transactions commit in any order, so the reader keeps a floor
(every id up to it seen) and the ids seen above it; a gap in the ids that is still open after
`GAP_S` (a rolled-back append) is given up.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Final

from rolecall.cluster.wakers import Waker
from rolecall.storage.changes import PAGE, Change, SqlChanges

__all__ = ["ChangeFeed", "Handler", "process_origin"]

log = logging.getLogger("rolecall.cluster")

Handler = Callable[[list[str]], None]  # the changed keys of one kind, in log order, each once
GAP_S: Final = 5.0
RETRY_S: Final = 1.0  # a publisher that cannot reach the database tries again after this


def process_origin() -> str:
    """This process's name in the log: host and pid (and a random tag: pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


class ChangeFeed:
    """Publishes this process's notices and delivers everyone else's."""

    def __init__(
        self, changes: SqlChanges, waker: Waker, *, origin: str, poll_s: float = 0.5
    ) -> None:
        self.origin = origin
        self.poll_s = poll_s
        self._changes = changes
        self._waker = waker
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._outbox: queue.SimpleQueue[tuple[str, str] | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._starting = threading.Lock()
        self._publisher: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._floor = 0
        self._seen: set[int] = set()
        # the watcher thread and a caller of `read_now` (a writer's aggregation, a test) must not
        # both take the same notice as fresh: it would be delivered twice
        self._reading = threading.RLock()
        self._gap_since: float | None = None
        self.delivered = 0  # notices handed to handlers (diagnostics)
        self.lag_ms = 0  # age of the newest notice delivered when it was read

    def subscribe(self, kind: str, handler: Handler) -> None:
        self._handlers[kind].append(handler)

    def publish(self, kind: str, key: str = "") -> None:
        """Queue a notice; never blocks (the event loop calls this). The publisher thread starts
        with the first notice, so a CLI process that never serves still publishes."""
        self._outbox.put((kind, key))
        if self._publisher is None:
            with self._starting:
                if self._publisher is None:
                    self._publisher = self._thread("publish", self._run_publisher)

    def status(self) -> dict[str, object]:
        return {"wakeups": self._waker.describe(), "lag_ms": self.lag_ms, "seen_up_to": self._floor}

    def start(self) -> None:
        """Deliver notices from now on (the state was loaded before)."""
        if self._watcher is not None:
            return
        self.skip_past()
        self._watcher = self._thread("watch", self._run_watcher)

    def skip_past(self) -> None:
        """Deliver only notices logged from now on (for a reader that calls `read_now` itself)."""
        with self._reading:
            self._floor = self._changes.last_id()
            self._seen.clear()

    def _thread(self, name: str, target: Callable[[], None]) -> threading.Thread:
        thread = threading.Thread(target=target, name=f"rolecall-changes-{name}", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Publish what is queued, then stop both threads."""
        self._stop.set()
        self._outbox.put(None)
        self._waker.interrupt()
        for thread in (self._publisher, self._watcher):
            if thread is not None:
                thread.join(timeout=5)
        self._publisher = self._watcher = None
        self._waker.close()

    # publisher

    def _run_publisher(self) -> None:
        while True:
            first = self._outbox.get()
            batch = [] if first is None else [first]
            while True:  # everything queued meanwhile goes in the same transaction
                try:
                    item = self._outbox.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    batch.append(item)
            if batch:
                self._append(list(dict.fromkeys(batch)))
            if self._stop.is_set() and self._outbox.empty():
                return

    def _append(self, notices: list[tuple[str, str]]) -> None:
        while True:
            try:
                self._changes.append(notices, self.origin)
            except Exception as exc:  # the driver decides what an outage raises
                if self._stop.is_set():
                    log.warning("dropped %d change notices at shutdown (%s)", len(notices), exc)
                    return
                log.warning("cannot log change notices (%s); retrying", type(exc).__name__)
                self._stop.wait(RETRY_S)
                continue
            self._waker.notify()
            return

    # watcher

    def _run_watcher(self) -> None:
        while not self._stop.is_set():
            self._waker.wait(self.poll_s)
            if self._stop.is_set():
                return
            try:
                self.read_now()
            except Exception as exc:
                log.debug("cannot read the change log (%s)", exc)
                self._stop.wait(RETRY_S)

    def read_now(self) -> int:
        """Read the log past what was seen and deliver it now; how many notices were delivered."""
        with self._reading:
            return self._read_now()

    def _read_now(self) -> int:
        fresh: list[Change] = []
        after = self._floor
        while True:
            page = self._changes.since(after, PAGE)
            fresh.extend(c for c in page if c.id not in self._seen)
            if len(page) < PAGE:
                break
            after = page[-1].id
        self._seen.update(c.id for c in fresh)
        self._advance_floor()
        others = [c for c in fresh if c.origin != self.origin]
        self._deliver(others)
        return len(others)

    def _advance_floor(self) -> None:
        while self._floor + 1 in self._seen:
            self._floor += 1
            self._seen.discard(self._floor)
        if not self._seen:
            self._gap_since = None
            return
        now = time.monotonic()
        if self._gap_since is None:
            self._gap_since = now
        elif now - self._gap_since >= GAP_S:  # an append that never committed
            self._floor = min(self._seen)
            self._seen.discard(self._floor)
            self._gap_since = None
            self._advance_floor()

    def _deliver(self, changes: Iterable[Change]) -> None:
        by_kind: dict[str, dict[str, None]] = defaultdict(dict)
        newest = 0
        for change in changes:
            by_kind[change.kind][change.key] = None
            newest = max(newest, change.at_ms)
        if newest:
            self.lag_ms = max(0, time.time_ns() // 1_000_000 - newest)
        for kind, keys in by_kind.items():
            for handler in self._handlers.get(kind, ()):
                try:
                    handler(list(keys))
                except Exception:  # one bad handler never stops the others or the feed
                    log.exception("change handler for %r failed", kind)
                self.delivered += len(keys)
