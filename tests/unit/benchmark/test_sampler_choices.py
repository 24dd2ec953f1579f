"""Adaptive case choices (`rolecall.benchmark.sampler.AdaptiveSampler`): settings and candidates,
pairing and the per-run shuffle, coverage, proportional allocation, the order within a stratum
(information, flat cases last) and resume; driven by the simulated endpoints of `sampler_sim`.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter

import pytest

from rolecall.benchmark.adaptive import AdaptiveSettings, Slot
from rolecall.benchmark.sampler import AdaptiveSampler
from tests.unit.benchmark.sampler_sim import (
    ACCURACY,
    BUCKETS,
    BY_KEY,
    FULL,
    SIZES,
    SLOTS,
    TASKS,
    answers,
    drive,
    endless,
    pool_truth,
)

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


# -- pairing and the shuffle -------------------------------------------------------------------


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
