"""The record writer process: stores the gateway's record messages (`rolecall.storage.record_writer`).

One request/answer loop over one socket, used by the gateway's event loop while it serves and by a
gateway thread before and after: a message comes in as one frame, is written in one transaction,
its samples feed the live observed profiles, and the answer (the profiles that came due, or the
error) goes back. It ends when the gateway closes its end — also when the gateway was killed —
after storing everything already sent. Interrupts aimed at the terminal's process group are
ignored: the gateway decides when to stop.

With several gateway processes on one host (`rolecall serve --workers N`) one writer serves them
all (`serve_shared`): their supervisor hands it each gateway's channel, it answers whichever has
a message, and it ends once the supervisor and every gateway have closed their ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import signal
import socket
import time
from multiprocessing.connection import wait
from pathlib import Path

import orjson

from rolecall.observe import priority
from rolecall.observe.loop_channel import recv_frame, send_frame
from rolecall.observe.message import WriterMessage, reply_bytes
from rolecall.observe.ports import (
    Aggregation,
    AggregationFactory,
    TraceExport,
    TraceExportFactory,
)
from rolecall.observe.profile_refresh import ProfileRefresher, RefreshResult
from rolecall.protocol import ObservedPerformanceProfile
from rolecall.settings import Placement
from rolecall.storage.record_writer import (
    READY,
    feed_profiles,
    open_export,
    store_and_refresh,
    store_spooled,
)
from rolecall.storage.spool_reader import SpoolReader
from rolecall.storage.sql import SqlStorage, open_storage
from rolecall.telemetry.logs import configure_from_environment

log = logging.getLogger("rolecall.observe")

# Housekeeping — checkpointing SQLite's log, collecting cyclic garbage — waits for this long without
# a message: between bursts, not inside one (docs/performance.md).
IDLE_S = 0.5
GC_INTERVAL_S = 10.0  # at most this often, at an idle moment ...
GC_MAX_INTERVAL_S = 60.0  # ... and without one after this long of steady traffic
# This many requests' records in a message and waiting behind it in the gateway means idle priority
# starves the writer: such messages are stored at normal priority until the backlog shrinks, so
# the memory held by waiting records stays bounded (docs/performance.md).
BEHIND_REQUESTS = 10_000
# Spooled records older than this when stored mean the writer is behind: it stores at normal
# scheduling (niced: `priority.CATCH_UP_NICENESS`) until it has caught up, so records reach the
# database within about a second at sustained load.
BEHIND_S = 1.0
CAUGHT_UP_S = 0.25  # ... and back to idle priority once they are this fresh again ...
# ... and it has run at normal priority for this long: a writer hurried by its gateway (or behind)
# stays there through the burst. Back at idle priority after every message, a busy machine would
# starve each next message until the gateway hurried it again, a second or more per message.
HOLD_NORMAL_S = 5.0
IDLE_CHECK_S = 1.0  # with nothing to do, the spool is still looked at this often
PR_SET_NAME = 15  # linux/prctl.h


def _collect_between_batches() -> float:
    """Collect cyclic garbage now, after an answer, never mid-batch.

    A big batch allocates many rows at once; automatic collections would scan them again and
    again, slowing the writer exactly when it is behind and batches grow. Rows are freed by
    reference counting as soon as they are stored.
    """
    gc.unfreeze()  # long-lived objects that became garbage since the last pass are found too
    gc.collect()
    gc.freeze()  # what survives (modules, engine, caches, windows) is skipped until then
    gc.disable()
    return time.monotonic()


def serve(
    url: str,
    sock: socket.socket,
    spool_dir: Path | None = None,
    aggregation: AggregationFactory | None = None,
    export: TraceExportFactory | None = None,
    placement: Placement = "auto",
) -> None:
    """Answer the gateway's messages on ``sock`` (see `rolecall.observe.loop_channel`), one at a
    time, until the gateway closes its end; store what the spool in ``spool_dir`` holds with
    every message, at idle moments (a database that was down), and last of all. The stored
    requests' traces go to the exporter ``export`` builds, if any; ``placement`` says which CPUs
    to run on (`priority.run_apart`)."""
    _serve(url, spool_dir, _Channels([sock], None), sock, aggregation, export, placement)


def serve_shared(
    url: str,
    control: socket.socket,
    spool_dir: Path | None = None,
    aggregation: AggregationFactory | None = None,
    export: TraceExportFactory | None = None,
    placement: Placement = "auto",
) -> None:
    """The one record writer of several gateway processes (`rolecall serve --workers N`): each
    gateway's channel arrives over ``control`` (a descriptor passed by the supervisor that
    started them, `send_channel`) and is answered like `serve`'s; the profiles that come due go
    to every gateway. Ends once ``control`` is closed and every gateway has closed its end."""
    _serve(url, spool_dir, _Channels([], control), control, aggregation, export, placement)


def send_channel(control: socket.socket, channel: socket.socket) -> None:
    """(The supervisor.) Hand ``channel``, one end of a gateway's socket pair, to the writer."""
    socket.send_fds(control, [b"c"], [channel.fileno()])


