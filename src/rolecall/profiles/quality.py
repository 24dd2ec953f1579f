"""Judged quality of an endpoint: per-difficulty benchmark quality and its confidence intervals.

Owns `BucketQuality`, `BenchmarkQuality`, `benchmark_quality` and `score_quality` (docs/profiles.md,
"routing quality from benchmark"):

* per difficulty bucket, the mean judge score of the benchmark samples, where full-mode samples are
  preferred over quick-mode ones when a bucket has both — except the hard bucket, which is the
  average of the full-hard mean and the quick-hard mean when both exist (``hardBlend``);
* the overall benchmark quality is the case-weighted mean over the buckets, weighted by the number
  of samples each bucket used; unbucketed benchmark judge scores join as one more group;
* every mean carries a normal-approximation 95% confidence interval, mean ± 1.96·SE, clamped to
  [0, 1]. A Wilson interval does not apply to continuous scores. With fewer than two scores the
  spread is unknown, so the interval is the whole range [0, 1].

Live evidence joins the judged quality (benchmark, or inline live judge scores where no
benchmark judged) in a weighted mean whose variance is Σ (w_g/W)²·SE_g² over the groups:
shadow-judged answers (source ``live_judged``: a judge endpoint's reference-free grade of a
served answer) at ``LIVE_JUDGED_WEIGHT`` each — half a benchmark case, because a rubric without
a reference answer is a looser measurement — and feedback (source ``feedback``: a client's or
operator's score of one answer) at ``FEEDBACK_WEIGHT`` each — half a case, because the answers
people rate are not a random draw and a score is one person's reading. Either alone is the
quality when nothing else judged the endpoint. Per-bucket qualities stay the benchmark's: feedback has no
difficulty.

Standard errors: a plain group has SE² = s²/n (s the sample standard deviation); the hard blend
has SE² = (SE_full² + SE_quick²)/4, unknown if either part is; the overall has
SE² = Σ (n_b/N)²·SE_b², where a group of one score borrows the sample variance of all the scores
used (s²_all/n_b). A sample whose ``benchmark_mode`` is unset counts as full mode: it is not the
quick hard-regression subset. Sums use `math.fsum`, so the result does not depend on sample order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from rolecall.profiles.samples import DIFFICULTY_BUCKETS, Sample

__all__ = [
    "FEEDBACK_WEIGHT",
    "LIVE_JUDGED_WEIGHT",
    "Z_95",
    "BenchmarkQuality",
    "BucketQuality",
    "JudgedQuality",
    "benchmark_quality",
    "judged_quality",
    "score_quality",
]

Z_95: Final[float] = 1.96
"""The two-sided 95% standard-normal quantile used for the quality intervals."""

FEEDBACK_WEIGHT: Final[float] = 0.5
"""How much one feedback score counts against one judged case (see the module docstring)."""

LIVE_JUDGED_WEIGHT: Final[float] = 0.5
"""How much one shadow-judged live answer counts against one judged benchmark case."""


@dataclass(frozen=True, slots=True)
class BucketQuality:
    """A mean judge score with its 95% interval and the number of scores behind it."""

    mean: float
    ci_low: float
    ci_high: float
    samples: int


@dataclass(frozen=True, slots=True)
class BenchmarkQuality:
    """Overall benchmark quality and the per-difficulty-bucket qualities it was combined from."""

    overall: BucketQuality
    buckets: dict[str, BucketQuality]


@dataclass(frozen=True, slots=True)
class _Group:
    """A mean, the variance of that mean (None: unknown) and how many scores were used."""

    mean: float
    var_of_mean: float | None
    samples: int


def _clamp01(value: float) -> float:
    return min(1.0, max(0.0, value))


def _mean(scores: Sequence[float]) -> float:
    return math.fsum(scores) / len(scores)


def _sample_variance(scores: Sequence[float]) -> float | None:
    """The unbiased sample variance, or None for fewer than two scores."""
    if len(scores) < 2:
        return None
    mean = _mean(scores)
    return math.fsum((x - mean) ** 2 for x in scores) / (len(scores) - 1)


def _group(scores: Sequence[float]) -> _Group:
    variance = _sample_variance(scores)
    var_of_mean = None if variance is None else variance / len(scores)
    return _Group(_mean(scores), var_of_mean, len(scores))


def _blend(full: _Group, quick: _Group) -> _Group:
    """The hardBlend: the plain average of the full-mode and quick-mode means."""
    if full.var_of_mean is None or quick.var_of_mean is None:
        var_of_mean = None
    else:
        var_of_mean = (full.var_of_mean + quick.var_of_mean) / 4
    return _Group((full.mean + quick.mean) / 2, var_of_mean, full.samples + quick.samples)


def _combine(groups: Sequence[_Group], pooled_variance: float | None) -> _Group:
    """The case-weighted mean of ``groups`` and its (stratified) variance."""
    if len(groups) == 1:
        return groups[0]
    total = sum(g.samples for g in groups)
    mean = math.fsum(g.mean * g.samples for g in groups) / total
    terms: list[float] = []
    for g in groups:
        var_of_mean = g.var_of_mean
        if var_of_mean is None and pooled_variance is not None:
            var_of_mean = pooled_variance / g.samples
        if var_of_mean is None:
            return _Group(mean, None, total)
        terms.append((g.samples / total) ** 2 * var_of_mean)
    return _Group(mean, math.fsum(terms), total)


def _interval(group: _Group) -> BucketQuality:
    mean = _clamp01(group.mean)
    if group.var_of_mean is None:
        return BucketQuality(mean, 0.0, 1.0, group.samples)
    half_width = Z_95 * math.sqrt(group.var_of_mean)
    return BucketQuality(
        mean, _clamp01(mean - half_width), _clamp01(mean + half_width), group.samples
    )


def score_quality(scores: Sequence[float]) -> BucketQuality:
    """The plain mean of judge scores with its 95% interval (used for live-judged quality)."""
    if not scores:
        raise ValueError("scores: need at least one judge score")
    return _interval(_group(scores))


def _scores(samples: Iterable[Sample]) -> list[float]:
    return [s.judge_score for s in samples if s.judge_score is not None]


def _bucket_group(bucket: str, samples: Sequence[Sample]) -> tuple[_Group, list[float]] | None:
    """The bucket's mean (full preferred over quick; hardBlend for hard) and the scores it used."""
    full = _scores(s for s in samples if s.benchmark_mode != "quick")
    quick = _scores(s for s in samples if s.benchmark_mode == "quick")
    if full and quick and bucket == "hard":
        return _blend(_group(full), _group(quick)), full + quick
    used = full or quick
    return (_group(used), used) if used else None


