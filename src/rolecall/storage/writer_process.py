"""The record writer process: stores the gateway's record messages (`rolecall.storage.record_writer`).

One request/answer loop over one socket, used by the gateway's event loop while it serves and by a
gateway thread before and after: a message comes in as one frame, is written in one transaction,
its samples feed the live observed profiles, and the answer (the profiles that came due, or the
error) goes back. It ends when the gateway closes its end — also when the gateway was killed —
after storing everything already sent. Interrupts aimed at the terminal's process group are
ignored: the gateway decides when to stop.
"""

from __future__ import annotations

import contextlib
import gc
import signal
import socket
import time
from multiprocessing.connection import wait

import orjson

from rolecall.observe import priority
from rolecall.observe.loop_channel import recv_frame, send_frame
from rolecall.observe.message import WriterMessage, reply_bytes
from rolecall.observe.profile_refresh import ProfileRefresher
from rolecall.storage.record_writer import READY, store_and_refresh
from rolecall.storage.sql import SqlStorage, open_storage

# Housekeeping — checkpointing SQLite's log, collecting cyclic garbage — waits for this long without
# a message: between bursts, not inside one (docs/performance.md).
IDLE_S = 0.5
GC_INTERVAL_S = 10.0  # at most this often, at an idle moment ...
GC_MAX_INTERVAL_S = 60.0  # ... and without one after this long of steady traffic
# This many requests' records in a message and waiting behind it in the gateway means idle priority
# starves the writer: such messages are stored at normal priority until the backlog shrinks, so
# the memory held by waiting records stays bounded (docs/performance.md).
BEHIND_REQUESTS = 10_000


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


def serve(url: str, sock: socket.socket) -> None:
    """Answer the gateway's messages on ``sock`` (see `rolecall.observe.loop_channel`), one at a
    time, until the gateway closes its end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    storage = open_storage(url, migrate=False)  # the gateway migrated before starting us
    refresher = ProfileRefresher(storage.samples, storage.profiles)
    collected = _collect_between_batches()
    try:
        send_frame(sock, READY)
        # started at normal priority: at idle priority a busy machine (local models decoding on
        # every core) could starve the start-up past the gateway's patience
        priority.background()
        written = False  # since the last idle moment
        while True:
            if not wait([sock], IDLE_S if written else None):  # idle for a moment after writing
                _checkpoint(storage)
                if time.monotonic() - collected > GC_INTERVAL_S:
                    collected = _collect_between_batches()
                written = False
                continue
            written = True
            if not _answer_frame(storage, refresher, sock):
                return  # the gateway closed its end: everything it sent is stored
            if time.monotonic() - collected > GC_MAX_INTERVAL_S:  # no idle moment came
                collected = _collect_between_batches()
    finally:
        storage.close()


def _checkpoint(storage: SqlStorage) -> None:
    # one that cannot run now (another checkpoint, say) runs at the next idle moment or commit
    with contextlib.suppress(Exception):
        storage.checkpoint()


def _answer_frame(storage: SqlStorage, refresher: ProfileRefresher, sock: socket.socket) -> bool:
    """Store one message and answer it; False when the gateway's end is closed."""
    frame = recv_frame(sock)
    if frame is None:
        return False
    answer = _answer(storage, refresher, frame)
    try:
        send_frame(sock, answer)
    except OSError:  # stored; the gateway stopped listening
        return False
    return True


def _answer(storage: SqlStorage, refresher: ProfileRefresher, data: bytes) -> bytes:
    """Store one message and return the answer (the profiles now due, or the error)."""
    message = WriterMessage.from_bytes(data)
    behind = message.requests >= BEHIND_REQUESTS
    if behind:  # idle priority is for keeping up, not for falling further behind
        priority.normal()
    try:
        return reply_bytes(store_and_refresh(storage, refresher, message))
    except Exception as exc:  # reported to the gateway, which logs it; we keep serving
        return orjson.dumps({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        if behind:
            priority.background()
