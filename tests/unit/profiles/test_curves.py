"""Freshness, confidence and percentile curves against hand-computed values (and numpy)."""

from __future__ import annotations

import importlib
import importlib.util
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rolecall.profiles import (
    CONFIDENCE_SATURATION_SAMPLES,
    FRESHNESS_HALF_LIFE_MS,
    confidence_score,
    freshness_score,
    percentile,
)

from .builders import DAY_MS

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


def test_constants() -> None:
    assert FRESHNESS_HALF_LIFE_MS == 7 * DAY_MS
    assert CONFIDENCE_SATURATION_SAMPLES == 50


@pytest.mark.parametrize(
    ("age_ms", "expected"),
    [(0, 1.0), (7 * DAY_MS, 0.5), (14 * DAY_MS, 0.25), (-DAY_MS, 1.0)],
)
def test_freshness_halves_every_seven_days(age_ms: int, expected: float) -> None:
    assert freshness_score(age_ms) == pytest.approx(expected)


def test_freshness_rejects_bad_half_life() -> None:
    with pytest.raises(ValueError, match="half_life_ms"):
        freshness_score(1, half_life_ms=0)


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, 0.0), (1, math.log(2) / math.log(51)), (50, 1.0), (100, 1.0), (-3, 0.0)],
)
def test_confidence_saturates_at_fifty(n: int, expected: float) -> None:
    assert confidence_score(n) == pytest.approx(expected)


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=10_000))
def test_confidence_is_monotone(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert 0.0 <= confidence_score(low) <= confidence_score(high) <= 1.0


@given(st.floats(0, 1e12), st.floats(0, 1e12))
def test_freshness_is_monotone_decreasing(a: float, b: float) -> None:
    young, old = sorted((a, b))
    assert 1.0 >= freshness_score(young) >= freshness_score(old) >= 0.0


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([100, 200, 300, 400, 500], 50, 300.0),
        ([100, 200, 300, 400, 500], 95, 480.0),
        ([500, 100, 400, 200, 300], 95, 480.0),
        (list(range(1, 11)), 50, 5.5),
        (list(range(1, 11)), 95, 9.55),
        ([1, 2, 3, 4], 25, 1.75),
        ([7], 95, 7.0),
        ([3, 9], 0, 3.0),
        ([3, 9], 100, 9.0),
    ],
)
def test_percentile_hand_computed(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_of_integers_is_a_float() -> None:
    assert isinstance(percentile([3, 1, 2], 100), float)
    assert isinstance(percentile([3, 1, 2], 50), float)


def test_percentile_rejects_empty_and_bad_q() -> None:
    with pytest.raises(ValueError, match="values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="q"):
        percentile([1.0], 101)


@given(st.lists(finite, min_size=1, max_size=40), st.floats(0, 100), st.floats(0, 100))
def test_percentile_is_bounded_and_monotone_in_q(values: list[float], a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert min(values) <= percentile(values, low) <= percentile(values, high) <= max(values)


@pytest.mark.skipif(importlib.util.find_spec("numpy") is None, reason="numpy is not installed")
# latency-like magnitudes: far from zero, numpy and this lerp round differently in the last bits;
# no deadline: the first example pays numpy's import, which under load exceeds hypothesis's 200 ms
@settings(deadline=None)
@given(st.lists(st.floats(0, 1e7), min_size=1, max_size=40), st.floats(0, 100))
def test_percentile_matches_numpy_linear(values: list[float], q: float) -> None:
    np = importlib.import_module("numpy")

    expected = float(np.percentile(np.asarray(values, dtype=float), q, method="linear"))
    assert percentile(values, q) == pytest.approx(expected, rel=1e-9, abs=1e-6)
