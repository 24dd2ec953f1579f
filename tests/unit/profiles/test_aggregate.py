"""`aggregate_profile` field by field against hand-computed values."""

from __future__ import annotations

import math

import pytest

from rolecall.profiles import ProfileAggregate, Sample, aggregate_profile, partition_samples
from rolecall.protocol import ObservedPerformanceProfile
from rolecall.protocol.validation import validate_artifact

from .builders import DAY_MS, ENDPOINT, NOW, VERSION, bench, sample


def _aggregate(samples: list[Sample], now_ms: int = NOW, **kwargs: str) -> ProfileAggregate:
    result = aggregate_profile(
        samples, endpoint_id=ENDPOINT, endpoint_version=VERSION, now_ms=now_ms, **kwargs
    )
    assert result is not None
    return result


def _live_mix() -> list[Sample]:
    return [
        sample(latency_ms=100.0, timestamp_ms=NOW - 4 * DAY_MS, tokens_per_sec=10.0),
        sample(latency_ms=500.0, timestamp_ms=NOW - 3 * DAY_MS, tokens_per_sec=30.0),
        sample(latency_ms=300.0, timestamp_ms=NOW - 2 * DAY_MS, tokens_per_sec=20.0),
        sample(latency_ms=200.0, timestamp_ms=NOW - 1 * DAY_MS, cold_start_ms=50.0),
        sample(latency_ms=400.0, timestamp_ms=NOW, cold_start_ms=150.0, cost_per_1k_tokens=0.3),
        sample(latency_ms=9000.0, error_class="timeout", cost_per_1k_tokens=0.1),
        sample(latency_ms=None, error_class="rate_limited", cost_per_1k_tokens=0.2),
    ]


def test_live_mix_every_field() -> None:
    profile = _aggregate(_live_mix()).profile
    assert profile.endpoint_id == ENDPOINT
    assert profile.endpoint_version == VERSION
    assert profile.measured_at_ms == NOW
    assert profile.measurement_window.started_at_ms == NOW - 4 * DAY_MS
    assert profile.measurement_window.ended_at_ms == NOW
    assert profile.sample_size == 7
    assert (profile.sources.benchmark_samples, profile.sources.live_request_samples) == (0, 7)
    # Successful latencies 100..500: p50 = 300, p95 at index 3.8 = 400 + 0.8 * 100.
    assert profile.latency_ms_p50 == pytest.approx(300.0)
    assert profile.latency_ms_p95 == pytest.approx(480.0)
    assert profile.tokens_per_sec == pytest.approx(20.0)
    assert profile.cold_start_ms == pytest.approx(100.0)
    assert profile.cost_per_1k_tokens_est == pytest.approx(0.2)
    assert profile.currency == "USD"
    assert profile.failure_rate == pytest.approx(2 / 7)
    assert profile.error_class_rates == pytest.approx({"rate_limited": 1 / 7, "timeout": 1 / 7})
    assert profile.freshness_score == pytest.approx(1.0)
    assert profile.confidence_score == pytest.approx(math.log1p(7) / math.log1p(50))
    assert profile.judge_score is None
    assert profile.quality_score is None


def test_freshness_follows_newest_sample_age() -> None:
    samples = [sample(timestamp_ms=NOW - 30 * DAY_MS), sample(timestamp_ms=NOW)]
    assert _aggregate(samples, now_ms=NOW + 7 * DAY_MS).profile.freshness_score == pytest.approx(
        0.5
    )
    assert _aggregate(samples, now_ms=NOW + 14 * DAY_MS).profile.freshness_score == pytest.approx(
        0.25
    )


def test_optional_fields_are_omitted_when_unmeasured() -> None:
    artifact = _aggregate([sample()]).profile.to_artifact()
    for absent in (
        "judge_score",
        "quality_score",
        "tokens_per_sec",
        "cold_start_ms",
        "cost_per_1k_tokens_est",
        "currency",
        "error_class_rates",
    ):
        assert absent not in artifact
    assert artifact["failure_rate"] == 0.0
    validate_artifact("observed-performance-profile", artifact)


def test_cost_usd_alone_sets_no_currency() -> None:
    profile = _aggregate([sample(cost_usd=0.02)]).profile
    assert profile.cost_per_1k_tokens_est is None
    assert profile.currency is None


def test_all_failed_uses_every_latency() -> None:
    samples = [
        sample(latency_ms=100.0, error_class="timeout"),
        sample(latency_ms=300.0, error_class="server_error"),
    ]
    profile = _aggregate(samples).profile
    assert profile.latency_ms_p50 == pytest.approx(200.0)
    assert profile.latency_ms_p95 == pytest.approx(290.0)
    assert profile.failure_rate == 1.0
    assert profile.error_class_rates == {"server_error": 0.5, "timeout": 0.5}


