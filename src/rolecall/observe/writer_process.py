"""The record writer process: stores the gateway's record batches (see `rolecall.observe.sink`).

One request/acknowledge loop over a pipe: a batch comes in as an orjson message, is written in one
transaction, and ``ok`` (or the error) goes back. It ends when the gateway says ``stop`` or its end
of the pipe closes — also when the gateway was killed, after storing everything already sent.
Interrupts aimed at the terminal's process group are ignored: the gateway decides when to stop.
"""

from __future__ import annotations

import os
import signal
from multiprocessing.connection import Connection

from rolecall.observe.sink import ACK_OK, RecordBatch, write_batch
from rolecall.storage.sql import open_storage

NICENESS = 19


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


def serve(url: str, conn: Connection) -> None:
    _lowest_priority()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    storage = open_storage(url, migrate=False)  # the gateway migrated before starting us
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
                write_batch(storage, RecordBatch.from_bytes(data))
            except Exception as exc:  # reported to the gateway, which logs it; we keep serving
                conn.send_bytes(f"{type(exc).__name__}: {exc}".encode())
            else:
                conn.send_bytes(ACK_OK)
    finally:
        storage.close()
