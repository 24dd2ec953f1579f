"""What each request adds to the metrics, tallied in plain dicts and flushed into the families.

A request touches a dozen series (its count, latency, tokens, cost, the decision's selection
reasons, each failed attempt). Incrementing prometheus-client values one by one costs about a
microsecond each, several in multiprocess mode (a locked write to a shared file), so a request
only adds to a few dict entries keyed by label values here (the decision's reasons as one tuple,
expanded at the flush); `flush` turns what accumulated into one increment per series, at every
scrape of this process and every `FLUSH_INTERVAL_S` (so that a scrape answered by another worker
sees this one's numbers at most that old).
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator
from typing import Final

from prometheus_client import Counter, Histogram

from rolecall.observe.listeners import TurnedAway
from rolecall.observe.observation import RequestRecord, final_endpoint_id
from rolecall.telemetry.families import LATENCY_BUCKETS_S, Families

__all__ = ["FLUSH_INTERVAL_S", "RequestMetrics", "add_observations"]

FLUSH_INTERVAL_S: Final = 1.0
STATUS_CLASS: Final = ("0xx", "1xx", "2xx", "3xx", "4xx", "5xx")
NO_ENDPOINT: Final = "none"  # as the records name it

Labels = tuple[str, ...]
Hist = list[float]  # a count per bucket (the last: +Inf), then the sum of the values


def status_class(status: int) -> str:
    return STATUS_CLASS[status // 100] if 100 <= status < 600 else "other"


class RequestMetrics:
    """A `RequestListener` that tallies requests and benchmark runs for `Families`."""

    def __init__(self, families: Families) -> None:
        self._families = families
        self._lock = threading.Lock()  # records may come from a script's thread too
        self._counts: dict[Counter, dict[Labels, float]] = {}
        self._hists: dict[Histogram, dict[Labels, Hist]] = {}
        self._reasons: dict[tuple[str, tuple[str, ...]], int] = {}  # (strategy, reasons)

    def recorded(self, record: RequestRecord) -> None:
        f = self._families
        decision = record.decision
        strategy = decision.context.policy.strategy
        endpoint = final_endpoint_id(record)
        key = record.app_id
        status = status_class(record.status)
        outcome = record.outcome
        with self._lock:
            self._add(f.requests, (endpoint, _role(record), strategy, key, status))
            self._observe(f.duration, (endpoint, status), record.ended_ms - record.started_ms)
            # the reasons say why the chosen endpoint won (none left after a budget's cuts)
            reasons = (strategy, decision.selection_reasons if decision.chosen_endpoint_id else ())
            self._reasons[reasons] = self._reasons.get(reasons, 0) + 1
            for _, exclusions in decision.eligibility:
                for code, _ in exclusions:
                    self._add(f.exclusions, (code,))
            refusal = record.refusal
            if refusal is None and outcome is None and not decision.chosen_endpoint_id:
                refusal = "no_eligible_endpoint"
            if refusal is not None:
                self._add(f.refusals, (refusal, key))
            if outcome is not None:
                self._attempts(record, endpoint)

    def _attempts(self, record: RequestRecord, endpoint: str) -> None:
        """(Under the lock.) Failures, retries and fallbacks; tokens, cost and time to first
        token of an answer."""
        f = self._families
        outcome = record.outcome
        assert outcome is not None
        previous = None
        for attempt in outcome.attempts:
            if attempt.retry:
                self._add(f.retries, (attempt.endpoint_id,))
            elif previous is not None and previous != attempt.endpoint_id:
                self._add(f.fallbacks, (previous, attempt.endpoint_id))
            if attempt.failure is not None:
                self._add(f.errors, (attempt.endpoint_id, attempt.failure.failure))
            previous = attempt.endpoint_id
        if record.stream_error is not None:
            self._add(f.errors, (endpoint, record.stream_error))
        if not outcome.ok or outcome.endpoint is None:
            return
        key = record.app_id
        self._add(f.tokens, (endpoint, key, "input"), record.tokens_in)
        self._add(f.tokens, (endpoint, key, "output"), record.tokens_out)
        cost = outcome.endpoint.request_cost(record.tokens_in, record.tokens_out)
        if cost:
            self._add(f.cost, (endpoint, key), cost)
        first_byte_ms = outcome.attempts[-1].first_byte_ms if outcome.attempts else None
        if first_byte_ms is not None:
            self._observe(f.ttft, (endpoint,), first_byte_ms - record.started_ms)

    def turned_away(self, request: TurnedAway) -> None:
        f = self._families
        status = status_class(request.status)
        key = request.key_id or ""
        with self._lock:
            self._add(f.requests, (NO_ENDPOINT, "", "", key, status))
            self._observe(f.duration, (NO_ENDPOINT, status), request.elapsed_s * 1000)
            if request.refusal is not None:
                self._add(f.refusals, (request.refusal, key))

    def bench_run(self, mode: str, status: str | None) -> None:
        """A benchmark run started (``status`` None) or ended with ``status``."""
        f = self._families
        with self._lock:
            if status is None:
                self._add(f.bench_started, (mode,))
            else:
                self._add(f.bench_finished, (mode, status))

    def _add(self, family: Counter, labels: Labels, amount: float = 1) -> None:
        series = self._counts.get(family)
        if series is None:
            series = self._counts[family] = {}
        series[labels] = series.get(labels, 0) + amount

    def _observe(self, family: Histogram, labels: Labels, value_ms: float) -> None:
        series = self._hists.get(family)
        if series is None:
            series = self._hists[family] = {}
        hist = series.get(labels)
        if hist is None:
            hist = series[labels] = [0.0] * (len(LATENCY_BUCKETS_S) + 2)
        seconds = value_ms / 1000
        hist[bisect_left(LATENCY_BUCKETS_S, seconds)] += 1  # le is inclusive: bisect_left
        hist[-1] += seconds

    def flush(self) -> None:
        """Add what was tallied since the last flush to the families (one increment a series)."""
        with self._lock:
            counts, self._counts = self._counts, {}
            hists, self._hists = self._hists, {}
            reasons, self._reasons = self._reasons, {}
        for family, series in counts.items():
            for labels, amount in series.items():
                family.labels(*labels).inc(amount)
        for histogram, by_labels in hists.items():
            for labels, hist in by_labels.items():
                add_observations(histogram.labels(*labels), hist)
        for (strategy, chosen_for), n in reasons.items():
            outcome = "chosen" if chosen_for else "none"
            self._families.decisions.labels(strategy, outcome).inc(n)
            for reason in chosen_for:
                self._families.reasons.labels(reason).inc(n)


def add_observations(child: Histogram, hist: Hist) -> None:
    """Add a tally (a count per bucket, then the sum) to a histogram's series.

    prometheus-client has no public way to add many observations at once, and observing each
    value again would cost what the tally saves, so this adds to the series' bucket and sum
    values directly (a unit test holds it to what `Histogram.observe` does)."""
    buckets = child._buckets
    for index, count in _nonzero(hist[:-1]):
        buckets[index].inc(count)
    child._sum.inc(hist[-1])


def _nonzero(values: list[float]) -> Iterator[tuple[int, float]]:
    return ((i, v) for i, v in enumerate(values) if v)


def _role(record: RequestRecord) -> str:
    return record.decision.context.request.requested_role_id or ""
