"""`PrometheusMetrics`: one process's metrics and their exposition at ``GET /metrics``.

Built once by the composition root (`build_metrics`); its `RequestMetrics` listens to the
recorder, `StateCollector` is read at each scrape. In one process the families live in a registry
of its own (never the library's global one: tests run many gateways in one interpreter); under
`rolecall serve --workers N` they write to the shared directory and the exposition adds up every
worker's files (`rolecall.telemetry.multiproc`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

from prometheus_client import CollectorRegistry, disable_created_metrics, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from rolecall.telemetry import multiproc
from rolecall.telemetry.families import build_families
from rolecall.telemetry.request_metrics import FLUSH_INTERVAL_S, RequestMetrics
from rolecall.telemetry.state import StateCollector

__all__ = ["CONTENT_TYPE", "PrometheusMetrics", "build_metrics"]

# The text format every scraper reads (our names are plain ASCII, so the newer 1.0.0 format,
# which differs in escaping other names, would be the same bytes under a label some refuse).
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"


class PrometheusMetrics:
    """The request tally, what is read at scrape time, and the registry a scrape renders."""

    def __init__(self, requests: RequestMetrics, registry: CollectorRegistry) -> None:
        self.requests = requests
        self._registry = registry
        self._timer: asyncio.TimerHandle | None = None

    def exposition(self) -> bytes:
        """The text format of every metric (of every worker, in multiprocess mode)."""
        self.requests.flush()
        return generate_latest(self._registry)

    async def start(self) -> None:
        """Flush the tally every `FLUSH_INTERVAL_S` on the running loop (a lifecycle hook):
        other workers' scrapes see this one's numbers at most that old."""
        loop = asyncio.get_running_loop()

        def tick() -> None:
            self.requests.flush()
            self._timer = loop.call_later(FLUSH_INTERVAL_S, tick)

        self._timer = loop.call_later(FLUSH_INTERVAL_S, tick)

    def stop(self) -> None:
        """Stop the timer and flush what is left (a lifecycle hook at shutdown)."""
        if self._timer is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed already
                self._timer.cancel()
            self._timer = None
        self.requests.flush()


def build_metrics(state: StateCollector) -> PrometheusMetrics:
    """This process's metrics: in the shared directory when one is set (several workers), else
    in a registry of its own; ``state`` is read at every scrape."""
    # a ``_created`` series beside each counter helps nobody here
    disable_created_metrics()  # type: ignore[no-untyped-call]
    shared = multiproc.directory()
    registry = CollectorRegistry()
    if shared is None:
        families = build_families(registry)
    else:
        multiproc.use_directory()
        families = build_families(None)
        MultiProcessCollector(registry, path=str(shared))  # type: ignore[no-untyped-call]
    registry.register(state)
    return PrometheusMetrics(RequestMetrics(families), registry)
