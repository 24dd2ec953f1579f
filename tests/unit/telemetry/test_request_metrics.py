"""The request tally adds to Prometheus series exactly what observing each value would."""

from __future__ import annotations

import random

import pytest
from prometheus_client import CollectorRegistry, Histogram

from rolecall.observe.listeners import TurnedAway
from rolecall.telemetry.families import LATENCY_BUCKETS_S, build_families
from rolecall.telemetry.request_metrics import RequestMetrics, status_class

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(registry: CollectorRegistry, family: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for metric in registry.collect()
        if metric.name == family
        for s in metric.samples
        if not s.name.endswith("_created")
    }


def test_a_flushed_tally_equals_observing_each_value() -> None:
    rng = random.Random(7)
    # the bucket bounds themselves (le is inclusive), values past the last bound, and zero
    values = [*LATENCY_BUCKETS_S, 0.0, 61.0, 500.0] + [rng.uniform(0, 70) for _ in range(500)]
    reference, registry = CollectorRegistry(), CollectorRegistry()
    name = "rolecall_request_duration_seconds"
    observed = Histogram(
        name, "t", ["endpoint", "status_class"], registry=reference, buckets=LATENCY_BUCKETS_S
    )
    metrics = RequestMetrics(build_families(registry))
    for i, value in enumerate(values):
        observed.labels("none", "4xx").observe(value)
        metrics.turned_away(TurnedAway(401, "invalid_api_key", None, value))
        if i == 100:
            metrics.flush()  # two flushes add up
    metrics.flush()
    expected, got = _samples(reference, name), _samples(registry, name)
    assert len(expected) == len(LATENCY_BUCKETS_S) + 3  # buckets with +Inf, count, sum
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value), key
    requests = _samples(registry, "rolecall_requests")
    labels = (("endpoint", "none"), ("key_id", ""), ("role", ""), ("status_class", "4xx"))
    assert requests == {("rolecall_requests_total", (*labels, ("strategy", ""))): len(values)}


@pytest.mark.parametrize(
    ("status", "label"), [(200, "2xx"), (429, "4xx"), (503, "5xx"), (101, "1xx"), (999, "other")]
)
def test_status_classes(status: int, label: str) -> None:
    assert status_class(status) == label
