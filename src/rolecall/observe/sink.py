"""Where the recorder's batches go: the database, through a writer process or in this process.

A batch holds the records of every request drained at once (decisions, spans, usage, events,
samples) and is written in one transaction. The gateway normally hands batches to a **writer
process**: SQL work (SQLAlchemy statements, SQLite commits, PostgreSQL round trips) costs several
times more CPU than serving the request itself, and in a thread of the gateway process it holds the
GIL in slices of up to ``sys.getswitchinterval()`` (5 ms) while the event loop waits — that was the
whole tail of the gateway's added latency. The recorder's thread now only builds the rows, sends
them as one orjson message and blocks (GIL released) until the writer process acknowledges the
commit, so ``BackgroundWriter.flush`` still means "stored".

If the writer process cannot start or dies, batches are written in this process instead (logged
once), so a record is never dropped for want of the process. An in-memory SQLite database cannot be
shared between processes and always uses the in-process sink.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Final, Protocol

import orjson
from sqlalchemy.engine import make_url

from rolecall.profiles import Sample
from rolecall.storage.sql import SqlStorage

__all__ = ["InProcessSink", "ProcessSink", "RecordBatch", "Sink", "open_sink", "write_batch"]

log = logging.getLogger("rolecall.observe")
START_TIMEOUT_S: Final = 30.0
ACK_OK: Final = b"ok"


@dataclass(slots=True)
class RecordBatch:
    """The rows of one drain: every list may be empty."""

    decisions: list[tuple[dict[str, Any], int]] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    usage: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    # {"request_id", "role_id", "task_type"}: what the router was asked, which usage events lack
    requests: list[dict[str, Any]] = field(default_factory=list)

    def extend(self, other: RecordBatch) -> None:
        """Append ``other``'s rows (one transaction can then store both)."""
        self.decisions += other.decisions
        self.spans += other.spans
        self.usage += other.usage
        self.events += other.events
        self.samples += other.samples
        self.requests += other.requests

    def __len__(self) -> int:
        """How many requests' records the batch holds."""
        return len(self.decisions)

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            [self.decisions, self.spans, self.usage, self.events, self.samples, self.requests]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> RecordBatch:
        decisions, spans, usage, events, samples, requests = orjson.loads(data)
        return cls(
            decisions=[(artifact, created) for artifact, created in decisions],
            spans=spans,
            usage=usage,
            events=events,
            samples=[Sample(**s) for s in samples],
            requests=requests,
        )


def write_batch(storage: SqlStorage, batch: RecordBatch) -> None:
    """Write one batch in one transaction, whatever its size."""
    with storage.batch():
        storage.put_decisions(batch.decisions)
        storage.add_spans(batch.spans)
        if batch.requests:  # before the usage, so the request facts are written once, complete
            storage.annotate_requests(batch.requests)
        storage.add_usage(batch.usage)
        storage.add_events(batch.events)
        if batch.samples:
            storage.add_samples(batch.samples)


class Sink(Protocol):
    def write(self, batch: RecordBatch) -> None:
        """Store ``batch``; return once it is committed (raise if it cannot be)."""

    def close(self, timeout: float | None = None) -> None:
        """Release the sink; nothing written afterwards."""


class InProcessSink:
    def __init__(self, storage: SqlStorage) -> None:
        self._storage = storage

    def write(self, batch: RecordBatch) -> None:
        write_batch(self._storage, batch)

    def close(self, timeout: float | None = None) -> None:
        return None


class ProcessSink:
    """Batches to a writer process over a pipe, one acknowledged message per batch.

    ``write`` is called from one thread at a time (the recorder's drain on the background writer).
    """

    def __init__(self, url: str, fallback: SqlStorage) -> None:
        self._fallback = fallback
        self._lock = threading.Lock()
        from rolecall.observe import writer_process

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["rolecall.observe.writer_process"])
        ours, theirs = context.Pipe(duplex=True)
        self._conn: Connection | None = ours
        self._process = context.Process(
            target=writer_process.serve, args=(url, theirs), name="rolecall-writer", daemon=True
        )
        self._process.start()
        theirs.close()
        try:
            ready = ours.poll(START_TIMEOUT_S) and ours.recv_bytes() == b"ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self._give_up("did not start")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._conn is not None else None

    def write(self, batch: RecordBatch) -> None:
        with self._lock:
            conn = self._conn
            if conn is not None:
                try:
                    conn.send_bytes(batch.to_bytes())
                    reply = conn.recv_bytes()
                except (EOFError, OSError):
                    self._give_up("stopped")
                else:
                    if reply == ACK_OK:
                        return
                    # the process is alive but could not store this batch: let the caller see why
                    raise RuntimeError(reply.decode(errors="replace"))
        write_batch(self._fallback, batch)

    def _give_up(self, what: str) -> None:
        log.warning("the record writer process %s; writing records in the gateway process", what)
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process.is_alive():
            self._process.kill()

    def close(self, timeout: float | None = None) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(OSError):
                    self._conn.send_bytes(b"stop")
                self._conn.close()
                self._conn = None
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.kill()


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
