"""Where the recorder's batches go: the database, through a writer process or in this process.

A message holds what the gateway observed about every request drained at once; the sink builds
their records (decisions, traces, usage, samples: `rolecall.observe.records`) and writes them in
one transaction; its samples then feed the live observed profiles
(`ProfileRefresher`), and the write returns the profiles that came due. The gateway normally hands
batches to a **writer process**: SQL work (SQLAlchemy statements, SQLite commits, PostgreSQL round
trips) and profile aggregation cost several times more CPU than serving the request itself, and in
a thread of the gateway process they hold the GIL in slices of up to ``sys.getswitchinterval()``
(5 ms) while the event loop waits — that was the whole tail of the gateway's added latency. The
recorder only sends the observations as one orjson message and blocks (GIL released) until the
writer process answers after the commit, so ``BackgroundWriter.flush`` still means "stored".

If the writer process cannot start or dies, batches are written in this process instead (logged
once), so a record is never dropped for want of the process. An in-memory SQLite database cannot be
shared between processes and always uses the in-process sink.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import socket
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Final, Protocol

import orjson
from sqlalchemy.engine import make_url

from rolecall.observe import priority
from rolecall.observe.loop_channel import LoopChannel
from rolecall.observe.observation import Observation, decode_observations, encode_observations
from rolecall.observe.profile_refresh import EndpointFacts, ProfileRefresher, RefreshResult
from rolecall.observe.records import RecordBatch, build_batch
from rolecall.profiles import Sample
from rolecall.protocol import ObservedPerformanceProfile
from rolecall.storage.sql import SqlStorage
from rolecall.storage.trace_rows import RequestTrace

__all__ = [
    "InProcessSink",
    "Message",
    "ProcessSink",
    "RecordBatch",
    "Sink",
    "open_sink",
    "store_and_refresh",
    "write_batch",
]

log = logging.getLogger("rolecall.observe")
START_TIMEOUT_S: Final = 30.0
JOIN_TIMEOUT_S: Final = 10.0  # a sink closed at interpreter exit: time to store what was sent


@dataclass(slots=True)
class Message:
    """What one write stores: observed requests already encoded (each request is observed and
    encoded on the event loop right after its response, so whoever hands them on only joins
    bytes), the aggregation facts of their samples' endpoints, and samples stored by someone
    else (a benchmark, in its own transaction) that only feed profiles."""

    parts: list[bytes] = field(default_factory=list)  # encode_observations() each
    # endpoint_id → (endpoint version, membership revision)
    facts: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    observed: list[Sample] = field(default_factory=list)
    backlog: int = 0  # requests still waiting in the gateway behind this message

    @property
    def requests(self) -> int:
        """Requests this message and the gateway's backlog hold: how far behind the writer is."""
        return len(self.parts) + self.backlog

    @classmethod
    def of(
        cls,
        observations: list[Observation],
        facts: dict[str, tuple[str, str | None]] | None = None,
    ) -> Message:
        return cls([encode_observations(observations)], facts or {})

    def to_bytes(self) -> bytes:
        """A head line (facts, observed samples), then one line per part (orjson output holds no
        newline)."""
        head = {"facts": self.facts, "observed": self.observed, "backlog": self.backlog}
        return b"\n".join([orjson.dumps(head), *self.parts])

    @classmethod
    def from_bytes(cls, data: bytes) -> Message:
        head, *parts = data.split(b"\n")
        decoded = orjson.loads(head)
        facts = {eid: (version, revision) for eid, (version, revision) in decoded["facts"].items()}
        observed = [Sample(**s) for s in decoded["observed"]]
        return cls(parts, facts, observed, int(decoded.get("backlog", 0)))

    def batch(self) -> RecordBatch:
        """The rows of every observed request in the message, as one batch."""
        return build_batch(o for part in self.parts for o in decode_observations(part))


def write_batch(storage: SqlStorage, batch: RecordBatch) -> None:
    """Write one batch in one transaction, whatever its size."""
    with storage.batch():
        storage.put_decisions(batch.decisions)
        storage.add_traces([RequestTrace.from_row(row) for row in batch.traces])
        if batch.requests:  # before the usage, so the request facts are written once, complete
            storage.annotate_requests(batch.requests)
        storage.add_usage(batch.usage)
        if batch.samples:
            storage.add_samples(batch.samples)


def store_and_refresh(
    storage: SqlStorage, refresher: ProfileRefresher, message: Message
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


def reply_bytes(result: RefreshResult) -> bytes:
    profiles = [p.model_dump(mode="json", exclude_none=True) for p in result.profiles]
    return orjson.dumps({"profiles": profiles, "next_due_s": result.next_due_s})


def reply_from_bytes(data: bytes) -> RefreshResult:
    """The writer process's answer; raises RuntimeError with its message when it failed."""
    reply = orjson.loads(data)
    if "error" in reply:
        raise RuntimeError(reply["error"])
    profiles = [ObservedPerformanceProfile.model_validate(p) for p in reply["profiles"]]
    return RefreshResult(profiles, reply["next_due_s"])


class Sink(Protocol):
    def write(self, message: Message) -> RefreshResult:
        """Store ``message`` (raise if it cannot be); return once it is committed, with the
        observed profiles that came due."""

    def hurry(self) -> None:
        """Shutdown is starting: stop deferring work to idle moments."""

    def close(self, timeout: float | None = None) -> None:
        """Release the sink; nothing written afterwards."""


class InProcessSink:
    def __init__(self, storage: SqlStorage) -> None:
        self._storage = storage
        self._refresher = ProfileRefresher(storage)

    def write(self, message: Message) -> RefreshResult:
        return store_and_refresh(self._storage, self._refresher, message)

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
        from rolecall.observe import writer_process

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["rolecall.observe.writer_process"])
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

    def write(self, message: Message) -> RefreshResult:
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
        return self._fallback.write(Message(message.parts, dict(self._facts)))

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


def open_sink(url: str, storage: SqlStorage, *, use_process: bool) -> Sink:
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
