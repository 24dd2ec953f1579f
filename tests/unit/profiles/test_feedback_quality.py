"""Feedback scores in an endpoint's quality: blended at half weight, never a latency or failure."""

from __future__ import annotations

import pytest

from rolecall.profiles import Sample, aggregate_profile
from rolecall.profiles.quality import FEEDBACK_WEIGHT, judged_quality

NOW = 1_000_000_000


def bench(score: float, bucket: str = "medium", latency: float = 100.0) -> Sample:
    return Sample(
        "e", "v1", "benchmark", NOW - 1000, latency, judge_score=score, difficulty_bucket=bucket
    )


def feedback(score: float) -> Sample:
    return Sample("e", "v1", "feedback", NOW - 10, None, judge_score=score)


def live(latency: float, error: str | None = None) -> Sample:
    return Sample("e", "v1", "live_request", NOW - 500, latency, error_class=error)


def test_feedback_is_blended_at_its_weight() -> None:
    samples = [bench(0.8), bench(0.9), bench(1.0), bench(0.9), *(feedback(0.0) for _ in range(4))]
    judged = judged_quality(samples)
    assert judged is not None
    expected = (4 * 0.9 + FEEDBACK_WEIGHT * 4 * 0.0) / (4 + FEEDBACK_WEIGHT * 4)
    assert judged.overall.mean == pytest.approx(expected)
    assert judged.overall.samples == 8
    assert judged.feedback is not None
    assert judged.feedback.mean == 0.0
    assert judged.buckets["medium"].mean == pytest.approx(0.9)  # buckets stay the benchmark's


def test_feedback_alone_is_the_quality() -> None:
    judged = judged_quality([feedback(1.0), feedback(0.0), feedback(1.0)])
    assert judged is not None
    assert judged.overall.mean == pytest.approx(2 / 3)
    assert judged.buckets == {}
    assert 0.0 <= judged.overall.ci_low < judged.overall.mean < judged.overall.ci_high <= 1.0


def test_without_feedback_the_quality_is_the_benchmark() -> None:
    samples = [bench(0.5), bench(0.7)]
    judged = judged_quality(samples)
    assert judged is not None
    assert judged.feedback is None
    assert judged.overall.mean == pytest.approx(0.6)


def test_blended_interval_is_narrower_than_either_part_alone() -> None:
    benchmark = [bench(s) for s in (0.6, 0.7, 0.8, 0.7, 0.6, 0.8)]
    scored = [feedback(s) for s in (0.6, 0.8, 0.7, 0.7, 0.6, 0.8)]
    both, alone = judged_quality(benchmark + scored), judged_quality(benchmark)
    assert both is not None
    assert alone is not None
    assert both.overall.ci_high - both.overall.ci_low < alone.overall.ci_high - alone.overall.ci_low


def test_feedback_never_counts_as_a_request_in_latency_or_failures() -> None:
    samples = [live(100.0), live(300.0, "upstream_5xx"), feedback(1.0), feedback(1.0)]
    aggregate = aggregate_profile(samples, endpoint_id="e", endpoint_version="v1", now_ms=NOW)
    assert aggregate is not None
    profile = aggregate.profile
    assert profile.failure_rate == pytest.approx(0.5)  # 1 of the 2 requests, not 1 of 4
    assert profile.latency_ms_p50 == pytest.approx(100.0)
    assert profile.judge_score == pytest.approx(1.0)
    assert profile.sources.live_request_samples == 4
    assert aggregate.feedback_quality is not None
    assert aggregate.feedback_quality.samples == 2


def test_bad_feedback_pulls_quality_down() -> None:
    good = [bench(0.9) for _ in range(10)]
    before = aggregate_profile(good, endpoint_id="e", endpoint_version="v1", now_ms=NOW)
    after = aggregate_profile(
        good + [feedback(0.0) for _ in range(10)],
        endpoint_id="e",
        endpoint_version="v1",
        now_ms=NOW,
    )
    assert before is not None
    assert after is not None
    assert before.profile.judge_score is not None
    assert after.profile.judge_score is not None
    assert after.profile.judge_score < before.profile.judge_score - 0.2


def test_confidence_counts_a_case_graded_twice_once() -> None:
    from rolecall.profiles.aggregate import confidence_score, evidence_count

    def case(key: str) -> Sample:
        return Sample("e", "v1", "benchmark", NOW - 5, 10.0, judge_score=0.5, case_key=key)

    twice = [case(f"s/c{i}") for i in range(17)] * 2  # two quick runs over the same 17 cases
    assert evidence_count(twice) == 17
    assert evidence_count([*twice, live(5.0), feedback(1.0)]) == 19
    legacy = [Sample("e", "v1", "benchmark", NOW, 10.0, judge_score=0.5)] * 3  # no case key
    assert evidence_count(legacy) == 3
    aggregate = aggregate_profile(twice, endpoint_id="e", endpoint_version="v1", now_ms=NOW)
    assert aggregate is not None
    assert aggregate.profile.sample_size == 34
    assert aggregate.profile.confidence_score == confidence_score(17)
