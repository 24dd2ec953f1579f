"""Adaptive stopping (`rolecall.benchmark.sampler.AdaptiveSampler`): a known ranking, budgets and
the stopping rules, stop() from outside, anchors and history, partners that stopped, required
precision; driven by the simulated endpoints of `sampler_sim`.
"""

from __future__ import annotations

import random
from statistics import mean

import pytest

from rolecall.benchmark.adaptive import AdaptiveSettings
from rolecall.benchmark.estimates import stratified
from rolecall.benchmark.sampler import AdaptiveSampler, history_of
from tests.unit.benchmark.sampler_sim import (
    ACCURACY,
    BY_KEY,
    FULL,
    SIZES,
    SLOTS,
    answers,
    drive,
    pool_truth,
)

# -- a known ranking ---------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_clear_ranking_is_found_in_far_fewer_cases_than_the_suite(concurrency: int) -> None:
    used = []
    for seed in range(8):
        truth = pool_truth(seed)
        full = {e: mean(truth[e].values()) for e in truth}
        assert full["strong"] > full["mid"] > full["weak"]  # the suite's own ranking
        sampler = AdaptiveSampler(SLOTS, AdaptiveSettings(seed=f"run-{seed}"), list(ACCURACY))
        picks = drive(sampler, truth, concurrency=concurrency)
        estimates = {e: sampler.estimate(e) for e in ACCURACY}
        means = {e: est.mean for e, est in estimates.items() if est is not None}
        assert means["strong"] > means["mid"] > means["weak"], (seed, means)
        outcome = sampler.outcome()
        assert {o["stopped"] for o in outcome.values()} == {"separated"}, (seed, outcome)
        for endpoint, entry in outcome.items():
            assert entry["cases"] == entry["graded"] == len(picks[endpoint])
            assert entry["cases"] >= sampler.settings.min_cases
            est = entry["estimate"]
            assert 0 <= est["ci_low"] <= est["mean"] <= est["ci_high"] <= 1
            assert est["cases_total"] == FULL
        used.append(sum(len(p) for p in picks.values()))
    # measured, share of the 3 × 90 cases: concurrency 1: mean 23%, worst run 45% (over 100
    # seeds: 22%, 51%); concurrency 4 (cases in flight when the verdict came are answered too):
    # mean 33%, worst 50% (over 100 seeds: 27%, 55%)
    assert max(used) <= 0.6 * 3 * FULL, used
    assert mean(used) <= 0.4 * 3 * FULL, used


# -- budgets and stopping ----------------------------------------------------------------------


def test_the_budget_is_the_cap_or_the_suite() -> None:
    assert AdaptiveSampler(SLOTS, AdaptiveSettings(), ["a"]).budget == FULL
    assert AdaptiveSampler(SLOTS, AdaptiveSettings(max_cases=12), ["a"]).budget == 12
    assert AdaptiveSampler(SLOTS, AdaptiveSettings(max_cases=10 * FULL), ["a"]).budget == FULL


@pytest.mark.parametrize("concurrency", [1, 4])
def test_twins_never_separate_and_stop_on_the_budget_having_answered_the_same(
    concurrency: int,
) -> None:
    same = answers(ACCURACY["mid"], "twin")
    sampler = AdaptiveSampler(SLOTS, AdaptiveSettings(max_cases=12, seed="r"), ["mid", "twin"])
    picks = drive(sampler, {"mid": same, "twin": same}, concurrency=concurrency)
    for endpoint in ("mid", "twin"):
        assert sampler.walks[endpoint].stopped == "case_budget"
        assert len(picks[endpoint]) == 12
        assert sampler.outcome()[endpoint]["graded"] == 12
    assert picks["mid"] == picks["twin"]  # paired: the same cases, in the same order
    diff = sampler.difference("mid", "twin")
    assert diff is not None
    assert (diff.mean, diff.used) == (0.0, 12)


def test_twins_with_no_budget_tie() -> None:
    same = answers(ACCURACY["mid"], "twin")
    sampler = AdaptiveSampler(SLOTS, AdaptiveSettings(seed="r"), ["mid", "twin"])
    picks = drive(sampler, {"mid": same, "twin": same})
    assert {w.stopped for w in sampler.walks.values()} == {"tied"}
    assert picks["mid"] == picks["twin"]
    assert len(picks["mid"]) < FULL  # measured: 71 of 90
    diff = sampler.difference("mid", "twin")
    assert diff is not None
    assert diff.half_width(sampler.settings.z_stop) <= sampler.settings.tie_margin