def test_failed_latencies_are_ignored_while_a_success_has_one() -> None:
    samples = [sample(latency_ms=50.0), sample(latency_ms=5000.0, error_class="timeout")]
    profile = _aggregate(samples).profile
    assert (profile.latency_ms_p50, profile.latency_ms_p95) == (50.0, 50.0)


def test_no_latency_at_all_gives_zero() -> None:
    samples = [sample(latency_ms=None), sample(latency_ms=None, error_class="refused")]
    profile = _aggregate(samples).profile
    assert (profile.latency_ms_p50, profile.latency_ms_p95) == (0.0, 0.0)
    validate_artifact("observed-performance-profile", profile.to_artifact())


def test_judge_score_is_benchmark_mean_and_ignores_live_judging() -> None:
    samples = [bench(0.8), bench(0.6), sample(judge_score=0.1), bench(0.0, judge_score=None)]
    result = _aggregate(samples)
    assert result.profile.judge_score == pytest.approx(0.7)
    assert result.profile.quality_score == result.profile.judge_score
    assert result.profile.sources.benchmark_samples == 3
    assert result.quality_interval is not None
    assert result.quality_interval.samples == 2
    assert result.bucket_quality == {}


def test_live_judge_scores_count_without_benchmark_scores() -> None:
    samples = [sample(judge_score=0.4), sample(judge_score=0.6), bench(0.0, judge_score=None)]
    result = _aggregate(samples)
    assert result.profile.judge_score == pytest.approx(0.5)
    assert result.quality_interval is not None
    assert result.quality_interval.samples == 2


def test_benchmark_execution_failure_scores_zero() -> None:
    samples = [bench(1.0), bench(0.0, error_class="benchmark_execution_failed")]
    profile = _aggregate(samples).profile
    assert profile.judge_score == pytest.approx(0.5)
    assert profile.failure_rate == 0.5


def test_foreign_samples_are_ignored_and_counted() -> None:
    samples = [
        sample(latency_ms=100.0),
        sample(endpoint_id="remote.other", latency_ms=9000.0, error_class="timeout"),
        sample(endpoint_version="v2", latency_ms=9000.0),
    ]
    result = _aggregate(samples)
    assert result.foreign_samples == 2
    assert result.profile.sample_size == 1
    assert result.profile.latency_ms_p95 == 100.0
    assert result.profile.failure_rate == 0.0


def test_only_foreign_samples_give_none() -> None:
    samples = [sample(endpoint_id="remote.other")]
    assert (
        aggregate_profile(samples, endpoint_id=ENDPOINT, endpoint_version=VERSION, now_ms=NOW)
        is None
    )
    assert aggregate_profile([], endpoint_id=ENDPOINT, endpoint_version=VERSION, now_ms=NOW) is None


def test_stale_benchmark_samples_are_excluded_live_never() -> None:
    samples = [
        bench(0.2, membership_revision="old"),
        bench(0.4, membership_revision=None),
        bench(0.9, membership_revision="cur"),
        sample(membership_revision="old", judge_score=0.0),
    ]
    result = _aggregate(samples, membership_revision="cur")
    assert result.stale_samples == 2
    assert result.profile.sample_size == 2
    assert result.profile.sources.benchmark_samples == 1
    assert result.profile.sources.live_request_samples == 1
    assert result.profile.judge_score == pytest.approx(0.9)


def test_without_revision_nothing_is_stale() -> None:
    samples = [bench(0.2, membership_revision="old"), bench(0.4)]
    result = _aggregate(samples)
    assert result.stale_samples == 0
    assert result.profile.sample_size == 2


def test_all_stale_gives_none_but_partition_keeps_counts() -> None:
    samples = [bench(0.2, membership_revision="old"), sample(endpoint_id="x")]
    kwargs = {"endpoint_id": ENDPOINT, "endpoint_version": VERSION, "membership_revision": "cur"}
    assert aggregate_profile(samples, now_ms=NOW, **kwargs) is None
    partition = partition_samples(samples, **kwargs)
    assert (partition.stale_samples, partition.foreign_samples, partition.usable) == (1, 1, ())


def test_negative_clock_is_rejected() -> None:
    with pytest.raises(ValueError, match="now_ms"):
        aggregate_profile([sample()], endpoint_id=ENDPOINT, endpoint_version=VERSION, now_ms=-1)


def test_future_samples_count_as_fresh() -> None:
    profile = _aggregate([sample(timestamp_ms=NOW + DAY_MS)]).profile
    assert profile.freshness_score == 1.0


def test_profile_is_the_protocol_model() -> None:
    assert isinstance(_aggregate(_live_mix()).profile, ObservedPerformanceProfile)
    validate_artifact("observed-performance-profile", _aggregate(_live_mix()).profile.to_artifact())
