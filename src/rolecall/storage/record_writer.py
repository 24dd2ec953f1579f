"""The record writer's storage side: the sinks that store the recorder's messages.

Owns `write_batch` (a message's rows in one transaction, request facts included),
`store_and_refresh`, and the two implementations of `rolecall.observe.ports.Sink`: `ProcessSink`
(the record writer process, `rolecall.storage.writer_process`, over one socket that the event loop
holds while it serves) and `InProcessSink` (this process: tests, scripts, in-memory SQLite, and the
fallback when the process cannot start or dies, so a record is never dropped). Why the records
take this path is in docs/performance.md.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import socket
import threading
from typing import Final

from sqlalchemy.engine import make_url

from rolecall.observe import priority
from rolecall.observe.loop_channel import LoopChannel, recv_frame, send_frame
from rolecall.observe.message import RecordBatch, WriterMessage, reply_from_bytes
from rolecall.observe.profile_refresh import EndpointFacts, ProfileRefresher, RefreshResult
from rolecall.observe.request_trace import RequestTrace
from rolecall.storage.sql import SqlStorage

__all__ = [
    "InProcessSink",
    "ProcessSink",
    "open_sink",
    "store_and_refresh",
    "write_batch",
]

log = logging.getLogger("rolecall.observe")
START_TIMEOUT_S: Final = 30.0
JOIN_TIMEOUT_S: Final = 10.0  # a sink closed at interpreter exit: time to store what was sent
# how long `ProcessSink.write` waits for the event loop to give the socket back (it does so
# within a moment of `Recorder.stop`; longer only when the loop is stuck)
LEND_WAIT_S: Final = 1.0
READY: Final = b"ready"  # the writer process's first frame


def write_batch(storage: SqlStorage, batch: RecordBatch) -> None:
    """Write one batch in one transaction, whatever its size."""
    with storage.batch():
        storage.decisions.put_many(batch.decisions)
        storage.traces.add_traces([RequestTrace.from_row(row) for row in batch.traces])
        if batch.requests:  # before the facts, so that each is written once, complete
            storage.analytics.annotate_requests(batch.requests)
        storage.usage.add(batch.usage)
        # the console's request facts, from the usage and decisions just stored
        storage.analytics.add_facts(batch.usage, [d for d, _ in batch.decisions])
        if batch.samples:
            storage.samples.add(batch.samples)


def store_and_refresh(
    storage: SqlStorage, refresher: ProfileRefresher, message: WriterMessage
) -> RefreshResult:
    """Store the message's rows in one transaction, then hand its samples to the live profiles;
    the profiles now due (a message without parts only asks for those)."""
    batch = message.batch()
    if len(batch) or batch.samples:
        write_batch(storage, batch)
    facts = {eid: EndpointFacts(*pair) for eid, pair in message.facts.items()}
    refresher.observe(batch.samples, facts)
    if message.observed:
        refresher.observe(message.observed, facts, stored_here=False)
    return refresher.due()


class InProcessSink:
    """Stores messages in this process (tests, scripts, in-memory SQLite, the fallback)."""

    def __init__(self, storage: SqlStorage) -> None:
        self._storage = storage
        self._refresher = ProfileRefresher(storage.samples, storage.profiles)

    def write(self, message: WriterMessage) -> RefreshResult:
        return store_and_refresh(self._storage, self._refresher, message)

    async def open_loop_channel(self) -> LoopChannel | None:
        return None  # stored right here: the thread that writes is the one that stores

    def hurry(self) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        return None


class ProcessSink:
    """Messages to the record writer process over one socket: the event loop's while it serves
    (`open_loop_channel`), this object's otherwise (`write`, one thread at a time).

    Whoever does not hold the socket does not use it: `write` waits (at most `LEND_WAIT_S`) for
    the loop to give it back, then stores in this process instead.
    """

    def __init__(self, url: str, fallback: SqlStorage) -> None:
        self._fallback = InProcessSink(fallback)
        self._facts: dict[str, tuple[str, str | None]] = {}  # every fact sent, for the fallback
        self._returned = threading.Condition()  # guards the socket and who holds it
        from rolecall.storage import writer_process

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["rolecall.storage.writer_process"])
        ours, theirs = socket.socketpair()
        self._sock: socket.socket | None = ours  # None once the process is gone or closed
        self._lent: socket.socket | None = None  # the loop's duplicate while it holds the socket
        self._process = context.Process(
            target=writer_process.serve, args=(url, theirs), name="rolecall-writer", daemon=True
        )
        self._process.start()
        theirs.close()
        # A sink nobody closed (a script, a test, a crashed start-up) must still let the
        # interpreter exit: multiprocessing joins its children at exit, and this child ignores
        # SIGTERM and only stops when its socket closes. Registered after multiprocessing's own
        # exit handler (imported by `start`), so it runs before it.
        self._at_exit = lambda: self._stop(JOIN_TIMEOUT_S)
        atexit.register(self._at_exit)
        if not _ready(ours):
            self._give_up("did not start")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._sock is not None else None

    async def open_loop_channel(self) -> LoopChannel | None:
        """The running event loop's connection to the writer process (None when the process is
        gone or the loop holds it already), until the loop closes it."""
        with self._returned:
            if self._sock is None or self._lent is not None:
                return None
            lent = self._lent = self._sock.dup()
        return await LoopChannel.open(lent, on_close=self._take_back)

    def _take_back(self) -> None:
        with self._returned:
            self._lent = None
            if self._sock is not None:
                self._sock.setblocking(True)  # the loop made the shared socket non-blocking
            self._returned.notify_all()

    def write(self, message: WriterMessage) -> RefreshResult:
        with self._returned:
            self._facts.update(message.facts)
            self._returned.wait_for(lambda: self._lent is None, LEND_WAIT_S)
            sock = self._sock if self._lent is None else None
            if sock is not None:
                try:
                    send_frame(sock, message.to_bytes())
                    reply = recv_frame(sock)
                except OSError:
                    reply = None
                if reply is not None:  # raises when the process could not store this message
                    return reply_from_bytes(reply)
                self._give_up("stopped")
        # the in-process refresher has seen none of the facts the process was sent
        return self._fallback.write(WriterMessage(message.parts, dict(self._facts)))

    def _give_up(self, what: str) -> None:
        log.warning("the record writer process %s; writing records in the gateway process", what)
        self._close_sockets()
        if self._process.is_alive():
            self._process.kill()

    def hurry(self) -> None:
        """The gateway is stopping: the writer process leaves idle priority, so what it still
        has to store is not starved by busy cores (local models decoding, say)."""
        pid = self.pid
        if pid is not None:
            priority.normal(pid)

    def close(self, timeout: float | None = None) -> None:
        """Let the writer process store everything it was sent, then stop it."""
        atexit.unregister(self._at_exit)
        self._stop(timeout)

    def _stop(self, timeout: float | None) -> None:
        self.hurry()
        # after the message in flight, if any (not forever: at exit its thread may be stuck)
        locked = self._returned.acquire(timeout=JOIN_TIMEOUT_S)
        try:
            self._close_sockets()  # the process stores what it has read, then sees the end
        finally:
            if locked:
                self._returned.release()
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.kill()

    def _close_sockets(self) -> None:
        """Close this end, and the loop's duplicate if it has one (its event loop is gone or
        about to be)."""
        for sock in (self._sock, self._lent):
            if sock is not None:
                sock.close()
        self._sock = self._lent = None


def _ready(sock: socket.socket) -> bool:
    """Whether the writer process said it is ready within `START_TIMEOUT_S`."""
    sock.settimeout(START_TIMEOUT_S)
    try:
        return recv_frame(sock) == READY
    except OSError:
        return False
    finally:
        sock.settimeout(None)


def open_sink(url: str, storage: SqlStorage, *, use_process: bool) -> InProcessSink | ProcessSink:
    """The writer-process sink when asked for and possible, else the in-process one."""
    if not use_process or _in_memory_sqlite(url):
        return InProcessSink(storage)
    try:
        return ProcessSink(url, storage)
    except OSError as exc:
        log.warning("cannot start the record writer process (%s); writing in-process", exc)
        return InProcessSink(storage)


def _in_memory_sqlite(url: str) -> bool:
    parsed = make_url(url)
    database = parsed.database or ""
    return parsed.get_backend_name() == "sqlite" and (
        database in ("", ":memory:") or "mode=memory" in database
    )