def test_the_budget_is_never_exceeded_in_a_pool() -> None:
    for seed in range(4):
        settings = AdaptiveSettings(max_cases=10, seed=f"run-{seed}")
        sampler = AdaptiveSampler(SLOTS, settings, list(ACCURACY))
        picks = drive(sampler, pool_truth(seed), concurrency=3)  # the driver checks every pick
        for endpoint, keys in picks.items():
            # ten cases cannot separate this pool at z 2.576 (measured: none did)
            assert sampler.walks[endpoint].stopped == "case_budget"
            assert len(keys) == 10


def test_skipped_cases_cost_none_of_the_budget() -> None:
    same = answers(ACCURACY["mid"], "twin")
    skip = {s.key for i, s in enumerate(SLOTS) if i % 4 == 0}
    sampler = AdaptiveSampler(SLOTS, AdaptiveSettings(max_cases=12, seed="r"), ["mid", "twin"])
    picks = drive(sampler, {"mid": same, "twin": same}, skip=skip)
    for endpoint, keys in picks.items():
        skipped = [k for k in keys if k in skip]
        assert skipped  # some were skipped…
        assert len(keys) == 12 + len(skipped)  # …and the walk went on for as many more
        walk = sampler.walks[endpoint]
        assert walk.stopped == "case_budget"
        assert len(walk.scores) == 12
        assert not set(walk.scores) & skip
        entry = sampler.outcome()[endpoint]
        assert (entry["cases"], entry["graded"]) == (len(keys), 12)


def test_a_failed_case_counts_as_a_zero() -> None:
    sampler = AdaptiveSampler(SLOTS, AdaptiveSettings(max_cases=2, seed="r"), ["a"])
    first = sampler.next_case("a")
    assert first is not None
    sampler.record("a", first, 0.0)
    assert sampler.walks["a"].scores == {first: 0.0}
    second = sampler.next_case("a")
    assert second is not None
    sampler.record("a", second, 7.0)  # clamped into [0, 1]
    assert sampler.walks["a"].scores[second] == 1.0
    assert sampler.next_case("a") is None
    assert sampler.walks["a"].stopped == "case_budget"


def test_a_lone_endpoint_stops_once_precise() -> None:
    for seed in range(4):
        settings = AdaptiveSettings(seed=f"run-{seed}")
        sampler = AdaptiveSampler(SLOTS, settings, ["alone"])
        truth = {"alone": answers(ACCURACY["mid"], f"lone-{seed}")}
        keys = drive(sampler, truth)["alone"]
        assert sampler.walks["alone"].stopped == "precise"
        est = sampler.estimate("alone")
        assert est is not None
        assert est.half_width() <= settings.precision  # its 95% interval
        # and not a case later than it had to: one case fewer was not precise
        before = stratified(
            ((BY_KEY[k].stratum, truth["alone"][k]) for k in keys[:-1]), dict(SIZES)
        )
        assert before is not None
        assert before.half_width() > settings.precision
        assert settings.min_cases < len(keys) < FULL


def test_a_lone_endpoint_that_can_never_be_precise_walks_the_suite() -> None:
    sampler = AdaptiveSampler(SLOTS, AdaptiveSettings(precision=0.0, seed="r"), ["alone"])
    keys = drive(sampler, {"alone": answers(ACCURACY["mid"], "lone")})["alone"]
    assert sampler.walks["alone"].stopped == "exhausted"
    assert sorted(keys) == sorted(BY_KEY)
    est = sampler.estimate("alone")
    assert est is not None
    assert est.se == 0.0  # measured, not estimated
    assert est.mean == pytest.approx(mean(answers(ACCURACY["mid"], "lone").values()))


def test_a_lone_endpoint_needs_min_cases_and_coverage_even_when_precise() -> None:
    settings = AdaptiveSettings(precision=1.0, min_cases=9, seed="r")
    sampler = AdaptiveSampler(SLOTS, settings, ["alone"])
    keys = drive(sampler, {"alone": answers(ACCURACY["mid"], "lone")})["alone"]
    assert sampler.walks["alone"].stopped == "precise"
    assert len(keys) == 9


