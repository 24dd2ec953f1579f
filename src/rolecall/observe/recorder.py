"""Stores what each request produced, off the request path, in batches.

Requests append their record to a queue; one writer job drains everything queued so far and writes it
in one transaction (decisions, spans, usage, events, samples) whatever the batch size. Observed
profiles are re-aggregated from an in-memory window of each endpoint's recent samples, at most once per
``refresh_interval_s`` per endpoint, so live traffic keeps routing evidence current without re-reading
the database per request.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Final

from rolecall.observe.records import (
    RequestRecord,
    build_events,
    build_samples,
    build_spans,
    build_usage,
)
from rolecall.observe.sink import InProcessSink, RecordBatch, Sink
from rolecall.profiles import Sample
from rolecall.storage.sql import SqlStorage
from rolecall.storage.writer import BackgroundWriter

log = logging.getLogger("rolecall.observe")
WINDOW_SAMPLES: Final = 2000  # recent samples kept per endpoint for re-aggregation
WINDOW_MS: Final = 7 * 24 * 3_600_000


class Recorder:
    def __init__(
        self,
        storage: SqlStorage,
        writer: BackgroundWriter,
        *,
        sink: Sink | None = None,
        refresh_interval_s: float = 1.0,
    ) -> None:
        self._storage = storage
        self._sink = sink or InProcessSink(storage)
        self._writer = writer
        self._pending: deque[RequestRecord] = deque()
        self._scheduled = threading.Event()
        self._built: deque[RecordBatch] = deque()  # built on the event loop, not yet stored
        self._store_scheduled = threading.Event()
        self._refresh_interval_s = refresh_interval_s
        self._windows: dict[str, deque[Sample]] = {}
        self._dirty: set[str] = set()
        self._last_refresh: dict[str, float] = {}
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        # (endpoint_id, samples newest last) → the new profile; set by the composition root
        self.on_profile: Callable[[str, list[Sample]], object] | None = None

    def record(self, record: RequestRecord) -> None:
        """Queue one request's records; never blocks on the database.

        In the gateway's event loop the rows are built by a callback that runs after the current
        response has been written (the handler's task does not yield before sending it), so no
        thread competes with the request path for the GIL; only the storing happens on the writer.
        """
        self._pending.append(record)
        if self._scheduled.is_set():
            return
        self._scheduled.set()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._writer.submit(self._drain)
        else:
            loop.call_soon(self._build_then_store)

    def add_samples(self, samples: Iterable[Sample]) -> None:
        """Samples from elsewhere (benchmarks) join the same windows and refresh path."""
        items = list(samples)
        self._storage.add_samples(items)
        self._observe(items)

    def _build_then_store(self) -> None:
        rows = self._build()
        if rows is None:
            return
        self._built.append(rows)
        if not self._store_scheduled.is_set():
            self._store_scheduled.set()
            self._writer.submit(self._store_built)

    def _store_built(self) -> None:
        """Store every batch built so far in one transaction: when the database is slower than
        the traffic, batches grow instead of a queue of small writes (and of live objects)."""
        self._store_scheduled.clear()
        merged = RecordBatch()
        while self._built:
            merged.extend(self._built.popleft())
        if len(merged):
            self._store(merged)

    def _drain(self) -> None:
        """Build and store on the writer thread (records queued outside an event loop)."""
        rows = self._build()
        if rows is not None:
            self._built.append(rows)
            self._store_built()

    def _build(self) -> RecordBatch | None:
        """The rows of every queued request (None when the queue is empty)."""
        self._scheduled.clear()
        batch: list[RequestRecord] = []
        while self._pending:
            batch.append(self._pending.popleft())
        if not batch:
            return None
        rows = RecordBatch()
        for r in batch:
            asked = r.decision.context.request
            rows.requests.append(
                {
                    "request_id": r.request_id,
                    "role_id": asked.requested_role_id,
                    "task_type": asked.task_type,
                }
            )
            rows.decisions.append((r.decision.to_artifact(), r.decided_ms))
            rows.spans.extend(build_spans(r))
            u = build_usage(r)
            rows.usage.append(u)
            s = build_samples(r)
            rows.samples.extend(s)
            rows.events.extend(build_events(r, u, len(s)))
        return rows

    def _store(self, rows: RecordBatch) -> None:
        self._sink.write(rows)  # one transaction per batch, however many requests it holds
        if rows.samples:
            self._observe(rows.samples)

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
        """Stop the refresh timer (the caller closes the writer, then the sink)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
