"""The record writer's storage side: the sinks that store the recorder's messages.

Owns `write_batch` (a message's rows in one transaction, request facts included),
`store_and_refresh`, and the two implementations of `rolecall.observe.ports.Sink`: `ProcessSink`
(the record writer process, `rolecall.storage.writer_process`, over one socket that the event loop
holds while it serves) and `InProcessSink` (this process: tests, scripts, in-memory SQLite, and the
fallback when the process cannot start or dies, so a record is never dropped). A `ProcessSink`
starts its own writer process, or with a `WriterLink` talks to the one writer that the supervisor
of several workers runs. Why the records take this path is in docs/performance.md. With a
`TraceExport` (OpenTelemetry, docs/operate.md) the traces of the requests a transaction stored go
to it once that transaction has committed: each request once, off the gateway's request path.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Final

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from rolecall.observe import priority
from rolecall.observe.loop_channel import LoopChannel, recv_frame, send_frame
from rolecall.observe.message import RecordBatch, WriterMessage, reply_from_bytes
from rolecall.observe.observation import Observation, decode_observations
from rolecall.observe.ports import (
    Aggregation,
    AggregationFactory,
    TraceExport,
    TraceExportFactory,
)
from rolecall.observe.profile_refresh import EndpointFacts, ProfileRefresher, RefreshResult
from rolecall.observe.request_trace import RequestTrace
from rolecall.observe.rows import build_batch
from rolecall.profiles import Sample
from rolecall.settings import Placement
from rolecall.storage.request_extras import store_extras
from rolecall.storage.spool_reader import Claim, SpoolReader
from rolecall.storage.sql import SqlStorage

__all__ = [
    "InProcessSink",
    "ProcessSink",
    "WriterLink",
    "is_in_memory",
    "open_export",
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
        storage.decisions.put_many(batch.decisions, batch.plans)
        storage.traces.add_traces([RequestTrace.from_row(row) for row in batch.traces])
        if batch.requests:  # before the facts, so that each is written once, complete
            storage.analytics.annotate_requests(batch.requests)
        identities = {str(r["request_id"]): r for r in batch.requests}
        storage.usage.add(batch.usage, identities)
        # the console's request facts, and usage per key, team, user and tag, from the usage and
        # decisions just stored
        storage.analytics.add_facts(batch.usage, [d for d, _ in batch.decisions], identities)
        if batch.samples:
            storage.samples.add(batch.samples)


def store_observed(
    storage: SqlStorage, parts: Sequence[bytes], export: TraceExport | None = None
) -> list[Sample]:
    """Store the requests observed in ``parts`` in one transaction, each once and with its
    stored response and captured prompt if it has them: a request whose records are stored already (a spool
    replayed after a crash) is skipped. The live samples stored; the stored requests' traces
    go to ``export`` after the commit. A part that cannot be decoded is skipped with an error
    in the log."""
    observations = [o for part in parts for o in _decoded(part)]
    if not observations:
        return []
    with storage.batch():
        stored = storage.analytics.stored_request_ids([o.request_id for o in observations])
        new = [o for o in observations if o.request_id not in stored]
        batch = build_batch(new)
        if len(batch):
            write_batch(storage, batch)
        store_extras(storage, new)  # stored responses and captured prompts, with their records
    if export is not None and new:
        export.export(new, batch.traces)
    return batch.samples


def store_spooled(
    storage: SqlStorage, spool: SpoolReader, export: TraceExport | None = None
) -> list[Sample]:
    """Store everything the spool holds, a claim per transaction; the live samples stored.

    A database that cannot be reached raises and leaves the records in the spool (moved from
    memory to disk: `SpoolReader.spill`); records the database refuses (a bug, not an outage) are
    stored one part at a time and the refused ones skipped, so one bad record never blocks the
    rest."""
    samples: list[Sample] = []
    while (claim := spool.claim()) is not None:
        try:
            samples += _store_claim(storage, claim, export)
        except Exception:
            claim.release()
            spool.spill()  # the database cannot take them: what waits in memory goes to disk
            raise
        except BaseException:
            claim.release()
            raise
        claim.commit()
        if not claim.more:
            break
    return samples


def _store_claim(storage: SqlStorage, claim: Claim, export: TraceExport | None) -> list[Sample]:
    if claim.corrupt:
        log.error("record spool: %d unreadable lines skipped", claim.corrupt)
    try:
        return store_observed(storage, claim.parts, export)
    except DBAPIError as exc:
        if _outage(exc):
            raise  # the database is down or busy: the claim waits in the spool
        log.error("storing spooled records failed (%s); storing them one at a time", exc.orig)
    samples: list[Sample] = []
    for part in claim.parts:
        try:
            samples += store_observed(storage, [part], export)
        except DBAPIError as exc:
            if _outage(exc):
                raise
            log.error("a spooled record was refused by the database and skipped: %s", exc.orig)
    return samples


def _outage(exc: DBAPIError) -> bool:
    """Whether the database is down or busy (worth trying again), not refusing the data."""
    return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)


def _decoded(part: bytes) -> list[Observation]:
    try:
        return decode_observations(part)
    except (ValueError, TypeError, KeyError) as exc:
        log.error("an unreadable record part was skipped: %s", f"{type(exc).__name__}: {exc}")
        return []


def store_and_refresh(
    storage: SqlStorage,
    refresher: ProfileRefresher,
    message: WriterMessage,
    spool: SpoolReader | None = None,
    aggregation: Aggregation | None = None,
    export: TraceExport | None = None,
) -> RefreshResult:
    """Store the message's own parts and samples and what the spool holds, then hand the stored
    samples to the live profiles; the profiles now due (a message without parts only asks for
    those). With an ``aggregation`` that this writer does not lead, only store (and tell the
    leader what was stored)."""
    facts = {eid: EndpointFacts(*pair) for eid, pair in message.facts.items()}
    stored = store_observed(storage, message.parts, export)
    if spool is not None:
        stored += store_spooled(storage, spool, export)
    if not feed_profiles(refresher, stored, facts, aggregation):
        return RefreshResult([], None)
    if message.observed:
        refresher.observe(message.observed, facts, stored_here=False)
    reload = list(message.reload)
    if aggregation is not None:
        reload += aggregation.stored_elsewhere()
    if reload:  # after observing: the windows read now hold what was just stored
        refresher.reload(dict.fromkeys(reload), facts)
    return refresher.due()


def feed_profiles(
    refresher: ProfileRefresher,
    stored: list[Sample],
    facts: dict[str, EndpointFacts],
    aggregation: Aggregation | None,
) -> bool:
    """Hand samples stored here to the live profiles if this writer aggregates them (True);
    else keep only the facts (for when it leads) and tell the leader."""
    if aggregation is not None and not aggregation.leading():
        refresher.observe((), facts)
        aggregation.stored_here({sample.endpoint_id for sample in stored})
        return False
    if aggregation is not None and aggregation.gained():
        refresher.reset()  # another writer aggregated until now: what is held is stale
    refresher.observe(stored, facts)
    return True


def open_export(factory: TraceExportFactory | None) -> TraceExport | None:
    """The trace exporter, or None: one that cannot be built costs the traces, not records."""
    if factory is None:
        return None
    try:
        return factory()
    except Exception as exc:
        log.error(
            "cannot start the trace export (%s: %s); storing without it", type(exc).__name__, exc
        )
        return None


class InProcessSink:
    """Stores messages in this process (tests, scripts, in-memory SQLite, the fallback); the
    exporter, if any, is built with the first message."""

    def __init__(
        self,
        storage: SqlStorage,
        spool: SpoolReader | None = None,
        export: TraceExportFactory | None = None,
    ) -> None:
        self._storage = storage
        self._spool = spool
        self._refresher = ProfileRefresher(storage.samples, storage.profiles)
        self._export_factory = export
        self._export: TraceExport | None = None

    def write(self, message: WriterMessage) -> RefreshResult:
        if self._export_factory is not None:
            self._export, self._export_factory = open_export(self._export_factory), None
        return store_and_refresh(
            self._storage, self._refresher, message, self._spool, export=self._export
        )

    async def open_loop_channel(self) -> LoopChannel | None:
        return None  # stored right here: the thread that writes is the one that stores

    def hurry(self) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        if self._export is not None:
            self._export.close()
        if self._spool is not None:
            self._spool.tidy()


@dataclass(frozen=True, slots=True)
class WriterLink:
    """A channel to a record writer that another process started and supervises (the one writer
    of `rolecall serve --workers N`, `writer_process.serve_shared`): this gateway's end, and the
    writer's pid (to hurry it at shutdown)."""

    channel: socket.socket
    pid: int


