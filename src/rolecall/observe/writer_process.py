"""The record writer process: stores the gateway's record batches (see `rolecall.observe.sink`).

One request/answer loop over a pipe: a batch comes in as an orjson message, is written in one
transaction, its samples feed the live observed profiles, and the answer (the profiles that came
due, or the error) goes back. It ends when the gateway says ``stop`` or its end
of the pipe closes — also when the gateway was killed, after storing everything already sent.
Interrupts aimed at the terminal's process group are ignored: the gateway decides when to stop.
"""

from __future__ import annotations

import gc
import os
import signal
import time
from multiprocessing.connection import Connection

import orjson

from rolecall.observe.profile_refresh import ProfileRefresher
from rolecall.observe.sink import Message, reply_bytes, store_and_refresh
from rolecall.storage.sql import open_storage

NICENESS = 19
GC_INTERVAL_S = 10.0


def _lowest_priority() -> None:
    """Run only when the gateway does not need the core.

    Where it shares a core with the gateway, a request arriving mid-write must preempt this process
    at once. A niced process is not enough under the kernel's EEVDF scheduler: the running task may
    finish its slice (~3 ms) first. ``SCHED_IDLE`` is preempted by any normal task on wake-up.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or not permitted
        os.nice(NICENESS)


def _collect_between_batches() -> float:
    """Collect cyclic garbage now, after an answer, never mid-batch.

    A big batch allocates hundreds of thousands of rows at once; automatic collections would scan
    them again and again (gen-2 passes of 100+ ms each), slowing the writer exactly when it is
    behind and batches grow. Rows are freed by reference counting as soon as they are stored.
    """
    gc.unfreeze()  # long-lived objects that became garbage since the last pass are found too
    gc.collect()
    gc.freeze()  # what survives (modules, engine, caches, windows) is skipped until then
    gc.disable()
    return time.monotonic()


def serve(url: str, conn: Connection) -> None:
    _lowest_priority()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    storage = open_storage(url, migrate=False)  # the gateway migrated before starting us
    refresher = ProfileRefresher(storage)
    collected = _collect_between_batches()
    try:
        conn.send_bytes(b"ready")
        while True:
            try:
                data = conn.recv_bytes()
            except (EOFError, OSError):
                return
            if data == b"stop":
                return
            try:
                reply = reply_bytes(store_and_refresh(storage, refresher, Message.from_bytes(data)))
            except Exception as exc:  # reported to the gateway, which logs it; we keep serving
                reply = orjson.dumps({"error": f"{type(exc).__name__}: {exc}"})
            conn.send_bytes(reply)
            if time.monotonic() - collected > GC_INTERVAL_S:
                collected = _collect_between_batches()
    finally:
        storage.close()
