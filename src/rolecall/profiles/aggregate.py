"""Aggregation of measurement samples into an `ObservedPerformanceProfile` (docs/profiles.md).

Owns the scoring curves (`freshness_score`, `confidence_score`), `percentile`, the split of samples
into usable / stale / foreign (`partition_samples`) and `aggregate_profile`, which returns a
`ProfileAggregate`: the schema-shaped profile plus the evidence behind it (per-bucket quality,
quality interval, how many samples were stale or foreign).

Pure: no I/O, no clock (``now_ms`` is passed in), no global state. The result does not depend on
the order of the samples. Rules beyond the spec's one-liners, and why:

* Only samples of the requested ``endpoint_id`` *and* ``endpoint_version`` count; others are
  ``foreign`` (a profile never mixes deployments or versions).
* With a ``membership_revision``, a benchmark sample recorded under another revision (or under none)
  is ``stale`` and excluded: it graded the endpoint under a model/role membership that no longer
  holds. Live samples are never stale by revision: they measure the endpoint as it actually served
  traffic, whatever the membership was, and age out through freshness instead.
* Latency percentiles use the successful samples with a latency; if none succeeded, every sample
  with a latency (a failing endpoint still has a measurable latency); with no latency at all, 0.0
  (the schema requires both fields; ``sample_size`` and ``confidence_score`` still tell the truth).
* ``judge_score`` is the benchmark quality (see `rolecall.profiles.quality`). Live samples with a
  judge score (shadow judging) count only when there is no benchmark judge score at all: benchmark
  grading is the controlled measurement, live judging the fallback. Feedback scores are blended in
  at a lower weight (`judged_quality`). ``quality_score`` mirrors it.
* Feedback and shadow-judged samples carry a score and nothing else (`QUALITY_ONLY_SOURCES`):
  latency, throughput, cost and failure rates are computed without them (a thumbs-up is not a
  request that succeeded, a judge's failure not the endpoint's); they count as live evidence in
  ``sources``, confidence and freshness.
* ``confidence_score`` counts independent measurements (`evidence_count`): a benchmark case
  graded again, as repeated quick runs do, counts once, so 2 runs of 17 cases are 17, not 34.
* ``currency`` is ``"USD"`` exactly when ``cost_per_1k_tokens_est`` is present; the per-request
  ``cost_usd`` of samples has no field in the profile and is not aggregated here.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from rolecall.profiles.quality import BucketQuality, JudgedQuality, judged_quality
from rolecall.profiles.samples import QUALITY_ONLY_SOURCES, Sample
from rolecall.protocol import MeasurementWindow, ObservedPerformanceProfile, SampleSources

__all__ = [
    "CONFIDENCE_SATURATION_SAMPLES",
    "FRESHNESS_HALF_LIFE_MS",
    "ProfileAggregate",
    "SamplePartition",
    "aggregate_profile",
    "confidence_score",
    "freshness_score",
    "partition_samples",
    "percentile",
]

FRESHNESS_HALF_LIFE_MS: Final[int] = 7 * 24 * 60 * 60 * 1000
"""Age at which `freshness_score` halves: seven days, in milliseconds."""

CONFIDENCE_SATURATION_SAMPLES: Final[int] = 50
"""Sample count at which `confidence_score` reaches 1."""


def freshness_score(age_ms: float, *, half_life_ms: float = FRESHNESS_HALF_LIFE_MS) -> float:
    """``exp(-ln2 · age / half_life)``: 1 for fresh evidence, 0.5 after one half-life.

    A negative age (a sample stamped after ``now``, e.g. clock skew) counts as age 0.
    """
    if not half_life_ms > 0:
        raise ValueError(f"half_life_ms: must be positive, got {half_life_ms!r}")
    return math.exp(-math.log(2) * max(age_ms, 0.0) / half_life_ms)


def confidence_score(
    sample_count: int, *, saturation: int = CONFIDENCE_SATURATION_SAMPLES
) -> float:
    """``clamp(log1p(n) / log1p(saturation), 0, 1)``: 0 without samples, 1 from ``saturation``."""
    if saturation < 1:
        raise ValueError(f"saturation: must be at least 1, got {saturation!r}")
    if sample_count <= 0:
        return 0.0
    return min(1.0, math.log1p(sample_count) / math.log1p(saturation))


def _lerp(low: float, high: float, fraction: float) -> float:
    """Interpolate between neighbours, staying within ``[low, high]`` despite rounding."""
    diff = high - low
    value = low + diff * fraction if fraction < 0.5 else high - diff * (1.0 - fraction)
    return min(max(value, low), high)


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q``-th percentile (0 to 100), interpolating linearly between the closest ranks.

    This is numpy's default ``method="linear"``: with the values sorted ascending, the result
    lies at fractional index ``(n - 1) · q / 100``.
    """
    ordered = sorted(values)
    if not ordered:
        raise ValueError("values: need at least one value")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q: must be within [0, 100], got {q!r}")
    position = (len(ordered) - 1) * (q / 100.0)
    below = math.floor(position)
    if below >= len(ordered) - 1:
        return float(ordered[-1])
    return float(_lerp(ordered[below], ordered[below + 1], position - below))