def name_process(name: str) -> None:
    """Show this process as ``name`` (at most 15 bytes) in ps and top (Linux; elsewhere
    nothing): "rolecall-writer" and "rolecall-worker" rather than a Python command line."""
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def _serve(
    url: str,
    spool_dir: Path | None,
    channels: _Channels,
    ready: socket.socket,
    aggregation: AggregationFactory | None,
    export: TraceExportFactory | None = None,
    placement: Placement = "auto",
) -> None:
    name_process("rolecall-writer")
    cpus = priority.run_apart(placement)  # before the first query: its page faults included
    configure_from_environment()  # as the gateway that started it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    storage = open_storage(url, migrate=False)  # the gateway migrated before starting us
    refresher = ProfileRefresher(storage.samples, storage.profiles)
    spool = None if spool_dir is None else SpoolReader(spool_dir)
    elected = None if aggregation is None else aggregation(url, spool_dir)
    writer = _Writer(storage, refresher, spool, elected)
    try:
        send_frame(ready, READY)
        writer.export = open_export(export)  # after ready: its imports need not delay the start
        # started at normal priority: at idle priority a busy machine (local models decoding on
        # every core) could starve the start-up past the gateway's patience
        priority.lower(priority.CATCH_UP_NICENESS)  # what "normal" means for us from now on
        priority.background()
        if cpus is not None:
            log.debug("record writer on CPUs %s", ",".join(map(str, sorted(cpus))))
        writer.drain()  # what a gateway or writer killed earlier left in the spool
        while channels.open:
            readable = wait(channels.waitables(), IDLE_S if writer.busy else IDLE_CHECK_S)
            if not readable:
                writer.idle()
            for sock in readable:
                assert isinstance(sock, socket.socket)  # only sockets are waited on
                if sock is channels.control:
                    channels.take(writer)
                elif not writer.answer_frame(sock):
                    channels.drop(sock, writer)
                    writer.drain()  # the gateway closed its end: what it spooled is stored now
    finally:
        channels.close()
        if elected is not None:
            elected.close()
        if writer.export is not None:
            writer.export.close()  # after the last records were stored
        if spool is not None:
            spool.tidy()
            spool.close()
        storage.close()


class _Channels:
    """The gateways' channels the writer answers, and where new ones come from (``control``:
    the supervisor of several gateway processes; None for one gateway's own writer)."""

    def __init__(self, channels: list[socket.socket], control: socket.socket | None) -> None:
        self.channels = channels
        self.control = control

    @property
    def open(self) -> bool:
        return bool(self.channels) or self.control is not None

    def waitables(self) -> list[socket.socket]:
        return [*self.channels, *([] if self.control is None else [self.control])]

    def take(self, writer: _Writer) -> None:
        """A new gateway's channel from the supervisor (or its end closed: no more come)."""
        assert self.control is not None
        try:
            data, fds, _, _ = socket.recv_fds(self.control, 16, 4)
        except OSError:
            data, fds = b"", []
        if not data:
            self.control.close()
            self.control = None
            return
        for fd in fds:
            channel = socket.socket(fileno=fd)
            try:
                send_frame(channel, READY)
            except OSError:  # that gateway is gone already
                channel.close()
                continue
            self.channels.append(channel)
            writer.pending[channel] = {}

    def drop(self, channel: socket.socket, writer: _Writer) -> None:
        self.channels.remove(channel)
        writer.pending.pop(channel, None)
        channel.close()

    def close(self) -> None:
        for sock in self.waitables():
            sock.close()


