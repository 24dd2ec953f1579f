"""Gauges read at scrape time: endpoint cooldowns and drift-alarm demotions, and the record
spool's backlog.

Nothing here is updated per request. Cooldowns come from the routing state's cooldown book, which
every worker shares (cooldowns reach it from the others' notices), so any worker's scrape shows
the gateway's cooldowns; the spool's directory is shared by the workers on a host, so its backlog
is the host's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from rolecall.execution.cooldown import CooldownBook

__all__ = ["SpoolBacklog", "StateCollector"]

# (bytes not yet stored, when the oldest of them was appended in ms or None): the spool's backlog
SpoolBacklog = Callable[[], tuple[int, int | None]]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class StateCollector(Collector):
    """The cooldown state of every configured endpoint, and the spool's backlog when records
    go through a spool."""

    def __init__(
        self,
        cooldowns: CooldownBook,
        endpoints: Callable[[], Iterable[str]],
        spool: SpoolBacklog | None = None,
        demoted: Callable[[], Mapping[str, str]] = dict,
        alarms: Callable[[], Mapping[str, Mapping[str, Any]]] = dict,
    ) -> None:
        self._cooldowns = cooldowns
        self._endpoints = endpoints
        self._spool = spool
        self._demoted = demoted
        self._alarms = alarms

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = _now_ms()
        active, remaining, level, demotion = self._families()[:4]
        demoted = self._demoted()
        for endpoint_id in sorted(self._endpoints()):
            demotion.add_metric([endpoint_id], 1 if endpoint_id in demoted else 0)
            cooldown = self._cooldowns.active(endpoint_id, now)
            active.add_metric([endpoint_id], 0 if cooldown is None else 1)
            left = 0.0 if cooldown is None else (cooldown.until_ms - now) / 1000
            remaining.add_metric([endpoint_id], left)
            if cooldown is not None:
                level.add_metric([endpoint_id], cooldown.level)
        yield from (active, remaining, level, demotion)
        alarm = self._families()[4]
        for opened in self._alarms().values():
            alarm.add_metric([str(opened["endpoint_id"]), str(opened["metric"])], 1)
        yield alarm
        if self._spool is not None:
            pending, lag = self._families()[5:]
            pending_bytes, oldest_ms = self._spool()
            pending.add_metric([], pending_bytes)
            lag.add_metric([], 0.0 if oldest_ms is None else max(0.0, (now - oldest_ms) / 1000))
            yield from (pending, lag)

    def _families(self) -> list[GaugeMetricFamily]:
        endpoint = ["endpoint"]
        families = [
            GaugeMetricFamily(
                "rolecall_endpoint_cooldown_active",
                "1 while the endpoint cools down after failures (routed around), else 0",
                labels=endpoint,
            ),
            GaugeMetricFamily(
                "rolecall_endpoint_cooldown_remaining_seconds",
                "Time until a cooling endpoint is routable again (0: not cooling)",
                labels=endpoint,
            ),
            GaugeMetricFamily(
                "rolecall_endpoint_cooldown_level",
                "Step of the cooldown schedule of a cooling endpoint (0: the first, 10 min)",
                labels=endpoint,
            ),
            GaugeMetricFamily(
                "rolecall_endpoint_demoted",
                "1 while an open quality-drift alarm demotes the endpoint (it ranks last on "
                "quality), else 0",
                labels=endpoint,
            ),
            GaugeMetricFamily(
                "rolecall_drift_alarm_open",
                "1 for each open drift alarm, by endpoint and metric (quality and canary alarms "
                "demote the endpoint; failure_rate and throughput alarms only warn)",
                labels=["endpoint", "metric"],
            ),
        ]
        if self._spool is not None:
            families += [
                GaugeMetricFamily(
                    "rolecall_spool_pending_bytes",
                    "Answered requests' records in the spool, not yet stored in the database",
                ),
                GaugeMetricFamily(
                    "rolecall_record_writer_lag_seconds",
                    "Age of the oldest record the writer has not stored yet (0: caught up)",
                ),
            ]
        return families
