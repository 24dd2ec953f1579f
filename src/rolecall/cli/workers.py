"""`rolecall serve --workers N`: N gateway processes behind one port, one record writer.

The supervisor is the process `rolecall serve` was started as. It serves no request and opens no
database connection while it supervises: it binds the port's listening sockets (one per worker,
sharing the port through ``SO_REUSEPORT``: `rolecall.gateway.server.listening_sockets`), starts the
one record writer (`rolecall.storage.writer_process.serve_shared`) and the workers
(`rolecall.cli.worker_process`), each a fresh interpreter (multiprocessing's spawn: no event
loop, engine or lock crosses a fork) that builds its own services.

- One writer: every worker appends its records to the shared spool and talks to the writer over a
  channel the supervisor hands both ends of; the writer stores the spool and answers each worker
  with the live profiles that came due (to every worker, not only the one asking).
- Start: what all share is prepared once (`bootstrap.prepare_shared`); the first worker must come
  up before the others start, so a start-up failure is shown once and ends the command.
- A worker that dies is replaced (its socket stays listening meanwhile, so connections queued
  on it wait for the replacement), after a backoff that grows while replacements keep dying
  young; `GIVE_UP_AFTER` deaths in a row end everything with a clear message. A writer that dies
  is replaced too; workers that had a channel to it store records themselves from then on.
- SIGTERM or SIGINT stops the workers (each drains its requests and records), then the writer
  (it stores what the spool still holds).
- Metrics: the workers keep theirs in files of one directory the supervisor empties at start, so
  a scrape of any worker shows the whole gateway's (`rolecall.telemetry.multiproc`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Final

from rolecall.cli.worker_process import READY, serve_worker
from rolecall.cluster.aggregation import writer_aggregation
from rolecall.observe.loop_channel import recv_frame
from rolecall.settings import Settings
from rolecall.storage.record_writer import READY as READY_FRAME
from rolecall.storage.record_writer import START_TIMEOUT_S, WriterLink, is_in_memory
from rolecall.storage.writer_process import send_channel, serve_shared
from rolecall.telemetry import multiproc
from rolecall.telemetry.otel_config import trace_export

__all__ = ["GIVE_UP_AFTER", "Supervisor", "WorkersError", "worker_count"]

log = logging.getLogger("rolecall")
BACKOFF_S: Final = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # before replacing, by deaths in a row
STABLE_S: Final = 10.0  # a worker that served this long died of something else than its start
GIVE_UP_AFTER: Final = 5  # deaths in a row of one worker, each before it served or soon after
WORKER_STOP_S: Final = 30.0  # for the workers to drain (their own shutdown waits up to 2 × 10 s)
WRITER_STOP_S: Final = 60.0  # for the writer to store what is left (else the next start does)


class WorkersError(Exception):
    """The workers could not be started or kept running; the message says why."""


def worker_count(settings: Settings) -> int:
    """Gateway processes to run: the setting, and for 0 one. On SQLite every process shares its
    one write lock; on PostgreSQL a second worker did not serve more requests on the 2-core host
    measured, which also ran the database and the load (docs/performance.md §Workers), so one
    per core is not the default until a bench on a larger host shows it pays."""
    return settings.workers or 1


@dataclass(eq=False)
class _Slot:
    """One worker's place: its listening socket, and the process serving on it now."""

    index: int
    listener: socket.socket
    process: BaseProcess | None = None
    ready: Connection | None = None  # the supervisor's end of the worker's ready pipe
    serving_since: float | None = None
    deaths: int = 0  # in a row, each before serving or soon after
    start_at: float | None = None  # when to start a replacement


