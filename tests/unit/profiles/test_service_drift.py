"""Failure-rate and throughput drift: alarms on a real change, rarely on none (measured here on
seeded simulations, so the rates below are the tests' own figures)."""

from __future__ import annotations

import math
import random

from rolecall.profiles.drift import RateParams, failure_drift, throughput_drift


def _failures(rng: random.Random, rate: float, n: int) -> list[bool]:
    return [rng.random() < rate for _ in range(n)]


def test_a_failing_endpoint_alarms_within_a_few_dozen_requests() -> None:
    drift = failure_drift(0, 50, [True] * 30)
    assert drift is not None
    assert drift.alarmed
    assert drift.alarm_at == RateParams().min_live  # the first request it may alarm at
    assert drift.run_mean == 1.0
    assert drift.shift < -0.9  # a rise: the live rate is above the baseline


def test_a_clean_stream_or_a_short_one_never_alarms() -> None:
    assert not failure_drift(0, 50, [False] * 5000).alarmed  # type: ignore[union-attr]
    assert not failure_drift(0, 50, [True] * 19).alarmed  # type: ignore[union-attr]
    assert failure_drift(0, 0, [True] * 50) is None  # no benchmark, no baseline
    assert failure_drift(0, 50, []) is None


def test_the_baseline_failure_rate_is_the_benchmarks() -> None:
    # an endpoint that failed 20% of its benchmark is not alarming at 20% live
    rng = random.Random(5)
    alarms = sum(
        failure_drift(10, 50, _failures(rng, 0.2, 1000)).alarmed  # type: ignore[union-attr]
        for _ in range(50)
    )
    assert alarms <= 2
    assert failure_drift(10, 50, [True] * 40).alarmed  # type: ignore[union-attr]


def test_false_alarm_and_detection_rates_on_simulated_traffic() -> None:
    rng = random.Random(11)
    # 2% of live requests failing against a clean benchmark: at most 1 in 20 windows of 10,000
    quiet = [failure_drift(0, 50, _failures(rng, 0.02, 10_000)) for _ in range(60)]
    assert sum(d.alarmed for d in quiet if d is not None) <= 3
    # 20% failing: every stream alarms, at the median within 40 requests
    loud = [failure_drift(0, 50, _failures(rng, 0.2, 1000)) for _ in range(60)]
    found = sorted(d.alarm_at for d in loud if d is not None and d.alarm_at is not None)
    assert len(found) == 60
    assert found[len(found) // 2] <= 40


def _speeds(rng: random.Random, mean: float, spread: float, n: int) -> list[float]:
    return [mean * math.exp(rng.gauss(0, spread)) for _ in range(n)]


def test_throughput_halving_alarms_and_steady_speed_rarely_does() -> None:
    rng = random.Random(3)
    steady = [
        throughput_drift(_speeds(rng, 40, 0.3, 30), _speeds(rng, 40, 0.4, 500)) for _ in range(100)
    ]
    assert sum(d.alarmed for d in steady if d is not None) <= 6
    halved = [
        throughput_drift(_speeds(rng, 40, 0.3, 30), _speeds(rng, 20, 0.4, 200)) for _ in range(100)
    ]
    alarmed = [d for d in halved if d is not None and d.alarmed]
    assert len(alarmed) >= 98
    assert all(0.3 < math.exp(-d.shift) < 0.7 for d in alarmed)  # about half the baseline


def test_throughput_ignores_samples_without_a_speed() -> None:
    assert throughput_drift([0.0] * 10, [10.0] * 50) is None  # no usable baseline
    drift = throughput_drift([40.0] * 10, [0.0] * 50)
    assert drift is None  # no usable live speed
