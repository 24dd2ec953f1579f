"""Every router-evaluation metric against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rolecall.learned import metrics as mt

# 4 prompts × 3 candidates; model means 0.5, 0.5, 0.25; oracle 0.75; random 5/12
Y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]], dtype=float)
CHOICE = np.array([0, 1, 2, 0])


def test_routereval_scores() -> None:
    assert mt.mu_o(Y, CHOICE) == pytest.approx(0.5)  # 1 + 1 + 0 + 0
    assert mt.oracle_mu(Y) == pytest.approx(0.75)
    assert mt.random_mu(Y) == pytest.approx(5 / 12)
    assert mt.r_o_mu(Y, 0.5) == pytest.approx(0.5 * 0.75 + 0.5 * 5 / 12)
    assert mt.v_b(0.5, Y) == pytest.approx(1.0)  # best single on test is 0.5
    assert mt.v_r(0.5, 0.8) == pytest.approx(0.625)
    assert mt.best_single_index(Y) == 0  # ties: the lowest index
    assert mt.v_b_train(0.5, Y, 2) == pytest.approx(2.0)  # the train pick scores 0.25 on test


def test_v_r_rejects_a_zero_reference() -> None:
    with pytest.raises(ValueError, match="reference_accuracy"):
        mt.v_r(0.5, 0.0)


def test_e_p_is_the_mean_per_prompt_entropy_in_bits() -> None:
    probs = np.array([[1, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3], [0.25, 0.25, 0.5]])
    expected = (0 + 1 + math.log2(3) + 1.5) / 4
    assert mt.selection_entropy(probs) == pytest.approx(expected)
    # not the entropy of the selection histogram: these picks are spread, the vectors are sure
    assert mt.selection_entropy(np.eye(3)) == 0.0
    assert mt.choice_entropy(np.array([0, 1, 2]), 3) == pytest.approx(math.log2(3))
    assert mt.choice_entropy(np.array([0, 0, 1, 1]), 3) == pytest.approx(1.0)


def test_r_o_probabilities() -> None:
    p1 = mt.r_o_probabilities(Y, 1.0)
    np.testing.assert_allclose(p1[0], [0.5, 0, 0.5])
    np.testing.assert_allclose(p1[3], [1 / 3, 1 / 3, 1 / 3])  # nobody right: uniform
    p_half = mt.r_o_probabilities(Y, 0.5)
    np.testing.assert_allclose(p_half[1], [1 / 6, 0.5 + 1 / 6, 1 / 6])


def test_gain_and_gap_closed() -> None:
    assert mt.gain_over_best(0.6, 0.5) == pytest.approx(0.1)
    assert mt.gap_closed(0.6, 0.5, 0.75) == pytest.approx(0.4)
    assert math.isnan(mt.gap_closed(0.6, 0.5, 0.5))


STRONG = np.array([1, 1, 0, 1], dtype=float)
WEAK = np.array([0, 1, 0, 0], dtype=float)
WIN = np.array([0.9, 0.1, 0.5, 0.3])


def test_threshold_curve_apgr_and_cpt() -> None:
    # 2 quantile bins: thresholds 0.1 (all strong), 0.4 (prompts 0 and 2), 0.9 (prompt 0)
    curve = mt.threshold_curve(WIN, STRONG, WEAK, num_results=2)
    np.testing.assert_allclose(curve.strong_percent, [0, 25, 50, 100])
    np.testing.assert_allclose(curve.score, [0.25, 0.5, 0.5, 0.75])
    # AUC = 0.25·0.375 + 0.25·0.5 + 0.5·0.625 = 0.53125; APGR = (0.53125 − 0.25) / 0.5
    assert mt.apgr(curve) == pytest.approx(0.5625)
    assert mt.cpt(curve, 0.5) == pytest.approx(25.0)
    assert mt.cpt(curve, 0.8) == pytest.approx(80.0)  # 50 + 0.6 · 50
    np.testing.assert_allclose(curve.pgr(), [0, 0.5, 0.5, 1.0])


def test_random_scores_give_apgr_near_one_half() -> None:
    rng = np.random.default_rng(1)
    strong = (rng.random(20_000) < 0.8).astype(float)
    weak = (rng.random(20_000) < 0.6).astype(float)
    curve = mt.threshold_curve(rng.random(20_000), strong, weak)
    assert mt.apgr(curve) == pytest.approx(0.5, abs=0.03)


def test_optimal_curve() -> None:
    # wins (strong right, weak wrong) on prompts 0 and 3
    out = mt.optimal_curve(STRONG, WEAK, [0, 25, 50, 100])
    np.testing.assert_allclose(out, [0.25, 0.5, 0.75, 0.75])


POINTS = np.array([[1, 0.2], [2, 0.5], [3, 0.55], [4, 0.9], [5, 0.85]])


def test_nondecreasing_convex_hull() -> None:
    # (3, .55) lies under the segment (2, .5)–(4, .9); (5, .85) costs more for less
    np.testing.assert_allclose(mt.nondecreasing_hull(POINTS), [[1, 0.2], [2, 0.5], [4, 0.9]])


def test_aiq_and_zero_router() -> None:
    # area 0.35 + 1.4 + 0.9 = 2.65 over the cost range [1, 5]
    assert mt.aiq(POINTS, 1.0, 5.0) == pytest.approx(2.65 / 4)
    assert mt.zero_router_aiq(POINTS) == pytest.approx(2.65 / 4)
    # below the cheapest reachable point nothing is bought
    assert mt.aiq(np.array([[2.0, 0.5]]), 1.0, 3.0) == pytest.approx(0.5 * 1 / 2, abs=1e-3)
    with pytest.raises(ValueError, match="cost_max"):
        mt.aiq(POINTS, 2.0, 2.0)


def test_cost_quality_curve_follows_willingness_to_pay() -> None:
    predicted = np.array([[0.9, 0.5], [0.2, 0.6]])
    model_cost = np.array([1.0, 0.1])
    scores = np.array([[1.0, 0.0], [0.0, 1.0]])
    costs = np.array([[1.0, 0.1], [1.0, 0.1]])
    curve = mt.cost_quality_curve(predicted, model_cost, scores, costs, [0.01, 10.0])
    # λ = 0.01: always the cheap model → cost 0.1, score 0.5; λ = 10: the better predicted one
    np.testing.assert_allclose(curve, [[0.1, 0.5], [0.55, 1.0]])


def test_calibration_error_tells_a_calibrated_router_from_an_overconfident_one() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, (4000, 3))
    y = (rng.random((4000, 3)) < p).astype(float)  # outcomes drawn at the predicted rates
    assert mt.calibration_error(p, y) < 0.02
    sure = np.where(p > 0.5, 1.0, 0.0)  # the same ranking, claimed with certainty
    assert mt.calibration_error(sure, y) > 0.2
    assert mt.calibration_error(np.full((2, 2), 0.5), np.array([[1.0, 0.0], [0.0, 1.0]])) == 0.0
