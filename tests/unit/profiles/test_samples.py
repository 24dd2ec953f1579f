"""`Sample` validation: each invalid field raises ValueError naming that field."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from rolecall.profiles import BENCHMARK_MODES, DIFFICULTY_BUCKETS, SAMPLE_SOURCES, Sample

from .builders import sample


def test_constants() -> None:
    assert SAMPLE_SOURCES == ("benchmark", "live_request", "feedback", "live_judged")
    assert DIFFICULTY_BUCKETS == ("easy", "medium", "hard")
    assert BENCHMARK_MODES == ("quick", "full", "canary")


def test_valid_sample_is_frozen_and_slotted() -> None:
    s = sample(judge_score=0.5, difficulty_bucket="hard", benchmark_mode="quick", cost_usd=0.0)
    assert s.succeeded
    assert not hasattr(s, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.latency_ms = 1.0  # type: ignore[misc]


def test_failure_is_not_success() -> None:
    assert not sample(error_class="timeout").succeeded


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("judge_score", 1.5),
        ("judge_score", -0.1),
        ("judge_score", math.nan),
        ("latency_ms", -1.0),
        ("latency_ms", math.inf),
        ("tokens_per_sec", -0.5),
        ("cold_start_ms", -3.0),
        ("cost_per_1k_tokens", -0.01),
        ("cost_usd", -1.0),
        ("cost_usd", "free"),
        ("timestamp_ms", -1),
        ("timestamp_ms", 1.5),
        ("timestamp_ms", True),
        ("source", "synthetic"),
        ("difficulty_bucket", "extreme"),
        ("benchmark_mode", "slow"),
        ("endpoint_id", ""),
        ("endpoint_version", ""),
        ("error_class", ""),
    ],
)
def test_invalid_field_is_named(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        sample(**{field: value})


def test_boundaries_are_accepted() -> None:
    for score in (0.0, 1.0):
        assert sample(judge_score=score).judge_score == score
    assert sample(latency_ms=0.0, timestamp_ms=0, cost_per_1k_tokens=0).latency_ms == 0.0
    assert sample(latency_ms=None).latency_ms is None


def test_sample_is_hashable_and_comparable() -> None:
    assert sample() == sample()
    assert len({sample(), sample(), sample(latency_ms=5.0)}) == 2
    assert isinstance(sample(), Sample)