class Supervisor:
    """Runs the workers and the writer of one `rolecall serve --workers N`."""

    def __init__(
        self,
        settings: Settings,
        sockets: list[socket.socket],
        *,
        spool_dir: Path | None = None,
        extra_inventory: dict[str, Any] | None = None,
    ) -> None:
        if is_in_memory(settings.effective_database_url):
            raise WorkersError(
                "several workers need a database they can share: an in-memory SQLite database "
                "is one process's own; set ROLECALL_DATABASE_URL to a file or PostgreSQL, or "
                "ROLECALL_WORKERS=1"
            )
        self._settings = settings
        self._spool_dir = spool_dir
        self._extra = extra_inventory
        self._context = multiprocessing.get_context("spawn")
        self._slots = [_Slot(i, sock) for i, sock in enumerate(sockets)]
        self._writer: BaseProcess | None = None
        self._control: socket.socket | None = None  # to the writer: new workers' channels
        self._writer_deaths = 0  # in a row, each soon after it started
        self._writer_since = 0.0
        self._writer_start_at: float | None = None
        self._up = False  # the first worker served: later deaths are replaced
        self._stopping = False
        self._wake_r, self._wake_w = socket.socketpair()

    def run(self) -> int:
        """Supervise until stopped (0) or until the workers cannot be kept running (raises)."""
        with self._signals():
            try:
                if self._settings.metrics:  # before any worker starts: they inherit where
                    multiproc.prepare(self._settings.data_dir)
                if self._settings.record_process:
                    self._start_writer()
                self._start(self._slots[0])
                self._loop()
            finally:
                self._shutdown()
        return 0

    # -- the loop ---------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping:
            self._start_due()
            for ready in wait(self._waitables(), self._timeout()):
                self._handle(ready)

    def _waitables(self) -> list[Any]:
        found: list[Any] = [self._wake_r]
        if self._writer is not None:
            found.append(self._writer.sentinel)
        for slot in self._slots:
            if slot.process is not None:
                found.append(slot.process.sentinel)
            if slot.ready is not None:
                found.append(slot.ready)
        return found

    def _timeout(self) -> float | None:
        due = [s.start_at for s in self._slots if s.start_at is not None]
        if self._writer_start_at is not None:
            due.append(self._writer_start_at)
        return None if not due else max(0.0, min(due) - time.monotonic())

    def _handle(self, ready: Any) -> None:
        if ready is self._wake_r:
            self._wake_r.recv(64)  # a signal: `_stopping` says which
            return
        if self._writer is not None and ready == self._writer.sentinel:
            self._writer_died()
            return
        for slot in self._slots:
            if slot.ready is not None and ready is slot.ready:
                self._serving(slot)
            elif slot.process is not None and ready == slot.process.sentinel:
                self._died(slot)

    def _start_due(self) -> None:
        now = time.monotonic()
        if self._writer_start_at is not None and self._writer_start_at <= now:
            self._writer_start_at = None
            self._start_writer()
        for slot in self._slots:
            if slot.start_at is not None and slot.start_at <= now:
                slot.start_at = None
                self._start(slot)

    # -- workers ----------------------------------------------------------------------------

    def _start(self, slot: _Slot) -> None:
        link = self._channel()
        settings = self._settings
        if link is None and settings.record_process:  # the writer is being replaced
            settings = settings.model_copy(update={"record_process": False})
        ready, theirs = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=serve_worker,
            args=(settings, slot.listener, link, theirs, os.getpid(), self._extra),
            name=f"rolecall-worker-{slot.index}",
        )
        process.start()
        theirs.close()
        if link is not None:
            link.channel.close()  # the worker has its own copy now
        slot.process, slot.ready, slot.serving_since = process, ready, None

    def _channel(self) -> WriterLink | None:
        """A new channel to the writer: its end handed over now, ours for the worker."""
        if self._control is None or self._writer is None or self._writer.pid is None:
            return None  # no writer (turned off, or being replaced): the worker stores itself
        ours, theirs = socket.socketpair()
        try:
            send_channel(self._control, theirs)
        except OSError:  # the writer died this moment; its sentinel will say so
            ours.close()
            return None
        finally:
            theirs.close()
        return WriterLink(ours, self._writer.pid)

    def _serving(self, slot: _Slot) -> None:
        assert slot.ready is not None
        try:
            said = slot.ready.recv_bytes()
        except (EOFError, OSError):
            said = b""
        slot.ready.close()
        slot.ready = None
        if said != READY:
            return  # it died before serving: its sentinel follows
        slot.serving_since = time.monotonic()
        if not self._up:
            self._up = True
            for other in self._slots[1:]:
                self._start(other)

    def _died(self, slot: _Slot) -> None:
        assert slot.process is not None
        process, slot.process = slot.process, None
        process.join()
        if process.pid is not None:
            multiproc.process_exited(process.pid)
        if slot.ready is not None:
            slot.ready.close()
            slot.ready = None
        if self._stopping:
            return
        what = _exit_description(process.exitcode)
        if not self._up:
            raise WorkersError(f"the gateway worker did not start ({what}); its error is above")
        served = slot.serving_since
        young = served is None or time.monotonic() - served < STABLE_S
        slot.deaths = slot.deaths + 1 if young else 0
        if slot.deaths >= GIVE_UP_AFTER:
            raise WorkersError(
                f"worker {slot.index} keeps dying at start ({slot.deaths} times in a row, the "
                f"last {what}); its errors are above"
            )
        delay = BACKOFF_S[min(slot.deaths, len(BACKOFF_S) - 1)]
        log.warning(
            "worker %d (pid %s) exited unexpectedly (%s); starting another in %.1f s",
            slot.index,
            process.pid,
            what,
            delay,
        )
        slot.start_at = time.monotonic() + delay

    # -- the writer -------------------------------------------------------------------------

    def _start_writer(self) -> None:
        """Start the one record writer and wait until it is ready."""
        ours, theirs = socket.socketpair()
        process = self._context.Process(
            target=serve_shared,
            args=(
                self._settings.effective_database_url,
                theirs,
                self._spool_dir,
                writer_aggregation,
                trace_export(self._settings.otel_endpoint),  # checked at start: prepare_shared
                self._settings.writer_placement,
            ),
            name="rolecall-writer",
        )
        process.start()
        theirs.close()
        ours.settimeout(START_TIMEOUT_S)
        try:
            started = recv_frame(ours) == READY_FRAME
        except OSError:
            started = False
        ours.settimeout(None)
        self._writer, self._control = process, ours
        self._writer_since = time.monotonic()
        if not started:
            self._writer_died()

    def _writer_died(self) -> None:
        assert self._writer is not None
        process, self._writer = self._writer, None
        if self._control is not None:
            self._control.close()
            self._control = None
        if process.is_alive():  # it did not say it was ready in time
            process.kill()
        process.join()
        if self._stopping:
            return
        what = _exit_description(process.exitcode)
        young = time.monotonic() - self._writer_since < STABLE_S
        self._writer_deaths = self._writer_deaths + 1 if young else 0
        if not self._up or self._writer_deaths >= GIVE_UP_AFTER:
            raise WorkersError(f"the record writer process stopped ({what}); its error is above")
        log.warning(
            "the record writer (pid %s) exited unexpectedly (%s); starting another (the "
            "workers already running store their own records from now on)",
            process.pid,
            what,
        )
        delay = BACKOFF_S[min(self._writer_deaths, len(BACKOFF_S) - 1)]
        self._writer_start_at = time.monotonic() + delay

    # -- stopping ---------------------------------------------------------------------------

    @contextmanager
    def _signals(self) -> Iterator[None]:
        def stop(signum: int, frame: object) -> None:
            self._stopping = True

        self._wake_w.setblocking(False)
        previous_fd = signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            signal.set_wakeup_fd(previous_fd)

    def _shutdown(self) -> None:
        """Stop the workers (they drain), then the writer (it stores what is left)."""
        self._stopping = True
        for slot in self._slots:
            slot.listener.close()  # once the workers close theirs, new connections are refused
        running = [s.process for s in self._slots if s.process is not None]
        for process in running:
            _signal(process, signal.SIGTERM)
        _join_or_kill(running, WORKER_STOP_S)
        if self._control is not None:
            self._control.close()  # the writer ends once every worker's channel is closed too
        if self._writer is not None:
            _join_or_kill([self._writer], WRITER_STOP_S)
        self._wake_r.close()
        self._wake_w.close()


def _signal(process: BaseProcess, signum: int) -> None:
    if process.pid is not None and process.exitcode is None:
        with suppress(ProcessLookupError):
            os.kill(process.pid, signum)


def _join_or_kill(processes: list[BaseProcess], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.exitcode is None:
            log.warning("%s (pid %s) did not stop in time; killing it", process.name, process.pid)
            process.kill()
            process.join()


def _exit_description(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