def test_a_budget_past_the_suite_ends_as_exhausted() -> None:
    slots = SLOTS[:12]
    sampler = AdaptiveSampler(slots, AdaptiveSettings(max_cases=50, precision=0.0), ["a"])
    keys = drive(sampler, {"a": dict.fromkeys(BY_KEY, 0.5)})["a"]
    assert len(keys) == 12
    assert sampler.walks["a"].stopped == "exhausted"


def test_cases_in_flight_hold_the_verdict() -> None:
    """Settled evidence with a case still in flight: nothing new starts, but the walk has not
    stopped until the case comes back."""
    truth = {"right": dict.fromkeys(BY_KEY, 1.0), "wrong": dict.fromkeys(BY_KEY, 0.0)}
    sampler = AdaptiveSampler(SLOTS, AdaptiveSettings(min_cases=1, seed="r"), list(truth))
    flying: dict[str, list[str]] = {"right": [], "wrong": []}
    # both start 8 cases at once: coverage takes 7, the verdict is open until they come back
    for endpoint in truth:
        while len(flying[endpoint]) < 8 and (key := sampler.next_case(endpoint)) is not None:
            flying[endpoint].append(key)
    assert [len(v) for v in flying.values()] == [8, 8]
    for endpoint in truth:
        for key in flying[endpoint][:7]:
            sampler.record(endpoint, key, truth[endpoint][key])
    # separated already, with one case each still in flight
    assert sampler.pair_state("right", "wrong") == "separated"
    assert sampler.next_case("right") is None
    assert sampler.walks["right"].stopped is None
    sampler.record("right", flying["right"][7], 1.0)
    assert sampler.next_case("right") is None
    assert sampler.walks["right"].stopped == "separated"


# -- from outside ------------------------------------------------------------------------------


def test_stop_from_outside_ends_a_walk() -> None:
    sampler = AdaptiveSampler(SLOTS, AdaptiveSettings(seed="r"), ["a", "b"])
    key = sampler.next_case("a")
    assert key is not None
    sampler.stop("a", "spend_cap")
    assert sampler.next_case("a") is None
    sampler.record("a", key, 1.0)  # the case in flight still counts
    assert sampler.next_case("a") is None
    sampler.stop("a", "preflight")  # the first reason stands
    entry = sampler.outcome()["a"]
    assert entry["stopped"] == "spend_cap"
    assert (entry["cases"], entry["graded"]) == (1, 1)
    assert entry["estimate"] is not None
    # the other endpoint walks on, and a walk stopped before it started has no estimate
    assert sampler.next_case("b") is not None
    sampler.stop("b", "spend_cap")
    assert sampler.next_case("b") is None
    assert sampler.outcome()["b"]["stopped"] == "spend_cap"
    assert sampler.outcome()["b"]["estimate"] is None


# -- anchors -----------------------------------------------------------------------------------


def test_a_newcomer_is_placed_against_anchors_without_them_walking() -> None:
    used = []
    for seed in range(5):
        truth = pool_truth(seed)
        anchors = {"strong": truth["strong"], "weak": truth["weak"]}
        sampler = AdaptiveSampler(SLOTS, AdaptiveSettings(seed=f"run-{seed}"), ["mid"], anchors)
        assert set(sampler.walks) == {"mid"}
        picks = drive(sampler, {"mid": truth["mid"]})
        assert set(picks) == {"mid"}  # the anchors never walk
        assert set(sampler.outcome()) == {"mid"}
        assert sampler.walks["mid"].stopped == "separated"
        assert sampler.partners("mid") == ["strong", "weak"]
        for anchor in anchors:
            assert sampler.pair_state("mid", anchor) == "separated"
        low, high = sampler.estimate("weak"), sampler.estimate("strong")
        own = sampler.estimate("mid")
        assert low is not None
        assert high is not None
        assert own is not None
        assert low.mean < own.mean < high.mean
        assert (low.se, high.se) == (0.0, 0.0)  # stored in full
        used.append(len(picks["mid"]))
    # measured: 14-53 of 90, mean 29 (over 100 seeds: mean 25, worst 65)
    assert max(used) <= 0.75 * FULL, used
    assert mean(used) <= 0.4 * FULL, used


