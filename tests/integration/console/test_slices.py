"""The pure parts of the console's analytics: sums, histograms, chart axes, posture parsing."""

from __future__ import annotations

import math
import random

import pytest

from rolecall.console.slices import (
    ROLLUP_FROM_MS,
    approx_quantile,
    coarse_quantile,
    combine,
    series_axis,
)
from rolecall.errors import ConfigError
from rolecall.operator.posture import Posture, parse_posture
from rolecall.storage.sql_analytics_tables import (
    HISTOGRAM_BINS,
    ROLLUP_MS,
    histogram_bin,
    latency_bin,
    rollup_rows,
)

MODES = {"baseline": True, "learned": False, "controller": False}


def test_coarse_histogram_quantiles_stay_close() -> None:
    rng = random.Random(5)
    values = sorted(rng.lognormvariate(5, 1.1) for _ in range(20_000))
    histogram = [0] * HISTOGRAM_BINS
    fine: dict[int, int] = {}
    for v in values:
        histogram[histogram_bin(v)] += 1
        fine[latency_bin(v)] = fine.get(latency_bin(v), 0) + 1
    for q in (0.5, 0.9, 0.95, 0.99):
        truth = values[math.ceil(q * len(values)) - 1]
        assert coarse_quantile(histogram, q) == pytest.approx(truth, rel=0.1), q
        assert approx_quantile(sorted(fine.items()), q) == pytest.approx(truth, rel=0.04), q
    assert coarse_quantile([0] * HISTOGRAM_BINS, 0.5) is None


def test_bins_never_decrease_with_latency() -> None:
    latencies = [0.0, 0.2, 1.0, 1.01, 9.9, 10.0, 250.0, 60_000.0, 10**7]
    assert [latency_bin(v) for v in latencies] == sorted(latency_bin(v) for v in latencies)
    assert [histogram_bin(v) for v in latencies] == sorted(histogram_bin(v) for v in latencies)
    assert histogram_bin(10**9) == HISTOGRAM_BINS - 1


def test_rollup_rows_add_and_take_back() -> None:
    fact = {
        "timestamp_ms": 10 * ROLLUP_MS + 7,
        "endpoint_id": "a",
        "chosen_endpoint_id": "b",
        "status_family": "2xx",
        "latency_ms": 12.0,
        "tokens_in": 3,
        "tokens_out": 4,
        "cost_usd": None,
        "source": "live_request",
        "outcome": "served",
    }
    (added,) = rollup_rows([fact, fact])
    assert added["bucket_ms"] == 10 * ROLLUP_MS
    assert (added["requests"], added["ok"], added["fallbacks"], added["costed"]) == (2, 2, 2, 0)
    assert added["role_id"] == ""  # NULL dimensions are '' in the rollup key
    (removed,) = rollup_rows([fact], sign=-1)
    assert removed["requests"] == -1
    assert removed[f"h{histogram_bin(12.0):02d}"] == -1


def test_refusals_and_decisions_are_counted_not_measured() -> None:
    """A refused request is a request, never a fallback, with no latency; a decision-only call
    is no request at all."""
    base = {
        "timestamp_ms": 7 * ROLLUP_MS,
        "endpoint_id": "none",
        "chosen_endpoint_id": "",
        "status_family": "4xx",
        "latency_ms": 1.0,
        "tokens_in": 0,
        "tokens_out": 0,
        "cost_usd": None,
    }
    refused, decided = rollup_rows(
        [
            base | {"outcome": "refused"},
            base
            | {
                "outcome": "decision_only",
                "endpoint_id": "a",
                "chosen_endpoint_id": "a",
                "status_family": "2xx",
            },
        ]
    )
    assert (refused["requests"], refused["refused"], refused["fallbacks"]) == (1, 1, 0)
    assert (refused["executed"], refused["latency_sum_ms"], sum_bins(refused)) == (0, 0.0, 0)
    assert (decided["requests"], decided["decisions"], decided["ok"]) == (0, 1, 0)
    assert sum_bins(decided) == 0


def sum_bins(row: dict[str, object]) -> int:
    return sum(int(row[f"h{i:02d}"]) for i in range(HISTOGRAM_BINS))  # type: ignore[call-overload]


def test_combine_sums_groups_and_finishes() -> None:
    rows = [
        {"endpoint": "a", "requests": 2, "ok": 1, "latency_sum_ms": 30.0, "executed": 2} | _zeros(),
        {"endpoint": "a", "requests": 1, "ok": 1, "latency_sum_ms": 10.0, "executed": 1} | _zeros(),
        {"endpoint": "b", "requests": 0, "ok": 0, "latency_sum_ms": 0.0, "executed": 0} | _zeros(),
    ]
    total = combine(rows)
    assert (total["requests"], total["success_rate"]) == (3, pytest.approx(2 / 3))
    assert total["latency_avg_ms"] == pytest.approx(40 / 3)
    per = combine(rows, "endpoint")
    assert per["a"]["requests"] == 3
    assert per["b"]["latency_avg_ms"] is None


def _zeros() -> dict[str, float]:
    names = ("failed", "refused", "decisions", "cost_usd", "costed", "tokens_in", "tokens_out")
    return {k: 0 for k in (*names, "fallbacks")}


def test_series_axis_uses_whole_rollup_buckets_for_long_windows() -> None:
    now = 1_700_000_123_456
    start, width, buckets = series_axis(now, 3_600_000, 48)
    assert (start, width, buckets) == (now - 3_600_000, 75_000, 48)
    start, width, buckets = series_axis(now, ROLLUP_FROM_MS, 48)
    assert start % ROLLUP_MS == 0
    assert width % ROLLUP_MS == 0
    assert start + width * buckets >= now


def test_posture_parsing_names_the_key() -> None:
    current = Posture("balanced", "hybrid", "auto")
    assert parse_posture({"strategy": "cost"}, current, MODES).strategy == "cost"
    with pytest.raises(ConfigError, match="execution_scope"):
        parse_posture({"execution_scope": "moon"}, current, MODES)
    with pytest.raises(ConfigError, match="use baseline"):
        parse_posture({"mode": "learned"}, current, MODES)
    with pytest.raises(ConfigError, match="unknown key"):
        parse_posture({"colour": "red"}, current, MODES)
