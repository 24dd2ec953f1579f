"""The record writer's storage side: the sinks that store the recorder's messages.

Owns `write_batch` (a message's rows in one transaction, request facts included),
`store_and_refresh`, and the two implementations of `rolecall.observe.ports.Sink`: `ProcessSink`
(the record writer process, `rolecall.storage.writer_process`, which the event loop talks to over
its own socket) and `InProcessSink` (this process: tests, scripts, in-memory SQLite, and the
fallback when the process cannot start or dies, so a record is never dropped). Why the records
take this path is in docs/performance.md.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import socket
import threading
from multiprocessing.connection import Connection
from typing import Final

from sqlalchemy.engine import make_url

from rolecall.observe import priority
from rolecall.observe.loop_channel import LoopChannel
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
    """Batches to a writer process over a pipe, one acknowledged message per batch.

    ``write`` is called from one thread at a time (the recorder's drain on the background writer).
    """

    def __init__(self, url: str, fallback: SqlStorage) -> None:
        self._fallback = InProcessSink(fallback)
        self._facts: dict[str, tuple[str, str | None]] = {}  # every fact sent, for the fallback
        self._lock = threading.Lock()
        from rolecall.storage import writer_process

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["rolecall.storage.writer_process"])
        ours, theirs = context.Pipe(duplex=True)
        self._conn: Connection | None = ours
        # the event loop's own connection (`open_loop_channel`)
        loop_ours, loop_theirs = socket.socketpair()
        self._loop_end: socket.socket | None = loop_ours
        self._loop_sock: socket.socket | None = None  # once opened, as the loop's channel
        self._process = context.Process(
            target=writer_process.serve,
            args=(url, theirs, loop_theirs),
            name="rolecall-writer",
            daemon=True,
        )
        self._process.start()
        theirs.close()
        loop_theirs.close()
        # A sink nobody closed (a script, a test, a crashed start-up) must still let the
        # interpreter exit: multiprocessing joins its children at exit, and this child ignores
        # SIGTERM and only stops when told to or when its pipe closes. Registered after
        # multiprocessing's own exit handler (imported by `start`), so it runs before it.
        process = self._process

        def at_exit() -> None:
            self.hurry()
            self._close_loop_end()
            _stop_writer(ours, process, JOIN_TIMEOUT_S)

        self._at_exit = at_exit
        atexit.register(at_exit)
        try:
            ready = ours.poll(START_TIMEOUT_S) and ours.recv_bytes() == b"ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self._give_up("did not start")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._conn is not None else None

    async def open_loop_channel(self) -> LoopChannel | None:
        """The running event loop's connection to the writer process (once; None when the
        process is gone or the channel was taken). Messages on it are stored like `write`'s."""
        sock, self._loop_end = self._loop_end, None
        if sock is None or self._conn is None:
            return None
        self._loop_sock = sock
        return await LoopChannel.open(sock)

    def write(self, message: WriterMessage) -> RefreshResult:
        with self._lock:
            self._facts.update(message.facts)
            conn = self._conn
            if conn is not None:
                try:
                    conn.send_bytes(message.to_bytes())
                    reply = conn.recv_bytes()
                except (EOFError, OSError):
                    self._give_up("stopped")
                else:
                    # raises when the process is alive but could not store this batch
                    return reply_from_bytes(reply)
        # the in-process refresher has seen none of the facts the process was sent
        return self._fallback.write(WriterMessage(message.parts, dict(self._facts)))

    def _give_up(self, what: str) -> None:
        log.warning("the record writer process %s; writing records in the gateway process", what)
        self._close_loop_end()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process.is_alive():
            self._process.kill()

    def hurry(self) -> None:
        """The gateway is stopping: the writer process leaves idle priority, so what it still
        has to store is not starved by busy cores (local models decoding, say)."""
        pid = self.pid
        if pid is not None:
            priority.normal(pid)

    def close(self, timeout: float | None = None) -> None:
        self.hurry()
        with self._lock:
            atexit.unregister(self._at_exit)
            conn, self._conn = self._conn, None
            self._close_loop_end()
        _stop_writer(conn, self._process, timeout)

    def _close_loop_end(self) -> None:
        """Close the loop's end of its channel: unopened, or opened (its event loop is gone or
        about to be: the writer process then stops reading it)."""
        for sock in (self._loop_end, self._loop_sock):
            if sock is not None:
                sock.close()
        self._loop_end = self._loop_sock = None


def _stop_writer(
    conn: Connection | None, process: multiprocessing.process.BaseProcess, timeout: float | None
) -> None:
    """Tell the writer process to stop after what it was sent, then wait for it (or kill it)."""
    if conn is not None and not conn.closed:
        with contextlib.suppress(OSError):
            conn.send_bytes(b"stop")
        conn.close()
    process.join(timeout)
    if process.is_alive():
        process.kill()


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
