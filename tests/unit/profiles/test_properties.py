"""Property tests of `aggregate_profile`: bounds, bookkeeping, schema validity, order invariance."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from rolecall.profiles import ProfileAggregate, Sample, aggregate_profile
from rolecall.protocol.validation import validate_artifact

from .builders import ENDPOINT, NOW, VERSION

optional_number = st.none() | st.floats(min_value=0, max_value=1e6, allow_nan=False)

samples_strategy = st.lists(
    st.builds(
        Sample,
        endpoint_id=st.sampled_from([ENDPOINT, ENDPOINT, ENDPOINT, "remote.other"]),
        endpoint_version=st.sampled_from([VERSION, VERSION, VERSION, "v0"]),
        source=st.sampled_from(["benchmark", "live_request"]),
        timestamp_ms=st.integers(min_value=0, max_value=2 * NOW),
        latency_ms=optional_number,
        tokens_per_sec=optional_number,
        cold_start_ms=optional_number,
        cost_per_1k_tokens=optional_number,
        cost_usd=optional_number,
        judge_score=st.none() | st.floats(min_value=0, max_value=1),
        error_class=st.none() | st.sampled_from(["timeout", "server_error", "rate_limited"]),
        difficulty_bucket=st.none() | st.sampled_from(["easy", "medium", "hard"]),
        membership_revision=st.none() | st.sampled_from(["cur", "old"]),
        benchmark_mode=st.none() | st.sampled_from(["quick", "full"]),
    ),
    max_size=40,
)
revision_strategy = st.none() | st.just("cur")


def _aggregate(samples: list[Sample], revision: str | None) -> ProfileAggregate | None:
    return aggregate_profile(
        samples,
        endpoint_id=ENDPOINT,
        endpoint_version=VERSION,
        now_ms=NOW,
        membership_revision=revision,
    )


@settings(max_examples=200)
@given(samples_strategy, revision_strategy)
def test_profile_invariants(samples: list[Sample], revision: str | None) -> None:
    result = _aggregate(samples, revision)
    if result is None:
        return
    profile = result.profile
    assert profile.latency_ms_p50 <= profile.latency_ms_p95
    assert 0.0 <= profile.failure_rate <= 1.0
    assert 0.0 <= profile.freshness_score <= 1.0
    assert 0.0 <= profile.confidence_score <= 1.0
    rates = profile.error_class_rates or {}
    assert all(0.0 < rate <= 1.0 for rate in rates.values())
    assert abs(sum(rates.values()) - profile.failure_rate) < 1e-9
    sources = profile.sources
    assert sources.benchmark_samples + sources.live_request_samples == profile.sample_size
    assert profile.sample_size + result.stale_samples + result.foreign_samples == len(samples)
    assert profile.measurement_window.started_at_ms <= profile.measurement_window.ended_at_ms
    validate_artifact("observed-performance-profile", profile.to_artifact())


@settings(max_examples=200)
@given(samples_strategy, revision_strategy)
def test_quality_intervals_contain_their_means(samples: list[Sample], revision: str | None) -> None:
    result = _aggregate(samples, revision)
    if result is None or result.quality_interval is None:
        return
    assert result.profile.judge_score == result.quality_interval.mean
    assert result.profile.quality_score == result.profile.judge_score
    for quality in [result.quality_interval, *result.bucket_quality.values()]:
        assert 0.0 <= quality.ci_low <= quality.mean <= quality.ci_high <= 1.0
        assert quality.samples >= 1


@settings(max_examples=200)
@given(samples_strategy, revision_strategy, st.randoms(use_true_random=False))
def test_order_invariance(samples: list[Sample], revision: str | None, rng: random.Random) -> None:
    shuffled = list(samples)
    rng.shuffle(shuffled)
    assert _aggregate(shuffled, revision) == _aggregate(samples, revision)