@dataclass(frozen=True, slots=True)
class SamplePartition:
    """The samples of one endpoint version that count, and how many were set aside and why."""

    usable: tuple[Sample, ...]
    stale_samples: int
    foreign_samples: int

    @property
    def fresh_benchmark_samples(self) -> int:
        """Usable samples that came from a benchmark under the current membership."""
        return sum(1 for s in self.usable if s.source == "benchmark")


def _is_stale(sample: Sample, membership_revision: str | None) -> bool:
    return (
        membership_revision is not None
        and sample.source == "benchmark"
        and sample.membership_revision != membership_revision
    )


def partition_samples(
    samples: Iterable[Sample],
    *,
    endpoint_id: str,
    endpoint_version: str,
    membership_revision: str | None = None,
) -> SamplePartition:
    """Split ``samples`` into usable, stale and foreign ones (rules in the module docstring)."""
    usable: list[Sample] = []
    stale = foreign = 0
    for sample in samples:
        if sample.endpoint_id != endpoint_id or sample.endpoint_version != endpoint_version:
            foreign += 1
        elif _is_stale(sample, membership_revision):
            stale += 1
        else:
            usable.append(sample)
    return SamplePartition(tuple(usable), stale, foreign)


@dataclass(frozen=True)
class ProfileAggregate:
    """An observed profile and the evidence behind it.

    ``bucket_quality`` maps each difficulty bucket with judged benchmark samples to its quality;
    ``quality_interval`` is the 95% interval of the profile's ``judge_score`` (None without one);
    ``feedback_quality`` and ``live_judged_quality`` those scores' own mean and interval (None
    without any).
    """

    profile: ObservedPerformanceProfile
    bucket_quality: dict[str, BucketQuality]
    quality_interval: BucketQuality | None
    stale_samples: int
    foreign_samples: int
    feedback_quality: BucketQuality | None = None
    live_judged_quality: BucketQuality | None = None


def _latency_percentiles(samples: Sequence[Sample]) -> tuple[float, float]:
    succeeded = [s.latency_ms for s in samples if s.succeeded and s.latency_ms is not None]
    pool = succeeded or [s.latency_ms for s in samples if s.latency_ms is not None]
    if not pool:
        return 0.0, 0.0
    return percentile(pool, 50.0), percentile(pool, 95.0)


def _failure_rates(samples: Sequence[Sample]) -> tuple[float, dict[str, float] | None]:
    counts = Counter(s.error_class for s in samples if s.error_class is not None)
    failures = sum(counts.values())
    if failures == 0:
        return 0.0, None
    total = len(samples)
    return failures / total, {name: counts[name] / total for name in sorted(counts)}


