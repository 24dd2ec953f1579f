"""Stratified suite estimates (`rolecall.benchmark.estimates`): a full sample is the suite mean
exactly, strata are weighted by their share of the suite with a finite-population correction, a
stratum nobody was graded in borrows the others' mean and the prior's variance, a lone score does
not claim certainty, and intervals stay inside the scores' range."""

from __future__ import annotations

import math

import pytest

from rolecall.benchmark.estimates import (
    DIFFERENCE_PRIOR_VAR,
    SCORE_PRIOR_VAR,
    Z_95,
    Estimate,
    stratified,
)


def test_a_full_sample_is_the_suite_mean_exactly() -> None:
    sizes = {("code", "easy"): 2, ("chat", "hard"): 3}
    values = [
        (("code", "easy"), 1.0),
        (("code", "easy"), 0.0),
        (("chat", "hard"), 1.0),
        (("chat", "hard"), 1.0),
        (("chat", "hard"), 0.0),
    ]
    est = stratified(values, sizes)
    assert est is not None
    assert est.mean == pytest.approx(3 / 5)  # the plain mean of all five cases
    assert est.se == 0.0  # every stratum graded in full: measured, not estimated
    assert (est.used, est.total) == (5, 5)
    assert est.interval() == pytest.approx((0.6, 0.6))


def test_strata_are_weighted_by_their_share_of_the_suite() -> None:
    # x is a quarter of the suite, y three quarters; the sample over-represents x
    sizes = {"x": 10, "y": 30}
    values = [("x", 1.0), ("x", 0.0), ("y", 1.0), ("y", 1.0), ("y", 0.0)]
    est = stratified(values, sizes)
    assert est is not None
    assert est.mean == pytest.approx(0.25 * 0.5 + 0.75 * (2 / 3))  # 0.625, not the raw 0.6
    # per stratum: (squared deviations + one pseudo-observation of the prior) / (n - 1 + 1),
    # then the mean's variance with the finite-population correction (1 - n / size)
    var_x = (2 * 0.5**2 + SCORE_PRIOR_VAR) / 2
    var_y = (2 * (1 / 3) ** 2 + (2 / 3) ** 2 + SCORE_PRIOR_VAR) / 3
    expected = 0.25**2 * var_x / 2 * (1 - 2 / 10) + 0.75**2 * var_y / 3 * (1 - 3 / 30)
    assert est.se == pytest.approx(math.sqrt(expected))  # 0.24686
    assert est.se == pytest.approx(0.2468552207)
    assert (est.used, est.total) == (5, 40)


def test_an_uncovered_stratum_takes_the_covered_mean_and_the_prior_variance() -> None:
    # x graded in full (known exactly), y not at all: y takes x's mean and the prior in full
    est = stratified([("x", 1.0), ("x", 0.0)], {"x": 2, "y": 2})
    assert est is not None
    assert est.mean == pytest.approx(0.5)
    assert est.se == pytest.approx(math.sqrt(0.5**2 * SCORE_PRIOR_VAR))  # 0.25
    assert (est.used, est.total) == (2, 4)
    # a difference's prior is wider
    diff = stratified([("x", 1.0), ("x", 0.0)], {"x": 2, "y": 2}, prior_var=DIFFERENCE_PRIOR_VAR)
    assert diff is not None
    assert diff.se == pytest.approx(math.sqrt(0.25 * DIFFERENCE_PRIOR_VAR))


def test_the_fill_for_an_uncovered_stratum_is_the_size_weighted_covered_mean() -> None:
    # x (2 cases, all right) and y (6 cases, half right) graded in full; z (2 cases) not at all
    values = [("x", 1.0), ("x", 1.0)] + [("y", float(i % 2)) for i in range(6)]
    est = stratified(values, {"x": 2, "y": 6, "z": 2})
    assert est is not None
    fill = (2 * 1.0 + 6 * 0.5) / 8  # 0.625, not the plain mean of the strata's means (0.75)
    assert est.mean == pytest.approx(0.2 * 1.0 + 0.6 * 0.5 + 0.2 * fill)
    assert est.se == pytest.approx(0.2 * math.sqrt(SCORE_PRIOR_VAR))  # z's share × prior sd


def test_one_score_per_stratum_does_not_claim_certainty() -> None:
    est = stratified([("x", 1.0), ("y", 1.0)], {"x": 5, "y": 5})
    assert est is not None
    assert est.mean == pytest.approx(1.0)
    assert est.se > 0
    # one score: the stratum's variance is the prior's; n = 1 of 5 → correction 4/5
    assert est.se == pytest.approx(math.sqrt(2 * 0.5**2 * SCORE_PRIOR_VAR * (1 - 1 / 5)))
    low, high = est.interval()
    assert low < 1.0
    assert high == 1.0


