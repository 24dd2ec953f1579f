"""The quality-drift CUSUM: it alarms soon on a real drop, rarely on none (measured)."""

from __future__ import annotations

import random

from rolecall.profiles.drift import DriftParams, quality_drift

BASELINE = [0.9, 0.8, 1.0, 0.85, 0.95, 0.9, 0.75, 1.0, 0.9, 0.85]


def test_a_drop_alarms_within_a_few_scores() -> None:
    drift = quality_drift(BASELINE, [0.1] * 8)
    assert drift is not None
    assert drift.alarmed
    assert drift.alarm_at == DriftParams().min_live  # the first score it may alarm at
    assert drift.shift > 0.7


def test_no_alarm_before_min_live_nor_without_a_baseline() -> None:
    drift = quality_drift(BASELINE, [0.0] * 4)
    assert drift is not None
    assert not drift.alarmed
    assert quality_drift(BASELINE[:5], [0.0] * 20) is None
    assert quality_drift(BASELINE, []) is None


def test_a_rise_never_alarms() -> None:
    drift = quality_drift([0.5] * 10, [1.0] * 200)
    assert drift is not None
    assert not drift.alarmed
    assert drift.statistic == 0.0


def _stream(rng: random.Random, mean: float, n: int) -> list[float]:
    # judge grades on a 1-10 scale, as 0-1, around ``mean``
    return [min(9, max(0, round(rng.gauss(mean * 9, 1.2)))) / 9 for _ in range(n)]


def test_false_alarm_and_detection_rates_on_simulated_judges() -> None:
    rng = random.Random(7)
    false_alarms = detected = 0
    delays = []
    runs = 400
    for _ in range(runs):
        baseline = _stream(rng, 0.85, 20)
        if quality_drift(baseline, _stream(rng, 0.85, 100)).alarmed:  # type: ignore[union-attr]
            false_alarms += 1
        drop = quality_drift(baseline, _stream(rng, 0.45, 100))
        assert drop is not None
        if drop.alarmed:
            detected += 1
            assert drop.alarm_at is not None
            delays.append(drop.alarm_at)
    assert false_alarms / runs <= 0.03, false_alarms
    assert detected / runs >= 0.99
    assert sorted(delays)[len(delays) // 2] <= 6  # median scores to detection


def test_a_canary_drop_must_be_large_and_significant() -> None:
    from rolecall.profiles.drift import canary_drop

    fell = canary_drop([(0.0, 1.0)] * 4)
    assert fell is not None
    assert fell.alarmed
    assert fell.t_statistic is None  # every case fell by the same amount
    assert canary_drop([(0.0, 1.0)] * 3) is None  # too few cases
    steady = canary_drop([(1.0, 1.0), (0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)])
    assert steady is not None
    assert not steady.alarmed
    small = canary_drop([(0.9, 1.0)] * 10)  # certain, but only 0.1
    assert small is not None
    assert not small.alarmed
    noisy = canary_drop([(0.0, 1.0), (1.0, 0.0), (0.0, 1.0), (0.0, 1.0), (1.0, 1.0)])
    assert noisy is not None
    assert noisy.mean_change <= -0.2
    assert not noisy.alarmed  # large, but not significant on five noisy cases