class ProcessSink:
    """Messages to the record writer process over one socket: the event loop's while it serves
    (`open_loop_channel`), this object's otherwise (`write`, one thread at a time).

    Whoever does not hold the socket does not use it: `write` waits (at most `LEND_WAIT_S`) for
    the loop to give it back, then stores in this process instead.
    """

    def __init__(
        self,
        url: str,
        fallback: SqlStorage,
        spool: Path | None = None,
        *,
        link: WriterLink | None = None,
        aggregation: AggregationFactory | None = None,
        export: TraceExportFactory | None = None,
        placement: Placement = "auto",
    ) -> None:
        """``aggregation`` builds, in the writer process, its place in the election of the one
        writer that aggregates live profiles (none: this writer always does); ``export`` its
        trace exporter; ``placement`` the CPUs it runs on (`priority.run_apart`)."""
        self._fallback = InProcessSink(fallback, _reader(spool), export)
        self._facts: dict[str, tuple[str, str | None]] = {}  # every fact sent, for the fallback
        self._returned = threading.Condition()  # guards the socket and who holds it
        self._lent: socket.socket | None = None  # the loop's duplicate while it holds the socket
        self._process: BaseProcess | None = None  # the writer, when this sink started it
        self._at_exit: Callable[[], None] | None = None
        if link is None:
            ours, self._process = _start_writer(url, spool, aggregation, export, placement)
            self._pid = self._process.pid
            # A sink nobody closed (a script, a test, a crashed start-up) must still let the
            # interpreter exit: multiprocessing joins its children at exit, and this child
            # ignores SIGTERM and only stops when its socket closes. Registered after
            # multiprocessing's own exit handler (imported by `start`), so it runs before it.
            self._at_exit = lambda: self._stop(JOIN_TIMEOUT_S)
            atexit.register(self._at_exit)
        else:  # the writer is the supervisor's: this gateway only holds a channel to it
            ours, self._pid = link.channel, link.pid
        self._sock: socket.socket | None = ours  # None once the process is gone or closed
        if not _ready(ours):
            self._give_up("did not start")

    @property
    def pid(self) -> int | None:
        return self._pid if self._sock is not None else None

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
        if self._process is not None and self._process.is_alive():
            self._process.kill()

    def hurry(self) -> None:
        """The gateway is stopping: the writer process leaves idle priority, so what it still
        has to store is not starved by busy cores (local models decoding, say)."""
        pid = self.pid
        if pid is not None:
            priority.normal(pid)

    def close(self, timeout: float | None = None) -> None:
        """Let the writer process store everything it was sent, then stop it."""
        if self._at_exit is not None:
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
        if self._process is not None:
            self._process.join(timeout)
            if self._process.is_alive():
                self._process.kill()
        self._fallback.close()

    def _close_sockets(self) -> None:
        """Close this end, and the loop's duplicate if it has one (its event loop is gone or
        about to be)."""
        for sock in (self._sock, self._lent):
            if sock is not None:
                sock.close()
        self._sock = self._lent = None