def test_two_identical_scores_do_not_claim_certainty_either() -> None:
    est = stratified([("x", 0.0), ("x", 0.0)], {"x": 10})
    assert est is not None
    assert est.mean == 0.0
    # no spread, but the prior's pseudo-observation: (0 + 0.25) / 2, then / n × (1 - 2/10)
    assert est.se == pytest.approx(math.sqrt(SCORE_PRIOR_VAR / 2 / 2 * 0.8))
    # more identical scores narrow it
    more = stratified([("x", 0.0)] * 6, {"x": 10})
    assert more is not None
    assert 0 < more.se < est.se


def test_a_stratum_of_one_case_graded_is_known_exactly() -> None:
    est = stratified([("x", 0.7)], {"x": 1})
    assert est == Estimate(0.7, 0.0, 1, 1)


def test_more_scores_than_cases_count_once_per_case() -> None:
    est = stratified([("x", 1.0), ("x", 1.0), ("x", 1.0)], {"x": 2})
    assert est is not None
    assert est.used == 2
    assert est.se == 0.0


def test_empty_strata_carry_no_weight() -> None:
    est = stratified([("x", 1.0), ("x", 0.0)], {"x": 2, "gone": 0})
    assert est is not None
    assert est.mean == pytest.approx(0.5)
    assert est.se == 0.0
    assert est.total == 2


def test_differences_may_be_negative() -> None:
    values = [("x", -1.0), ("x", 0.0), ("y", -1.0)]
    est = stratified(values, {"x": 4, "y": 4}, prior_var=DIFFERENCE_PRIOR_VAR)
    assert est is not None
    assert est.mean == pytest.approx(0.5 * -0.5 + 0.5 * -1.0)
    low, high = est.interval(low=-1.0, high=1.0)
    assert (low, high) == pytest.approx((-1.0, est.mean + Z_95 * est.se))  # clamped at -1


def test_an_unknown_stratum_is_an_error() -> None:
    with pytest.raises(ValueError, match="not in the suite"):
        stratified([("x", 1.0), ("nowhere", 1.0)], {"x": 3})


@pytest.mark.parametrize("values", [[], iter(())])
def test_no_values_no_estimate(values: list[tuple[str, float]]) -> None:
    assert stratified(values, {"x": 3}) is None


def test_interval_and_half_width() -> None:
    est = Estimate(0.5, 0.1, 10, 90)
    assert est.half_width() == pytest.approx(Z_95 * 0.1)
    assert est.half_width(2.576) == pytest.approx(0.2576)
    low, high = est.interval()
    assert (low, high) == pytest.approx((0.5 - 0.196, 0.5 + 0.196))
    assert est.interval(1.0) == pytest.approx((0.4, 0.6))


def test_the_interval_is_clamped_to_the_scores_range() -> None:
    assert Estimate(0.95, 0.1, 5, 10).interval() == pytest.approx((0.754, 1.0))
    assert Estimate(0.02, 0.05, 5, 10).interval() == pytest.approx((0.0, 0.118))
    assert Estimate(0.5, 10.0, 1, 10).interval() == (0.0, 1.0)
    assert Estimate(-0.3, 0.5, 5, 10).interval(low=-1.0) == pytest.approx((-1.0, 0.68))


def test_to_dict_rounds_and_clamps() -> None:
    assert Estimate(0.987654, 0.0456789, 12, 90).to_dict() == {
        "mean": 0.9877,
        "ci_low": 0.8981,  # 0.987654 - 1.96 × 0.0456789 = 0.898124...
        "ci_high": 1.0,  # clamped
        "se": 0.0457,
        "cases_used": 12,
        "cases_total": 90,
    }
    low = Estimate(0.01, 0.2, 3, 90).to_dict()
    assert low["ci_low"] == 0.0
    assert low["ci_high"] == pytest.approx(0.402)


def test_an_unsampled_stratum_does_not_make_the_estimate_more_certain() -> None:
    values = [("a", 1.0), ("a", 0.0)]
    alone = stratified(values, {"a": 100})
    halved = stratified(values, {"a": 100, "b": 100})  # b: another 100 cases nobody answered
    assert alone is not None
    assert halved is not None
    assert halved.mean == pytest.approx(alone.mean)  # b takes a's mean: the estimate is a's
    # so it is at least as uncertain as a's own mean (today: 0.329 < 0.429)
    assert halved.se >= alone.se