def test_an_anchor_that_is_also_walking_is_not_an_anchor() -> None:
    stored = dict.fromkeys(BY_KEY, 1.0)
    sampler = AdaptiveSampler(SLOTS, AdaptiveSettings(), ["a", "b"], {"a": stored, "c": stored})
    assert set(sampler.anchors) == {"c"}
    assert set(sampler.walks) == {"a", "b"}
    assert sampler.partners("a") == ["b", "c"]


def test_a_newcomer_takes_the_cases_an_anchor_has_scores_on_first() -> None:
    # the anchor was graded on every other case of each stratum (at least one per stratum)
    scored: set[str] = set()
    for stratum in SIZES:
        keys = [s.key for s in SLOTS if s.stratum == stratum]
        scored.update(keys[::2])
    for seed in range(3):
        truth = pool_truth(seed)
        anchors = {"strong": {k: v for k, v in truth["strong"].items() if k in scored}}
        sampler = AdaptiveSampler(SLOTS, AdaptiveSettings(seed=f"run-{seed}"), ["mid"], anchors)
        picks = drive(sampler, {"mid": truth["mid"]})["mid"]
        assert sampler.walks["mid"].stopped == "separated"  # measured: after 29-32 cases
        assert set(picks) <= scored  # 52 of the 90: not by chance
        diff = sampler.difference("mid", "strong")
        assert diff is not None
        assert diff.used == len(picks)  # every case paired


def test_against_history_an_endpoint_is_compared_with_its_own_stored_scores_only() -> None:
    truth = pool_truth(0)
    anchors = {
        history_of("changed"): truth["strong"],
        history_of("same"): truth["mid"],
        "someone": truth["weak"],  # stored, but nobody's history
    }
    settings = AdaptiveSettings(seed="canary", against="history")
    sampler = AdaptiveSampler(SLOTS, settings, ["changed", "same", "new"], anchors)
    assert sampler.partners("changed") == [history_of("changed")]
    assert sampler.partners("new") == []  # no history: alone
    picks = drive(sampler, {"changed": truth["weak"], "same": truth["mid"], "new": truth["mid"]})
    # measured: 14, 71 and 56 cases (other seeds: 8, 71, 54-62)
    assert sampler.walks["changed"].stopped == "separated"
    assert len(picks["changed"]) <= FULL // 3
    assert sampler.walks["same"].stopped == "tied"
    assert sampler.walks["new"].stopped == "precise"


# -- partners and precision --------------------------------------------------------------------


def test_a_partner_that_stopped_with_nothing_is_no_partner() -> None:
    """b failed its preflight before answering anything: a is measured as if alone (precision),
    not stopped as 'settled' against a partner it can never be compared with."""
    sampler = AdaptiveSampler(SLOTS, AdaptiveSettings(seed="r"), ["a", "b"])
    sampler.stop("b", "preflight")
    draw = random.Random(3)
    while (key := sampler.next_case("a")) is not None:
        sampler.record("a", key, float(draw.random() < 0.5))
    assert sampler.partners("a") == []
    assert sampler.walks["a"].stopped in ("precise", "exhausted")
    assert len(sampler.walks["a"].scores) > AdaptiveSettings().min_cases


def test_require_precision_holds_a_settled_ranking_until_the_estimates_are_precise() -> None:
    """strong and weak separate within a few cases; with require_precision each also walks
    until its own 95% interval is within ±precision."""
    truth = {e: answers(ACCURACY[e], f"req-{e}") for e in ("strong", "weak")}
    ranking = AdaptiveSampler(SLOTS, AdaptiveSettings(seed="q"), list(truth))
    drive(ranking, truth)
    settings = AdaptiveSettings(seed="q", precision=0.15, require_precision=True)
    precise = AdaptiveSampler(SLOTS, settings, list(truth))
    drive(precise, truth)
    for endpoint in truth:
        assert precise.walks[endpoint].stopped == "separated"
        estimate = precise.estimate(endpoint)
        assert estimate is not None
        assert estimate.half_width() <= 0.15
        assert len(precise.walks[endpoint].scores) >= len(ranking.walks[endpoint].scores)
    assert sum(len(w.scores) for w in precise.walks.values()) > sum(
        len(w.scores) for w in ranking.walks.values()
    )