class _Writer:
    """The writer process's state between messages: what to store, and when to tidy up."""

    def __init__(
        self,
        storage: SqlStorage,
        refresher: ProfileRefresher,
        spool: SpoolReader | None,
        aggregation: Aggregation | None = None,
        export: TraceExport | None = None,
    ) -> None:
        self.storage = storage
        self.aggregation = aggregation
        self.export = export
        self.refresher = refresher
        self.spool = spool
        # per gateway channel, the profiles that came due while another gateway was answered
        # (the latest of each endpoint): sent with that gateway's next answer
        self.pending: dict[socket.socket, dict[str, ObservedPerformanceProfile]] = {}
        self.busy = False  # stored something since the last idle moment
        self.failing = False  # the last store failed (the database is down): try again soon
        self.normal_since: float | None = None  # when this process last left idle priority
        self.collected = _collect_between_batches()

    def idle(self) -> None:
        """Nothing came for a moment: store what is spooled, checkpoint, collect garbage."""
        self.drain()
        _checkpoint(self.storage)
        if time.monotonic() - self.collected > GC_INTERVAL_S:
            self.collected = _collect_between_batches()
        self.busy = self.failing

    def drain(self) -> None:
        """Store what the spool holds (its live samples feed the profiles; the facts are those
        the gateway sent last)."""
        if self.spool is None:
            return
        try:
            stored = store_spooled(self.storage, self.spool, self.export)
            feed_profiles(self.refresher, stored, {}, self.aggregation)
        except Exception as exc:
            self._failed(exc)
        else:
            self._stored()

    def answer_frame(self, sock: socket.socket) -> bool:
        """Store one message and answer it; False when the gateway's end is closed."""
        self.busy = True
        try:
            frame = recv_frame(sock)
        except OSError:  # the gateway was killed with our last answer unread (a reset)
            frame = None
        if frame is None:
            return False
        answer = self._answer(frame, sock)
        try:
            send_frame(sock, answer)
        except OSError:  # stored; the gateway stopped listening
            return False
        if time.monotonic() - self.collected > GC_MAX_INTERVAL_S:  # no idle moment came
            self.collected = _collect_between_batches()
        return True

    def _answer(self, data: bytes, sock: socket.socket) -> bytes:
        """Store one message and return the answer (the profiles now due, or the error)."""
        message = WriterMessage.from_bytes(data)
        if message.requests >= BEHIND_REQUESTS:  # idle priority is for keeping up
            priority.normal()
        try:
            result = store_and_refresh(
                self.storage, self.refresher, message, self.spool, self.aggregation, self.export
            )
        except Exception as exc:  # reported to the gateway, which logs it; we keep serving
            self._failed(exc)
            return orjson.dumps({"error": f"{type(exc).__name__}: {exc}"})
        self._stored()
        return reply_bytes(self._shared(sock, result))

    def _shared(self, sock: socket.socket, result: RefreshResult) -> RefreshResult:
        """Profiles that came due reach every gateway: the one asking now, the others with
        their next answer (with one gateway, nothing is kept)."""
        for other, waiting in self.pending.items():
            if other is not sock:
                waiting.update((p.endpoint_id, p) for p in result.profiles)
        mine = self.pending.get(sock)
        if not mine:
            return result
        self.pending[sock] = {}
        fresh = {p.endpoint_id for p in result.profiles}
        kept = [p for eid, p in mine.items() if eid not in fresh]
        return RefreshResult([*kept, *result.profiles], result.next_due_s)

    def _stored(self) -> None:
        if self.failing:
            log.warning("record writer: storing records again")
        self.failing = False
        # between the two bounds the priority stays as it is (the gateway may have hurried us)
        lag_s = 0.0 if self.spool is None else self.spool.lag_s
        now = time.monotonic()
        if lag_s > BEHIND_S:
            priority.normal()
        if priority.in_background():
            self.normal_since = None
        elif self.normal_since is None:
            self.normal_since = now  # hurried by the gateway, or behind just now
        held = self.normal_since is not None and now - self.normal_since >= HOLD_NORMAL_S
        if lag_s < CAUGHT_UP_S and held:
            priority.background()
            self.normal_since = None

    def _failed(self, exc: Exception) -> None:
        if not self.failing:
            log.error("record writer: cannot store records, they wait in the spool: %s", exc)
        self.failing = True
        self.busy = True


def _checkpoint(storage: SqlStorage) -> None:
    # one that cannot run now (another checkpoint, say) runs at the next idle moment or commit
    with contextlib.suppress(Exception):
        storage.checkpoint()
