"""Simulated endpoints over the built-in suite's shape, shared by the adaptive sampler's tests
(`test_sampler_choices`, `test_sampler_stops`).

Each simulated endpoint answers a set share of each difficulty bucket's cases right (which ones:
a seeded draw). A driver asks every endpoint for its next case and records the answer until every
walk has stopped, with ``concurrency`` cases in flight per endpoint (the oldest comes back first).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

import rolecall.benchmark
from rolecall.benchmark.adaptive import AdaptiveSettings, Slot
from rolecall.benchmark.sampler import AdaptiveSampler

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
