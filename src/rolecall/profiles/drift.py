"""Quality drift: a one-sided CUSUM of live quality scores against the endpoint's benchmark.

Owns `DriftParams`, `Drift` and `quality_drift`. The benchmark's judged scores are the baseline
(their mean μ₀ and spread σ, floored at ``min_sigma`` because a benchmark of near-identical
scores would make any live wobble look enormous); the live scores (shadow-judged answers and
feedback, oldest first) are standardised, ``z = (μ₀ − x)/σ``, and accumulated as
``S = max(0, S + z − k)`` with ``k = shift/(2σ)``: the classic tuning for detecting a drop of
``shift`` quality. An alarm is raised when ``S`` passes ``threshold`` after at least
``min_live`` live scores. The threshold is 8, not the textbook 4-5, because the baseline is an
estimate from a few dozen benchmark cases and its error adds false alarms: on simulated 1-10
judges (tests/unit/profiles/test_drift.py) about 1% of 100-score streams without a drop alarm,
while a 0.4 drop is caught at the 5th score. `canary_drop` is the canaries' test: a scheduled
subset of benchmark cases against the same cases' scores in the endpoint's history, paired.
`failure_drift` watches the live failure rate (a Bernoulli CUSUM of each request's success
against the benchmark's failure rate) and `throughput_drift` the live tokens per second (the
same CUSUM as quality, on the logarithm, so a halving is one ``shift`` whatever the speed).
Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "DEFAULT_PARAMS",
    "DEFAULT_RATE_PARAMS",
    "THROUGHPUT_PARAMS",
    "CanaryVerdict",
    "Drift",
    "DriftParams",
    "RateParams",
    "canary_drop",
    "failure_drift",
    "quality_drift",
    "throughput_drift",
]


@dataclass(frozen=True, slots=True)
class DriftParams:
    shift: float = 0.2  # the quality drop worth an alarm (0-1 scale)
    threshold: float = 8.0  # the CUSUM decision interval, in standardised units
    min_baseline: int = 8  # benchmark scores needed before a baseline is trusted
    min_live: int = 5  # live scores needed before an alarm
    min_sigma: float = 0.1  # the least spread assumed for the baseline


DEFAULT_PARAMS: Final = DriftParams()
# a halving of tokens per second (ln 2 on the log scale); throughput varies with answer length,
# so its spread is floored at a quarter of the log scale and a verdict waits for 20 requests
THROUGHPUT_PARAMS: Final = DriftParams(
    shift=math.log(2), threshold=8.0, min_baseline=8, min_live=20, min_sigma=0.25
)


@dataclass(frozen=True, slots=True)
class Drift:
    """The test's state after the live scores: whether it alarmed, and the evidence."""

    alarmed: bool
    statistic: float
    threshold: float
    baseline_mean: float
    baseline_sigma: float
    baseline_n: int
    live_mean: float
    live_n: int
    alarm_at: int | None  # the 1-based live score at which it alarmed
    # the scores the alarm rests on: from the last time the statistic was 0 up to the alarm (all
    # the live scores without an alarm), and their mean
    run_start: int = 1
    run_mean: float = 0.0

    @property
    def shift(self) -> float:
        """How far the scores the alarm rests on fell below the baseline (negative: a rise)."""
        return self.baseline_mean - self.run_mean

    def to_json(self) -> dict[str, float | int | bool | None]:
        return {
            "alarmed": self.alarmed,
            "statistic": round(self.statistic, 4),
            "threshold": self.threshold,
            "baseline_mean": round(self.baseline_mean, 4),
            "baseline_sigma": round(self.baseline_sigma, 4),
            "baseline_n": self.baseline_n,
            "live_mean": round(self.live_mean, 4),
            "live_n": self.live_n,
            "shift": round(self.shift, 4),
            "alarm_at": self.alarm_at,
            "run_start": self.run_start,
            "run_mean": round(self.run_mean, 4),
        }


def quality_drift(
    baseline: Sequence[float], live: Sequence[float], params: DriftParams | None = None
) -> Drift | None:
    """The CUSUM of ``live`` against ``baseline``; None when either is too short to judge."""
    params = params or DEFAULT_PARAMS
    if len(baseline) < params.min_baseline or not live:
        return None
    mean = math.fsum(baseline) / len(baseline)
    variance = math.fsum((x - mean) ** 2 for x in baseline) / (len(baseline) - 1)
    sigma = max(math.sqrt(variance), params.min_sigma)
    k = params.shift / (2 * sigma)
    steps = [(mean - score) / sigma - k for score in live]
    return _cusum(steps, live, params.min_live, params.threshold, mean, sigma, len(baseline))