def evidence_count(samples: Sequence[Sample]) -> int:
    """How many independent measurements the samples are: a benchmark case graded again (a
    repeated quick run) counts once, every live sample counts."""
    cases = {s.case_key for s in samples if s.source == "benchmark" and s.case_key is not None}
    rest = sum(1 for s in samples if s.source != "benchmark" or s.case_key is None)
    return len(cases) + rest


def _median_of(samples: Sequence[Sample], field: Callable[[Sample], float | None]) -> float | None:
    """The median of one optional numeric field over the samples that have it."""
    values = [v for s in samples if (v := field(s)) is not None]
    return percentile(values, 50.0) if values else None


def _build_profile(
    usable: Sequence[Sample], endpoint_id: str, endpoint_version: str, now_ms: int
) -> tuple[ObservedPerformanceProfile, JudgedQuality | None]:
    timestamps = [s.timestamp_ms for s in usable]
    measured = [s for s in usable if s.source not in QUALITY_ONLY_SOURCES]
    p50, p95 = _latency_percentiles(measured)
    failure_rate, error_class_rates = _failure_rates(measured)
    judged = judged_quality(usable)
    quality = None if judged is None else judged.overall
    cost = _median_of(measured, lambda s: s.cost_per_1k_tokens)
    benchmark = sum(1 for s in usable if s.source == "benchmark")
    profile = ObservedPerformanceProfile(
        endpoint_id=endpoint_id,
        endpoint_version=endpoint_version,
        measured_at_ms=now_ms,
        measurement_window=MeasurementWindow(
            started_at_ms=min(timestamps), ended_at_ms=max(timestamps)
        ),
        sample_size=len(usable),
        sources=SampleSources(
            benchmark_samples=benchmark, live_request_samples=len(usable) - benchmark
        ),
        latency_ms_p50=p50,
        latency_ms_p95=p95,
        failure_rate=failure_rate,
        error_class_rates=error_class_rates,
        freshness_score=freshness_score(now_ms - max(timestamps)),
        confidence_score=confidence_score(evidence_count(usable)),
        judge_score=None if quality is None else quality.mean,
        quality_score=None if quality is None else quality.mean,
        tokens_per_sec=_median_of(measured, lambda s: s.tokens_per_sec),
        cold_start_ms=_median_of(measured, lambda s: s.cold_start_ms),
        cost_per_1k_tokens_est=cost,
        currency=None if cost is None else "USD",
    )
    return profile, judged


def aggregate_profile(
    samples: Iterable[Sample],
    *,
    endpoint_id: str,
    endpoint_version: str,
    now_ms: int,
    membership_revision: str | None = None,
) -> ProfileAggregate | None:
    """Aggregate the samples of one endpoint version, as of ``now_ms``; None without usable ones.

    ``measured_at_ms`` is ``now_ms``; freshness comes from the newest usable sample's age,
    confidence from the number of usable samples. See the module docstring for the rules.
    """
    if isinstance(now_ms, bool) or not isinstance(now_ms, int) or now_ms < 0:
        raise ValueError(f"now_ms: must be a non-negative integer, got {now_ms!r}")
    partition = partition_samples(
        samples,
        endpoint_id=endpoint_id,
        endpoint_version=endpoint_version,
        membership_revision=membership_revision,
    )
    if not partition.usable:
        return None
    profile, judged = _build_profile(partition.usable, endpoint_id, endpoint_version, now_ms)
    return ProfileAggregate(
        profile=profile,
        bucket_quality={} if judged is None else judged.buckets,
        quality_interval=None if judged is None else judged.overall,
        stale_samples=partition.stale_samples,
        foreign_samples=partition.foreign_samples,
        feedback_quality=None if judged is None else judged.feedback,
        live_judged_quality=None if judged is None else judged.live_judged,
    )
