"""Adaptive case choices and stopping (`rolecall.benchmark.sampler.AdaptiveSampler`), driven by
simulated endpoints over the built-in suite's shape.

Each simulated endpoint answers a set share of each difficulty bucket's cases right (which ones:
a seeded draw). A driver asks every endpoint for its next case and records the answer until every
walk has stopped, with ``concurrency`` cases in flight per endpoint (the oldest comes back first).
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from statistics import mean

import pytest

import rolecall.benchmark
from rolecall.benchmark.adaptive import AdaptiveSettings, Slot
from rolecall.benchmark.estimates import stratified
from rolecall.benchmark.sampler import AdaptiveSampler, history_of

DATA = Path(rolecall.benchmark.__file__).parent / "data"


def _builtin_slots() -> list[Slot]:
    slots = []
    for path in sorted(DATA.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = json.loads(line)
                slots.append(Slot(f"{path.stem}/{case['id']}", case["task"], case["bucket"]))
    return slots


SLOTS = _builtin_slots()
BY_KEY = {s.key: s for s in SLOTS}
SIZES = Counter(s.stratum for s in SLOTS)
TASKS = {s.task for s in SLOTS}
BUCKETS = {s.bucket for s in SLOTS}
FULL = len(SLOTS)
# the share of each bucket's cases an endpoint answers right: suite means about .9 / .55 / .15
ACCURACY = {
    "strong": {"easy": 0.95, "medium": 0.9, "hard": 0.8},
    "mid": {"easy": 0.7, "medium": 0.55, "hard": 0.4},
    "weak": {"easy": 0.3, "medium": 0.15, "hard": 0.05},
}

Truth = Mapping[str, Mapping[str, float]]  # endpoint → case key → score
Check = Callable[[AdaptiveSampler, str, str, set[str]], None]


def answers(
    accuracy: Mapping[str, float], seed: str, slots: list[Slot] = SLOTS
) -> dict[str, float]:
    draw = random.Random(seed)
    return {s.key: float(draw.random() < accuracy[s.bucket]) for s in slots}


def drive(
    sampler: AdaptiveSampler,
    truth: Truth,
    *,
    concurrency: int = 1,
    skip: Collection[str] = (),
    limit: int | None = None,
    check: Check | None = None,
    log: list[tuple[str, str, float | None]] | None = None,
) -> dict[str, list[str]]:
    """Walk every endpoint until all have stopped; each endpoint's picks in order. In each round
    every endpoint starts cases up to ``concurrency`` in flight, then its oldest comes back
    (skipped keys as None). ``limit``: the run is killed after the round in which that many
    results came back (cases still in flight are lost). ``check`` sees every pick with the free
    cases before it; ``log`` gets every recorded result."""
    picks: dict[str, list[str]] = {e: [] for e in sampler.walks}
    replayed = {e: set(w.taken) for e, w in sampler.walks.items()}
    flying: dict[str, list[str]] = {e: [] for e in sampler.walks}
    recorded = 0
    for _ in range(100_000):
        started = False
        for endpoint, walk in sampler.walks.items():
            while len(flying[endpoint]) < concurrency:
                free = {k for k in sampler.slots if k not in walk.taken | walk.pending}
                key = sampler.next_case(endpoint)
                if key is None:
                    break
                assert key in free, f"{endpoint} was given {key} again"
                assert key in walk.pending
                # the budget counts graded cases and cases in flight, never more than it allows
                assert len(walk.scores) + len(walk.pending) <= sampler.budget
                if check is not None:
                    check(sampler, endpoint, key, free)
                flying[endpoint].append(key)
                picks[endpoint].append(key)
                started = True
        if not started and not any(flying.values()):
            break
        for endpoint, keys in flying.items():
            if keys:
                key = keys.pop(0)
                score = None if key in skip else truth[endpoint][key]
                sampler.record(endpoint, key, score)
                recorded += 1
                if log is not None:
                    log.append((endpoint, key, score))
        if limit is not None and recorded >= limit:
            return picks
    else:
        raise AssertionError("the walks did not end")
    for endpoint, walk in sampler.walks.items():
        assert walk.stopped is not None, endpoint
        assert not walk.pending
        assert len(picks[endpoint]) == len(set(picks[endpoint]))
        assert walk.taken == replayed[endpoint] | set(picks[endpoint])
    return picks


def pool_truth(seed: int) -> dict[str, dict[str, float]]:
    return {e: answers(ACCURACY[e], f"answers-{seed}-{e}") for e in ACCURACY}


def endless(seed: str) -> AdaptiveSettings:
    """Settings under which a lone endpoint walks the whole suite (it is never precise)."""
    return AdaptiveSettings(min_cases=10_000, precision=0.0, seed=seed)


# -- settings and candidates -------------------------------------------------------------------


def test_settings_round_trip_and_ignore_unknown_keys() -> None:
    settings = AdaptiveSettings(max_cases=20, min_cases=5, tie_margin=0.1, seed="run-1")
    assert AdaptiveSettings.from_dict(settings.to_dict()) == settings
    assert AdaptiveSettings.from_dict({"max_cases": 7, "from_the_future": 1}) == AdaptiveSettings(
        max_cases=7
    )
    assert AdaptiveSettings.from_dict({}) == AdaptiveSettings()


def test_a_slot_s_stratum_is_its_task_and_bucket() -> None:
    assert Slot("s/1", "code.edit", "hard").stratum == ("code.edit", "hard")


def test_the_built_in_suite_has_the_shape_the_tests_assume() -> None:
    assert len(TASKS) == 7
    assert sorted(BUCKETS) == ["easy", "hard", "medium"]
    assert FULL == len(BY_KEY) >= 60  # keys are unique


def test_a_run_needs_a_case() -> None:
    with pytest.raises(ValueError, match="at least one case"):
        AdaptiveSampler([], AdaptiveSettings(), ["a"])


def test_the_budget_is_the_cap_or_the_suite() -> None:
    assert AdaptiveSampler(SLOTS, AdaptiveSettings(), ["a"]).budget == FULL
    assert AdaptiveSampler(SLOTS, AdaptiveSettings(max_cases=12), ["a"]).budget == 12
    assert AdaptiveSampler(SLOTS, AdaptiveSettings(max_cases=10 * FULL), ["a"]).budget == FULL


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


def test_endpoints_walking_together_answer_the_same_cases() -> None:
    """With no item statistics a stratum's cases are alike, so the run's shuffle orders them the
    same for everyone: each endpoint's picks are a prefix of a longer walker's (paired)."""
    for seed in range(4):
        sampler = AdaptiveSampler(SLOTS, AdaptiveSettings(seed=f"run-{seed}"), list(ACCURACY))
        picks = drive(sampler, pool_truth(seed))
        walks = sorted(picks.values(), key=len)
        for shorter, longer in itertools.pairwise(walks):
            assert longer[: len(shorter)] == shorter
        diff = sampler.difference("strong", "weak")
        assert diff is not None
        assert diff.used == min(len(picks["strong"]), len(picks["weak"]))


def test_the_shuffle_is_per_run_and_reproducible() -> None:
    def order(seed: str) -> list[str]:
        sampler = AdaptiveSampler(SLOTS, endless(seed=seed), ["a"])
        return drive(sampler, {"a": dict.fromkeys(BY_KEY, 1.0)})["a"]

    first = order("run-a")
    assert order("run-a") == first  # the same run (a resume) orders the same
    assert len(first) == FULL
    assert order("run-b") != first  # another run another way


# -- coverage ----------------------------------------------------------------------------------


def test_every_task_then_every_bucket_comes_first() -> None:
    for seed in range(5):
        sampler = AdaptiveSampler(SLOTS, AdaptiveSettings(seed=f"run-{seed}"), list(ACCURACY))
        picks = drive(sampler, pool_truth(seed))
        for endpoint, keys in picks.items():
            assert {BY_KEY[k].task for k in keys[:7]} == TASKS, (seed, endpoint)
            assert {BY_KEY[k].bucket for k in keys[:10]} == BUCKETS, (seed, endpoint)


def test_a_verdict_waits_for_coverage() -> None:
    """Always right against always wrong separates on the first case; with min_cases 1 they still
    take a case of every task and every bucket before stopping."""
    truth = {"right": dict.fromkeys(BY_KEY, 1.0), "wrong": dict.fromkeys(BY_KEY, 0.0)}
    sampler = AdaptiveSampler(SLOTS, AdaptiveSettings(min_cases=1, seed="r"), list(truth))
    picks = drive(sampler, truth)
    for endpoint, keys in picks.items():
        assert sampler.walks[endpoint].stopped == "separated"
        assert {BY_KEY[k].task for k in keys} == TASKS
        assert {BY_KEY[k].bucket for k in keys} == BUCKETS
        # and no more: one case per task covered the buckets too (measured: 7 cases)
        assert len(keys) == len(TASKS)


def test_a_rare_bucket_is_covered_before_proportional_allocation() -> None:
    # task a: 20 medium and a single easy case; b: 20 medium; c: 10 medium
    slots = (
        [Slot(f"a/{i}", "a", "medium") for i in range(20)]
        + [Slot("a/easy", "a", "easy")]
        + [Slot(f"b/{i}", "b", "medium") for i in range(20)]
        + [Slot(f"c/{i}", "c", "medium") for i in range(10)]
    )
    for seed in ("x", "y", "z"):
        sampler = AdaptiveSampler(slots, endless(seed=seed), ["e"])
        keys = drive(sampler, {"e": dict.fromkeys((s.key for s in slots), 1.0)})["e"]
        # the largest task first, then the next (ties by name); the easy case right after them,
        # though proportional allocation would reach it (1/51 of the suite) only at the end
        assert [k.split("/")[0] for k in keys[:3]] == ["a", "b", "c"]
        assert keys[3] == "a/easy"


# -- proportional allocation -------------------------------------------------------------------


def test_after_coverage_the_sample_is_a_miniature_of_the_suite() -> None:
    worst = 0.0
    for seed in range(5):
        sampler = AdaptiveSampler(SLOTS, endless(seed=f"run-{seed}"), ["a"])
        keys = drive(sampler, {"a": answers(ACCURACY["mid"], f"p{seed}")})["a"]
        assert len(keys) == FULL
        for k in range(10, FULL + 1):
            have = Counter(BY_KEY[key].stratum for key in keys[:k])
            for stratum, size in SIZES.items():
                gap = abs(have[stratum] - size / FULL * k)
                worst = max(worst, gap)
                # within 2 of its share asked; greedy "furthest behind" keeps it within about 1
                assert gap <= 1.5, (seed, k, stratum, have[stratum], size / FULL * k)
    assert worst > 0.5  # the check is not vacuous (measured: 0.89)


# -- within a stratum --------------------------------------------------------------------------


def test_flat_cases_go_last_within_their_stratum() -> None:
    # one stratum; the flat cases are the most informative, and still last
    slots = [
        Slot(f"s/{i}", "t", "medium", 0.0, 3.0 if i % 2 else 0.5, flat=bool(i % 2))
        for i in range(8)
    ]
    for seed in ("a", "b", "c", "d"):
        sampler = AdaptiveSampler(slots, endless(seed=seed), ["e"])
        keys = drive(sampler, {"e": dict.fromkeys((s.key for s in slots), 1.0)})["e"]
        assert [int(k.split("/")[1]) % 2 for k in keys] == [0] * 4 + [1] * 4


def test_flat_cases_go_last_in_the_built_in_suite() -> None:
    flat = {s.key for i, s in enumerate(SLOTS) if i % 3 == 0}
    slots = [Slot(s.key, s.task, s.bucket, flat=s.key in flat) for s in SLOTS]
    seen = Counter[bool]()

    def check(sampler: AdaptiveSampler, endpoint: str, key: str, free: set[str]) -> None:
        stratum = sampler.slots[key].stratum
        if sampler.slots[key].flat:
            left = [k for k in free if sampler.slots[k].stratum == stratum]
            assert all(sampler.slots[k].flat for k in left), (endpoint, key)
        seen[sampler.slots[key].flat] += 1

    for seed in range(3):
        sampler = AdaptiveSampler(slots, AdaptiveSettings(seed=f"run-{seed}"), list(ACCURACY))
        drive(sampler, pool_truth(seed), check=check)
        lone = AdaptiveSampler(slots, endless(seed=f"run-{seed}"), ["mid"])
        drive(lone, pool_truth(seed), check=check)
    assert seen[True] > 0  # flat cases were taken (in the full walks)


def test_the_most_informative_case_at_the_endpoint_s_ability_comes_first() -> None:
    # one stratum: an easy, a middling and a hard case (2PL difficulties), equally discriminating
    slots = [Slot(f"s/{b}", "t", "medium", float(b), 1.0) for b in (-3, 0, 3)]
    for right, then in ((1.0, "s/3"), (0.0, "s/-3")):
        sampler = AdaptiveSampler(slots, endless(seed="x"), ["e"])
        first = sampler.next_case("e")
        assert first == "s/0"  # at the prior ability 0
        sampler.record("e", first, right)
        assert sampler.ability("e") * (1 if right else -1) > 0.2
        # right: the ability moved up, the hard case is the informative one; wrong: the easy one
        assert sampler.next_case("e") == then


# -- budgets and stopping ----------------------------------------------------------------------


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


# -- resume ------------------------------------------------------------------------------------


def test_a_resume_goes_on_exactly_where_the_run_was() -> None:
    for seed, cut in ((0, 6), (1, 20), (2, 40)):
        truth = pool_truth(seed)
        settings = AdaptiveSettings(seed=f"run-{seed}")
        whole = AdaptiveSampler(SLOTS, settings, list(ACCURACY))
        uninterrupted = drive(whole, truth)

        log: list[tuple[str, str, float | None]] = []
        killed = AdaptiveSampler(SLOTS, settings, list(ACCURACY))
        before = drive(killed, truth, limit=cut, log=log)
        resumed = AdaptiveSampler(SLOTS, settings, list(ACCURACY))
        for endpoint, key, score in log:  # the stored results, replayed
            resumed.record(endpoint, key, score)
        after = drive(resumed, truth)
        assert any(after.values())  # killed mid-run (measured: 38, 41 and 66 cases in all)
        for endpoint in ACCURACY:
            assert not set(before[endpoint]) & set(after[endpoint])
            assert before[endpoint] + after[endpoint] == uninterrupted[endpoint]
            assert resumed.walks[endpoint].stopped == whole.walks[endpoint].stopped


def test_a_resume_from_results_in_any_order_never_repeats_a_case() -> None:
    for seed, cut in ((3, 10), (4, 25)):
        truth = pool_truth(seed)
        settings = AdaptiveSettings(seed=f"run-{seed}")
        log: list[tuple[str, str, float | None]] = []
        skip = {s.key for i, s in enumerate(SLOTS) if i % 9 == 0}
        # killed with cases in flight: those were never recorded and may be asked again
        drive(
            AdaptiveSampler(SLOTS, settings, list(ACCURACY)),
            truth,
            concurrency=4,
            skip=skip,
            limit=cut,
            log=log,
        )
        random.Random(seed).shuffle(log)
        resumed = AdaptiveSampler(SLOTS, settings, list(ACCURACY))
        for endpoint, key, score in log:
            resumed.record(endpoint, key, score)
        taken = {e: {k for f, k, _ in log if f == e} for e in ACCURACY}
        after = drive(resumed, truth, concurrency=4, skip=skip)
        for endpoint in ACCURACY:
            assert not taken[endpoint] & set(after[endpoint])
            assert resumed.walks[endpoint].stopped == "separated"
            assert len(resumed.walks[endpoint].taken) == len(taken[endpoint]) + len(after[endpoint])
        means = {e: est.mean for e in ACCURACY if (est := resumed.estimate(e)) is not None}
        assert means["strong"] > means["mid"] > means["weak"]


def test_a_resume_of_a_finished_run_asks_nothing() -> None:
    truth = pool_truth(0)
    settings = AdaptiveSettings(seed="run-0")
    log: list[tuple[str, str, float | None]] = []
    first = AdaptiveSampler(SLOTS, settings, list(ACCURACY))
    drive(first, truth, log=log)
    again = AdaptiveSampler(SLOTS, settings, list(ACCURACY))
    for endpoint, key, score in log:
        again.record(endpoint, key, score)
    assert all(again.next_case(e) is None for e in ACCURACY)
    outcome = again.outcome()
    assert {e: o["stopped"] for e, o in outcome.items()} == {
        e: o["stopped"] for e, o in first.outcome().items()
    }
    assert math.isclose(
        outcome["mid"]["estimate"]["mean"], first.outcome()["mid"]["estimate"]["mean"]
    )


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