def benchmark_quality(samples: Iterable[Sample]) -> BenchmarkQuality | None:
    """Per-bucket and overall quality of the judged benchmark samples; None when there are none.

    Live samples and benchmark samples without a judge score are ignored.
    """
    resolved = _benchmark_group(samples)
    if resolved is None:
        return None
    return BenchmarkQuality(_interval(resolved[0]), resolved[1])


@dataclass(frozen=True, slots=True)
class JudgedQuality:
    """An endpoint's quality from every judged source: ``overall`` (what routing uses), the
    benchmark's per-bucket qualities, and the feedback's and the live judge's own qualities
    (None without any)."""

    overall: BucketQuality
    buckets: dict[str, BucketQuality]
    feedback: BucketQuality | None
    live_judged: BucketQuality | None = None


def judged_quality(
    samples: Sequence[Sample],
    *,
    feedback_weight: float = FEEDBACK_WEIGHT,
    live_judged_weight: float = LIVE_JUDGED_WEIGHT,
) -> JudgedQuality | None:
    """Benchmark (or else live-judged-inline) quality with shadow-judged and feedback scores
    blended in; None when nothing has a score (rules in the module docstring)."""
    bench = _benchmark_group(samples)
    buckets = bench[1] if bench is not None else {}
    judged = bench[0] if bench is not None else None
    if judged is None:
        inline = _scores(s for s in samples if s.source == "live_request")
        judged = _group(inline) if inline else None
    live = _scores(s for s in samples if s.source == "live_judged")
    scored = _scores(s for s in samples if s.source == "feedback")
    live_group = _group(live) if live else None
    feedback = _group(scored) if scored else None
    parts = [
        (group, weight)
        for group, weight in (
            (judged, 1.0),
            (live_group, live_judged_weight),
            (feedback, feedback_weight),
        )
        if group is not None
    ]
    if not parts:
        return None
    overall = parts[0][0] if len(parts) == 1 else _weighted(parts)
    return JudgedQuality(
        _interval(overall),
        buckets,
        None if feedback is None else _interval(feedback),
        None if live_group is None else _interval(live_group),
    )


def _weighted(parts: Sequence[tuple[_Group, float]]) -> _Group:
    """The mean of several groups, each score of a group counting its weight."""
    weights = [weight * group.samples for group, weight in parts]
    total = math.fsum(weights)
    mean = math.fsum(w * group.mean for w, (group, _) in zip(weights, parts, strict=True)) / total
    count = sum(group.samples for group, _ in parts)
    if any(group.var_of_mean is None for group, _ in parts):
        return _Group(mean, None, count)
    var = math.fsum(
        (w / total) ** 2 * (group.var_of_mean or 0.0)
        for w, (group, _) in zip(weights, parts, strict=True)
    )
    return _Group(mean, var, count)


def _benchmark_group(samples: Iterable[Sample]) -> tuple[_Group, dict[str, BucketQuality]] | None:
    """The overall benchmark group and the per-bucket qualities; None without judged cases."""
    judged = [s for s in samples if s.source == "benchmark" and s.judge_score is not None]
    groups: list[_Group] = []
    used: list[float] = []
    buckets: dict[str, BucketQuality] = {}
    for bucket in DIFFICULTY_BUCKETS:
        resolved = _bucket_group(bucket, [s for s in judged if s.difficulty_bucket == bucket])
        if resolved is not None:
            groups.append(resolved[0])
            used.extend(resolved[1])
            buckets[bucket] = _interval(resolved[0])
    unbucketed = _scores(s for s in judged if s.difficulty_bucket is None)
    if unbucketed:
        groups.append(_group(unbucketed))
        used.extend(unbucketed)
    if not groups:
        return None
    return _combine(groups, _sample_variance(used)), buckets
