"""Drift in how endpoints serve: live failure rates and throughput against the benchmark's.

Owns `ServiceDrift`. Every ``EVERY_S`` seconds, as a job of the one process that leads the
deployment's background work (`rolecall.cluster.leader.Leadership.every`, on its thread), each
endpoint's live requests since its latest benchmark (of its current
version; canaries are not a baseline) are tested against that benchmark: the failure rate by
`rolecall.profiles.drift.failure_drift` (a client's invalid request is not the endpoint's
failure) and tokens per second by `throughput_drift` (answers of at least ``MIN_TOKENS``
tokens only: a short answer's speed is the round trip's). An alarm (`DriftWatch.raise_alarm`,
metric ``failure_rate`` or ``throughput``) names the shift and the evidence and suggests an
action, but demotes nothing: routing already weighs live reliability and latency, and a
cooldown already takes a failing endpoint out. Once the requests since the alarm are back in
line with the benchmark (the latest ``RECOVERY_WINDOW`` requests), the alarm closes itself; so
does it when the endpoint leaves the inventory or has no benchmark of its current version. Only
the last day of live requests is read.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from rolecall.judging.drift_watch import DriftWatch, alarm_key
from rolecall.profiles import Sample
from rolecall.profiles.drift import (
    DEFAULT_RATE_PARAMS,
    THROUGHPUT_PARAMS,
    Drift,
    failure_drift,
    throughput_drift,
)

__all__ = ["ServiceDrift"]

log = logging.getLogger("rolecall.judging")
EVERY_S: Final = 30.0
METRICS: Final = ("failure_rate", "throughput")
WINDOW_MS: Final = 86_400_000  # the live evidence a sweep reads: the last day at most
MIN_TOKENS: Final = 32  # the shortest answer whose throughput counts
RECOVERY_WINDOW: Final = 40  # requests that must look like the benchmark again to close
NOT_THE_ENDPOINTS: Final = frozenset({"invalid_request"})  # the client's fault


class ServiceDrift:
    """The failure-rate and throughput checks; `sweep` is the leader's periodic job.

    ``samples(endpoint_id, since_ms=, source=)`` reads stored samples (blocking), ``endpoints``
    lists the endpoints to watch, ``version`` gives an endpoint's current version.
    """

    def __init__(
        self,
        watch: DriftWatch,
        samples: Callable[..., Sequence[Sample]],
        *,
        endpoints: Callable[[], Iterable[str]],
        version: Callable[[str], str | None],
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._watch = watch
        self._samples = samples
        self._endpoints = endpoints
        self._version = version
        self._clock_ms = clock_ms
        self._closed_ms: dict[str, int] = {}  # when each alarm key last closed

    def sweep(self) -> list[dict[str, Any]]:
        """Check every endpoint once (blocking); the alarms raised now."""
        self._closed_ms = {
            alarm["key"]: int(alarm["cleared_ms"])
            for alarm in reversed(self._watch.alarms()["cleared"])  # newest last: it wins
            if "key" in alarm and "cleared_ms" in alarm
        }
        raised = []
        known = set(self._endpoints())
        for endpoint_id in sorted(known):
            try:
                raised += self.check(endpoint_id)
            except Exception:  # one endpoint's unreadable evidence must not stop the others
                log.warning("service drift check of %s failed", endpoint_id, exc_info=True)
        for alarm in list(self._watch.open_alarms.values()):
            if alarm.get("metric") in METRICS and alarm["endpoint_id"] not in known:
                self._watch.clear(alarm["key"], "the endpoint is no longer configured")
        return raised

    def check(self, endpoint_id: str) -> list[dict[str, Any]]:
        """Raise or close the endpoint's failure-rate and throughput alarms."""
        version = self._version(endpoint_id)
        if version is None:
            self._close_all(endpoint_id, "the endpoint is no longer configured")
            return []
        bench = [
            s
            for s in self._samples(endpoint_id, source="benchmark")
            if s.endpoint_version == version and s.benchmark_mode != "canary"
        ]
        if not bench:
            self._close_all(endpoint_id, "no benchmark of the endpoint's current version")
            return []
        # live evidence since the benchmark, and of the last day at most: the sweep's reads
        # stay bounded, and a long-past incident is not tested again
        since = max(max(s.timestamp_ms for s in bench) + 1, self._clock_ms() - WINDOW_MS)
        live = [
            s
            for s in self._samples(endpoint_id, since_ms=since, source="live_request")
            if s.endpoint_version == version and s.error_class not in NOT_THE_ENDPOINTS
        ]
        raised = []
        for metric, test in zip(METRICS, (_failures, _throughput), strict=True):
            key = alarm_key(endpoint_id, metric)
            opened = self._watch.open_alarms.get(key)
            if opened is not None:
                self._maybe_close(opened, bench, live, test)
                continue
            # after an alarm closed, the stream restarts: its past is what the alarm was about
            restart = self._closed_ms.get(key, 0)
            drift = test(bench, [s for s in live if s.timestamp_ms > restart])
            if drift is not None and drift.alarmed:
                raised.append(self._raise(endpoint_id, metric, drift))
        return raised

    def _close_all(self, endpoint_id: str, why: str) -> None:
        for metric in METRICS:
            if alarm_key(endpoint_id, metric) in self._watch.open_alarms:
                self._watch.clear(alarm_key(endpoint_id, metric), why)

    def _maybe_close(
        self,
        opened: dict[str, Any],
        bench: Sequence[Sample],
        live: Sequence[Sample],
        test: Callable[[Sequence[Sample], Sequence[Sample]], Drift | None],
    ) -> None:
        # the latest requests since the alarm, not all of them: a long failing spell after
        # the alarm opened must not keep it open once the endpoint is well again
        recent = [s for s in live if s.timestamp_ms > opened["opened_ms"]][-RECOVERY_WINDOW:]
        if len(recent) < RECOVERY_WINDOW:
            return
        drift = test(bench, recent)
        if drift is not None and not drift.alarmed and drift.statistic == 0.0:
            self._watch.clear(
                opened["key"],
                f"recovered: the latest {len(recent)} requests are in line with the benchmark",
            )

    def _raise(self, endpoint_id: str, metric: str, drift: Drift) -> dict[str, Any]:
        evidence = drift.to_json()
        if metric == "failure_rate":
            summary = (
                f"failure rate drift: {drift.run_mean:.0%} of the last requests failed "
                f"against {drift.baseline_mean:.0%} in its benchmark"
            )
            action = (
                f"look at {endpoint_id}'s recent errors (Observe, filtered by endpoint); routing "
                "already counts its live failures and cools it down on repeated ones. If it "
                "stays, take it out of its roles or re-benchmark it once fixed."
            )
        else:
            share = math.exp(-drift.shift)
            summary = (
                f"throughput drift: {math.exp(drift.run_mean):.0f} tokens/s over the last "
                f"requests, {share:.0%} of the {math.exp(drift.baseline_mean):.0f} benchmarked"
            )
            evidence |= {"share_of_baseline": round(share, 3)}
            action = (
                f"check {endpoint_id}'s deployment (load, hardware, quantisation). Routing "
                "already weighs live latency; if speed matters more than quality for this "
                "traffic, choose the latency strategy. A full benchmark makes the new speed "
                "the baseline."
            )
        return self._watch.raise_alarm(endpoint_id, metric, summary, evidence, action)


def _failures(bench: Sequence[Sample], live: Sequence[Sample]) -> Drift | None:
    failed = sum(s.error_class is not None for s in bench)
    live_failed = [s.error_class is not None for s in live]
    return failure_drift(failed, len(bench), live_failed, DEFAULT_RATE_PARAMS)


def _throughput(bench: Sequence[Sample], live: Sequence[Sample]) -> Drift | None:
    def speeds(samples: Sequence[Sample]) -> list[float]:
        # only answers long enough that decoding, not the round trip, sets their speed: a few
        # tokens' "speed" is the overhead's, and moves with the machine's load
        return [
            s.tokens_per_sec
            for s in samples
            if s.tokens_per_sec
            and s.latency_ms
            and s.tokens_per_sec * s.latency_ms / 1000 >= MIN_TOKENS
        ]

    return throughput_drift(speeds(bench), speeds(live), THROUGHPUT_PARAMS)
