"""The record writer process: stores the gateway's record batches (see `rolecall.observe.sink`).

One request/answer loop over a pipe: a batch comes in as an orjson message, is written in one
transaction, its samples feed the live observed profiles, and the answer (the profiles that came
due, or the error) goes back. It ends when the gateway says ``stop`` or its end
of the pipe closes — also when the gateway was killed, after storing everything already sent.
Interrupts aimed at the terminal's process group are ignored: the gateway decides when to stop.
"""

from __future__ import annotations

import gc
import signal
import time
from multiprocessing.connection import Connection

import orjson

from rolecall.observe import priority
from rolecall.observe.profile_refresh import ProfileRefresher
from rolecall.observe.sink import Message, reply_bytes, store_and_refresh
from rolecall.storage.sql import open_storage

GC_INTERVAL_S = 10.0
# A message holding this many requests' records (several seconds of traffic, ~5 KB each) means the
# gateway keeps the core so busy that idle priority starves the writer: that batch is stored at
# normal priority, so memory held by waiting records stays bounded (~50 MB). Below it, the
# gateway's requests always come first. While such a batch is stored, requests on the same core
# wait for it in scheduler slices (measured: p90 ~3 ms at c=1), so the bound is set well above a
# short burst.
BEHIND_REQUESTS = 10_000


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
    priority.background()
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
            message = Message.from_bytes(data)
            behind = len(message.parts) >= BEHIND_REQUESTS
            if behind:  # idle priority is for keeping up, not for falling further behind
                priority.normal()
            try:
                reply = reply_bytes(store_and_refresh(storage, refresher, message))
            except Exception as exc:  # reported to the gateway, which logs it; we keep serving
                reply = orjson.dumps({"error": f"{type(exc).__name__}: {exc}"})
            conn.send_bytes(reply)
            if behind:
                priority.background()
            if time.monotonic() - collected > GC_INTERVAL_S:
                collected = _collect_between_batches()
    finally:
        storage.close()
