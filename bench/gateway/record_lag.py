"""How long answered requests' records wait before the database has them, sampled while a gateway
is measured: the spool's backlog (`rolecall.storage.spool_reader.backlog`, both tiers), read from
outside the gateway every `INTERVAL_S`, as a lag (now minus the oldest waiting record's append
time) and as bytes waiting. The writer moves a claim's positions on only after its transaction
commits, so a record counts as waiting until it is in the database."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Final

INTERVAL_S: Final = 0.05


class LagSampler:
    """Samples the spool in ``data_dir`` from a thread, from `start` to `stop`."""

    def __init__(self, data_dir: Path) -> None:
        self.spool = data_dir / "spool"
        self.max_lag_s = 0.0
        self.max_bytes = 0
        self.samples = 0
        self.over_1s = 0  # samples with a record older than a second
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="record-lag", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        try:
            from rolecall.storage.spool_reader import backlog
        except ImportError:  # an older rolecall: nothing to sample
            return
        while not self._stop.wait(INTERVAL_S):
            if not self.spool.is_dir():
                continue
            try:
                pending, oldest_ms = backlog(self.spool)
            except OSError:  # a segment stored and deleted mid-read
                continue
            lag_s = 0.0 if oldest_ms is None else max(0.0, time.time() - oldest_ms / 1000)
            self.samples += 1
            self.over_1s += lag_s > 1.0
            self.max_lag_s = max(self.max_lag_s, lag_s)
            self.max_bytes = max(self.max_bytes, pending)

    def summary(self) -> str:
        if not self.samples:
            return "record lag: not sampled (no spool)"
        share = 100 * self.over_1s / self.samples
        return (
            f"record lag (spool backlog every {INTERVAL_S * 1000:.0f} ms, whole run): max "
            f"{self.max_lag_s:.2f} s, {share:.1f}% of samples over 1 s, max "
            f"{self.max_bytes / 1024:,.0f} KiB waiting"
        )