def _start_writer(
    url: str,
    spool: Path | None,
    aggregation: AggregationFactory | None,
    export: TraceExportFactory | None,
    placement: Placement,
) -> tuple[socket.socket, BaseProcess]:
    """This gateway's own record writer process, and the gateway's end of its socket."""
    from rolecall.storage import writer_process

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["rolecall.storage.writer_process"])
    ours, theirs = socket.socketpair()
    process = context.Process(
        target=writer_process.serve,
        args=(url, theirs, spool, aggregation, export, placement),
        name="rolecall-writer",
        daemon=True,
    )
    process.start()
    theirs.close()
    return ours, process


def _ready(sock: socket.socket) -> bool:
    """Whether the writer process said it is ready within `START_TIMEOUT_S`."""
    sock.settimeout(START_TIMEOUT_S)
    try:
        return recv_frame(sock) == READY
    except OSError:
        return False
    finally:
        sock.settimeout(None)


def open_sink(
    url: str,
    storage: SqlStorage,
    *,
    use_process: bool,
    spool: Path | None = None,
    link: WriterLink | None = None,
    aggregation: AggregationFactory | None = None,
    export: TraceExportFactory | None = None,
    placement: Placement = "auto",
) -> InProcessSink | ProcessSink:
    """The writer-process sink when asked for and possible (over ``link`` when another process
    runs the writer), else the in-process one; either stores what ``spool`` (a `Spool`'s
    directory) holds too, and hands the stored requests' traces to an ``export`` built by it."""
    if not use_process or is_in_memory(url):
        return InProcessSink(storage, _reader(spool), export)
    try:
        return ProcessSink(
            url,
            storage,
            spool,
            link=link,
            aggregation=aggregation,
            export=export,
            placement=placement,
        )
    except OSError as exc:
        log.warning("cannot start the record writer process (%s); writing in-process", exc)
        return InProcessSink(storage, _reader(spool), export)


def _reader(spool: Path | None) -> SpoolReader | None:
    return None if spool is None else SpoolReader(spool)


def is_in_memory(url: str) -> bool:
    """Whether ``url`` is an in-memory SQLite database (gone with the process)."""
    parsed = make_url(url)
    database = parsed.database or ""
    return parsed.get_backend_name() == "sqlite" and (
        database in ("", ":memory:") or "mode=memory" in database
    )