def _cusum(
    steps: Sequence[float],
    live: Sequence[float],
    min_live: int,
    threshold: float,
    baseline_mean: float,
    baseline_sigma: float,
    baseline_n: int,
) -> Drift:
    """A one-sided CUSUM of ``steps`` (one per live value, positive towards the alarm), never
    below 0, alarming past ``threshold`` after ``min_live`` values; the run it rests on is the
    live values since the statistic was last 0."""
    statistic, alarm_at, run_start = 0.0, None, 1
    for i, step in enumerate(steps, start=1):
        statistic = max(0.0, statistic + step)
        if alarm_at is None and statistic == 0.0:
            run_start = i + 1
        if alarm_at is None and i >= min_live and statistic > threshold:
            alarm_at = i
    run = live[run_start - 1 : alarm_at] if alarm_at is not None else live
    return Drift(
        alarmed=alarm_at is not None,
        statistic=statistic,
        threshold=threshold,
        baseline_mean=baseline_mean,
        baseline_sigma=baseline_sigma,
        baseline_n=baseline_n,
        live_mean=math.fsum(live) / len(live),
        live_n=len(live),
        alarm_at=alarm_at,
        run_start=run_start if alarm_at is not None else 1,
        run_mean=math.fsum(run) / len(run) if run else baseline_mean,
    )


@dataclass(frozen=True, slots=True)
class CanaryVerdict:
    """Canary scores against the same cases' scores in the endpoint's own history."""

    alarmed: bool
    pairs: int
    mean_change: float  # canary minus history, averaged over the cases
    t_statistic: float | None  # None when every change is the same (no spread)

    def to_json(self) -> dict[str, float | int | bool | None]:
        t = None if self.t_statistic is None else round(self.t_statistic, 3)
        return {
            "alarmed": self.alarmed,
            "pairs": self.pairs,
            "mean_change": round(self.mean_change, 4),
            "t_statistic": t,
        }


def canary_drop(
    pairs: Sequence[tuple[float, float]],
    *,
    min_pairs: int = 4,
    drop: float = 0.2,
    t_critical: float = 2.33,
) -> CanaryVerdict | None:
    """Whether canary scores fell below the history of the same cases: ``pairs`` are
    (canary score, history score) per case. A drop is both large (the mean change at most
    ``-drop``) and significant (a one-sided paired t-test at 1%: ``t`` at most ``-t_critical``;
    with no spread at all, every case fell by the same amount, which a mean of ``-drop`` or
    worse already shows). None with fewer than ``min_pairs`` pairs."""
    if len(pairs) < min_pairs:
        return None
    changes = [canary - history for canary, history in pairs]
    mean = math.fsum(changes) / len(changes)
    variance = math.fsum((c - mean) ** 2 for c in changes) / (len(changes) - 1)
    t = None if variance == 0 else mean / math.sqrt(variance / len(changes))
    significant = t is None or t <= -t_critical
    return CanaryVerdict(mean <= -drop and significant, len(pairs), mean, t)


def throughput_drift(
    baseline: Sequence[float], live: Sequence[float], params: DriftParams = THROUGHPUT_PARAMS
) -> Drift | None:
    """A fall of live tokens per second below the benchmark's, on the log scale (the shift and
    means of the result are logarithms: ``exp(-shift)`` is the live share of the baseline)."""
    logs = [math.log(x) for x in baseline if x > 0]
    return quality_drift(logs, [math.log(x) for x in live if x > 0], params)


@dataclass(frozen=True, slots=True)
class RateParams:
    rise: float = 0.1  # the rise in failure rate worth an alarm, at the least
    threshold: float = 10.0  # the CUSUM interval on the log-likelihood ratio
    min_live: int = 20  # requests needed before an alarm
    floor: float = 0.02  # the least failure rate assumed for the baseline


DEFAULT_RATE_PARAMS: Final = RateParams()


def failure_drift(
    baseline_failures: int,
    baseline_n: int,
    live_failed: Sequence[bool],
    params: RateParams = DEFAULT_RATE_PARAMS,
) -> Drift | None:
    """Whether live requests fail more often than the benchmark's cases did: a Bernoulli CUSUM
    of the log-likelihood ratio between the baseline rate ``p0`` (smoothed, floored) and the
    alarming rate ``p1`` (double ``p0`` and at least ``rise`` above it). The result's means are
    failure rates; its ``shift`` is negative for a rise. None with no baseline or no live."""
    if baseline_n <= 0 or not live_failed:
        return None
    p0 = max((baseline_failures + 0.5) / (baseline_n + 1), params.floor)
    p1 = min(0.99, max(2 * p0, p0 + params.rise))
    if p1 <= p0:  # the benchmark failed almost always: no worse rate to watch for
        return None
    up, down = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))
    steps = [up if failed else down for failed in live_failed]
    rates = [1.0 if failed else 0.0 for failed in live_failed]
    sigma = math.sqrt(p0 * (1 - p0))
    return _cusum(steps, rates, params.min_live, params.threshold, p0, sigma, baseline_n)
