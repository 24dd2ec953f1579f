"""Item statistics (2PL IRT): a pool with known abilities and cases is recovered, abilities rank
endpoints from a subset of cases with an honest standard error, and the priors keep a small
pool's fit finite (a case everyone passes, one nobody was graded on)."""

from __future__ import annotations

import numpy as np
import pytest

from rolecall.benchmark.items import ability, expected_score, fit_items, information


def _pool(seed: int = 0, cases: int = 400, endpoints: int = 9) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    theta = np.linspace(-1.5, 1.5, endpoints)
    b = rng.normal(0.0, 1.2, cases)
    a = np.exp(rng.normal(0.0, 0.4, cases))
    p = 1 / (1 + np.exp(-a[:, None] * (theta[None, :] - b[:, None])))
    return (rng.random((cases, endpoints)) < p).astype(float), theta, b, a


def test_a_known_pool_is_recovered() -> None:
    scores, theta, b, _ = _pool()
    items, fitted = fit_items(scores)
    assert np.corrcoef(fitted, theta)[0, 1] > 0.97
    # the order the full suite's means give (neighbours 0.375 apart can swap in the data)
    assert np.argsort(fitted).tolist() == np.argsort(scores.mean(axis=0)).tolist()
    assert np.corrcoef(items.difficulty, b)[0, 1] > 0.7
    assert items.n == 400
    assert np.all(items.graded == 9)
    assert np.all(items.discrimination > 0)


def test_ability_from_a_subset_ranks_endpoints_and_its_error_shrinks() -> None:
    scores, _, _, _ = _pool(seed=1, endpoints=5)  # abilities 0.75 apart
    items, _ = fit_items(scores)
    rng = np.random.default_rng(2)
    few, many = rng.choice(400, 20, replace=False), rng.choice(400, 200, replace=False)
    estimates = [ability(scores[many, j], items.subset(many)) for j in range(5)]
    assert [e.theta for e in estimates] == sorted(e.theta for e in estimates)
    low = ability(scores[few, 2], items.subset(few))
    assert low.se > estimates[2].se > 0
    predicted = np.array([expected_score(e.theta, items) for e in estimates])
    assert np.max(np.abs(predicted - scores.mean(axis=0))) < 0.1


def test_cases_that_never_separate_are_flagged_and_stay_finite() -> None:
    scores, _, _, _ = _pool(seed=3, cases=50)
    scores[0] = 1.0  # everyone passes
    scores[1] = 0.0  # everyone fails
    scores[2] = np.nan  # nobody graded
    scores[3, 1:] = np.nan  # one grade only
    items, fitted = fit_items(scores)
    assert items.flat[:4].tolist() == [True, True, True, True]
    assert not items.flat[4:].all()
    assert items.difficulty[0] < items.difficulty[1]
    assert np.all(np.isfinite(items.difficulty))
    assert np.all(np.isfinite(fitted))
    assert items.graded[2] == 0
    assert items.graded[3] == 1


def test_information_peaks_where_a_case_is_as_likely_passed_as_failed() -> None:
    scores, _, _, _ = _pool(seed=4, cases=60)
    items, _ = fit_items(scores)
    case = int(np.argmax(items.discrimination))
    at = float(items.difficulty[case])
    info = [information(theta, items)[case] for theta in (at - 2, at, at + 2)]
    assert info[1] > info[0]
    assert info[1] > info[2]
    assert info[1] == pytest.approx(items.discrimination[case] ** 2 / 4)


def test_judge_scores_count_as_soft_outcomes_and_bad_input_is_refused() -> None:
    soft = np.array([[0.9, 0.2], [0.7, 0.1], [0.8, 0.4]])
    _, fitted = fit_items(soft)
    assert fitted[0] > fitted[1]
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        fit_items(np.array([[1.5, 0.0]]))
    with pytest.raises(ValueError, match="cases × endpoints"):
        fit_items(np.array([0.5, 0.5]))
