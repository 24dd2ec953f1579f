"""Per-difficulty benchmark quality: full over quick, hardBlend, case weighting, 95% intervals."""

from __future__ import annotations

import math

import pytest

from rolecall.profiles import (
    BucketQuality,
    Sample,
    aggregate_profile,
    benchmark_quality,
    score_quality,
)

from .builders import ENDPOINT, NOW, VERSION, bench, sample

Z = 1.96


def _bq(mean: float, var_of_mean: float | None, n: int) -> BucketQuality:
    if var_of_mean is None:
        return BucketQuality(mean, 0.0, 1.0, n)
    half = Z * math.sqrt(var_of_mean)
    return BucketQuality(mean, max(0.0, mean - half), min(1.0, mean + half), n)


def _assert_close(actual: BucketQuality, expected: BucketQuality) -> None:
    assert actual.samples == expected.samples
    assert (actual.mean, actual.ci_low, actual.ci_high) == pytest.approx(
        (expected.mean, expected.ci_low, expected.ci_high)
    )


def _suite() -> list[Sample]:
    return [
        # easy: full [0.8, 0.6] is preferred over quick [0.2]
        bench(0.8, difficulty_bucket="easy", benchmark_mode="full"),
        bench(0.6, difficulty_bucket="easy", benchmark_mode="full"),
        bench(0.2, difficulty_bucket="easy", benchmark_mode="quick"),
        # medium: quick only
        bench(0.4, difficulty_bucket="medium", benchmark_mode="quick"),
        # hard: full [0.9, 0.7] (mean 0.8) and quick [0.3, 0.5] (mean 0.4) blend to 0.6
        bench(0.9, difficulty_bucket="hard", benchmark_mode="full"),
        bench(0.7, difficulty_bucket="hard", benchmark_mode="full"),
        bench(0.3, difficulty_bucket="hard", benchmark_mode="quick"),
        bench(0.5, difficulty_bucket="hard", benchmark_mode="quick"),
    ]


def test_buckets_prefer_full_and_blend_hard() -> None:
    quality = benchmark_quality(_suite())
    assert quality is not None
    assert list(quality.buckets) == ["easy", "medium", "hard"]
    _assert_close(quality.buckets["easy"], _bq(0.7, 0.02 / 2, 2))
    _assert_close(quality.buckets["medium"], _bq(0.4, None, 1))
    # hardBlend SE² = (SE_full² + SE_quick²) / 4 = (0.01 + 0.01) / 4
    _assert_close(quality.buckets["hard"], _bq(0.6, 0.005, 4))
    # overall = (0.7·2 + 0.4·1 + 0.6·4) / 7
    assert quality.overall.mean == pytest.approx(4.2 / 7)
    assert quality.overall.samples == 7


def test_overall_is_profile_judge_score_and_unbucketed_join() -> None:
    samples = [*_suite(), bench(1.0), sample(judge_score=0.0)]
    result = aggregate_profile(samples, endpoint_id=ENDPOINT, endpoint_version=VERSION, now_ms=NOW)
    assert result is not None
    assert result.profile.judge_score == pytest.approx((4.2 + 1.0) / 8)
    assert result.profile.quality_score == result.profile.judge_score
    assert result.quality_interval is not None
    assert result.quality_interval.samples == 8
    assert set(result.bucket_quality) == {"easy", "medium", "hard"}


@pytest.mark.parametrize(
    ("first", "rest", "expected"),
    [
        ("full", "full", 0.6),  # one mode only: plain mean of 0.2, 0.8, 0.8
        ("quick", "quick", 0.6),
        ("full", "quick", 0.5),  # hardBlend: (0.2 + 0.8) / 2
        (None, "quick", 0.5),  # an unset mode counts as full
    ],
)
def test_hard_bucket_blends_only_when_both_modes_exist(
    first: str | None, rest: str, expected: float
) -> None:
    samples = [
        bench(0.2, difficulty_bucket="hard", benchmark_mode=first),
        bench(0.8, difficulty_bucket="hard", benchmark_mode=rest),
        bench(0.8, difficulty_bucket="hard", benchmark_mode=rest),
    ]
    quality = benchmark_quality(samples)
    assert quality is not None
    assert quality.buckets["hard"].mean == pytest.approx(expected)
    assert quality.buckets["hard"].samples == 3


def test_unset_mode_counts_as_full() -> None:
    samples = [
        bench(0.9, difficulty_bucket="easy", benchmark_mode=None),
        bench(0.1, difficulty_bucket="easy", benchmark_mode="quick"),
    ]
    quality = benchmark_quality(samples)
    assert quality is not None
    _assert_close(quality.buckets["easy"], _bq(0.9, None, 1))


def test_hard_blend_with_a_single_part_score_has_full_range_interval() -> None:
    samples = [
        bench(0.9, difficulty_bucket="hard", benchmark_mode="full"),
        bench(0.7, difficulty_bucket="hard", benchmark_mode="full"),
        bench(0.3, difficulty_bucket="hard", benchmark_mode="quick"),
    ]
    quality = benchmark_quality(samples)
    assert quality is not None
    _assert_close(quality.buckets["hard"], _bq(0.55, None, 3))


def test_overall_interval_is_stratified() -> None:
    samples = [
        bench(0.6, difficulty_bucket="easy"),
        bench(0.8, difficulty_bucket="easy"),
        bench(0.2, difficulty_bucket="medium"),
        bench(0.4, difficulty_bucket="medium"),
    ]
    quality = benchmark_quality(samples)
    assert quality is not None
    # SE² = (2/4)²·0.01 + (2/4)²·0.01
    _assert_close(quality.overall, _bq(0.5, 0.005, 4))


def test_singleton_bucket_borrows_the_pooled_variance() -> None:
    samples = [
        bench(0.6, difficulty_bucket="easy"),
        bench(0.8, difficulty_bucket="easy"),
        bench(0.2, difficulty_bucket="medium"),
    ]
    quality = benchmark_quality(samples)
    assert quality is not None
    mean = 1.6 / 3
    pooled = ((0.6 - mean) ** 2 + (0.8 - mean) ** 2 + (0.2 - mean) ** 2) / 2
    var = (2 / 3) ** 2 * (0.02 / 2) + (1 / 3) ** 2 * pooled
    _assert_close(quality.overall, _bq(mean, var, 3))
    _assert_close(quality.buckets["medium"], _bq(0.2, None, 1))


def test_score_quality_intervals() -> None:
    _assert_close(score_quality([0.6, 0.8]), BucketQuality(0.7, 0.504, 0.896, 2))
    _assert_close(score_quality([0.5]), BucketQuality(0.5, 0.0, 1.0, 1))
    _assert_close(score_quality([0.5, 0.5, 0.5]), BucketQuality(0.5, 0.5, 0.5, 3))
    # mean 2/3, s² = 1/3, SE = 1/3: the upper bound 2/3 + 0.653 is clamped to 1.
    _assert_close(score_quality([1.0, 1.0, 0.0]), BucketQuality(2 / 3, 2 / 3 - Z / 3, 1.0, 3))
    with pytest.raises(ValueError, match="scores"):
        score_quality([])


def test_live_and_unjudged_samples_are_not_benchmark_quality() -> None:
    samples = [sample(judge_score=0.9, difficulty_bucket="hard"), bench(0.0, judge_score=None)]
    assert benchmark_quality(samples) is None
