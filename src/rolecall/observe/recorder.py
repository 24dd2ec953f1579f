"""Stores what each request produced, off the request path, in batches.

Requests append their record to a queue; one writer job drains everything queued so far and writes it
in one transaction (decisions, spans, usage, events, samples) whatever the batch size. Observed
profiles are re-aggregated from an in-memory window of each endpoint's recent samples, at most once per
``refresh_interval_s`` per endpoint, so live traffic keeps routing evidence current without re-reading
the database per request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Final

from rolecall.observe.records import (
    RequestRecord,
    build_events,
    build_samples,
    build_spans,
    build_usage,
)
from rolecall.profiles import Sample
from rolecall.storage.sql import SqlStorage
from rolecall.storage.writer import BackgroundWriter

log = logging.getLogger("rolecall.observe")
WINDOW_SAMPLES: Final = 2000  # recent samples kept per endpoint for re-aggregation
WINDOW_MS: Final = 7 * 24 * 3_600_000


class Recorder:
    def __init__(
        self, storage: SqlStorage, writer: BackgroundWriter, *, refresh_interval_s: float = 1.0
    ) -> None:
        self._storage = storage
        self._writer = writer
        self._pending: deque[RequestRecord] = deque()
        self._scheduled = threading.Event()
        self._refresh_interval_s = refresh_interval_s
        self._windows: dict[str, deque[Sample]] = {}
        self._dirty: set[str] = set()
        self._last_refresh: dict[str, float] = {}
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        # (endpoint_id, samples newest last) → None; set by the composition root
        self.on_profile: Callable[[str, list[Sample]], None] | None = None

    def record(self, record: RequestRecord) -> None:
        """Queue one request's records; never blocks on the database."""
        self._pending.append(record)
        if not self._scheduled.is_set():
            self._scheduled.set()
            self._writer.submit(self._drain)

    def add_samples(self, samples: Iterable[Sample]) -> None:
        """Samples from elsewhere (benchmarks) join the same windows and refresh path."""
        items = list(samples)
        self._storage.add_samples(items)
        self._observe(items)

    def _drain(self) -> None:
        self._scheduled.clear()
        batch: list[RequestRecord] = []
        while self._pending:
            batch.append(self._pending.popleft())
        if not batch:
            return
        decisions: list[tuple[dict[str, Any], int]] = []
        spans: list[dict[str, Any]] = []
        usage: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        samples: list[Sample] = []
        for r in batch:
            decisions.append((r.decision.to_artifact(), r.decided_ms))
            spans.extend(build_spans(r))
            u = build_usage(r)
            usage.append(u)
            s = build_samples(r)
            samples.extend(s)
            events.extend(build_events(r, u, len(s)))
        storage = self._storage
        with storage.batch():  # one transaction per drain, however many requests it holds
            storage.put_decisions(decisions)
            storage.add_spans(spans)
            storage.add_usage(usage)
            storage.add_events(events)
            if samples:
                storage.add_samples(samples)
        if samples:
            self._observe(samples)

    def _observe(self, samples: list[Sample]) -> None:
        for sample in samples:
            window = self._window(sample.endpoint_id)
            window.append(sample)
            self._dirty.add(sample.endpoint_id)
        self.refresh_due()

    def _window(self, endpoint_id: str) -> deque[Sample]:
        window = self._windows.get(endpoint_id)
        if window is None:
            since = int(time.time() * 1000) - WINDOW_MS
            stored = self._storage.samples_for(endpoint_id, since_ms=since)
            window = self._windows[endpoint_id] = deque(
                stored[-WINDOW_SAMPLES:], maxlen=WINDOW_SAMPLES
            )
        return window

    def refresh_due(self) -> None:
        """Re-aggregate dirty endpoints whose interval has passed; schedule the rest."""
        now = time.monotonic()
        later = []
        for endpoint_id in sorted(self._dirty):
            wait = self._last_refresh.get(endpoint_id, -1e9) + self._refresh_interval_s - now
            if wait > 0:
                later.append(wait)
                continue
            self._dirty.discard(endpoint_id)
            self._last_refresh[endpoint_id] = now
            if self.on_profile is not None:
                self.on_profile(endpoint_id, list(self._windows[endpoint_id]))
        if later:
            self._schedule(min(later))

    def _schedule(self, delay: float) -> None:
        with self._lock:
            if self._timer is not None and self._timer.is_alive():
                return
            self._timer = threading.Timer(delay, lambda: self._writer.submit(self.refresh_due))
            self._timer.daemon = True
            self._timer.start()

    def close(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
