"""Adaptive runs against a pool whose true ranking is known, over real HTTP.

Scripted models answer a set share of each difficulty bucket's built-in cases right (which cases,
a seeded draw) and the rest wrong; real graders grade them (no judge: open-ended cases by the
reference heuristic). The adaptive run must rank them as their full-suite scores do in far fewer
cases than the full suite, keep its budgets and coverage rules, say why each endpoint stopped,
and let a new endpoint join the measured pool without the pool answering again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.benchmark.cases import BenchCase, builtin_suites
from rolecall.providers.scripted import ScriptedUpstream
from rolecall.services import Services

from .inprocess import services_for
from .scripting import WRONG, expert_rules

CASES: list[BenchCase] = [c for s in builtin_suites() for c in s.cases]
TASK = {(s.name, c.id): c.task for s in builtin_suites() for c in s.cases}
FULL = len(CASES)
# the share of each bucket's cases a model answers right
ACCURACY = {
    "strong": {"easy": 0.95, "medium": 0.9, "hard": 0.75},
    "mid": {"easy": 0.7, "medium": 0.5, "hard": 0.3},
    "weak": {"easy": 0.3, "medium": 0.1, "hard": 0.0},
    "newcomer": {"easy": 0.85, "medium": 0.7, "hard": 0.5},
    "twin": {"easy": 0.7, "medium": 0.5, "hard": 0.3},
}


def _known(model: str) -> list[BenchCase]:
    """The cases the model answers right (a case with no reference to script — MBPP's — is
    answered wrong by everyone)."""
    draw = random.Random(f"adaptive-{model}")
    right = [c for c in CASES if draw.random() < ACCURACY[model][c.bucket]]
    return [c for c in right if c.reference or c.grader == "tool_calls"]


@pytest.fixture
def upstream() -> Iterator[Any]:
    known = {m: _known(m) for m in ACCURACY}
    known["twin"] = known["mid"]  # the same answers as mid: a tie
    script = {
        "models": {m: {"answer": WRONG} for m in ACCURACY},
        "rules": [rule for m in ACCURACY for rule in expert_rules(m, known[m])],
    }
    handle = ScriptedUpstream.start_in_thread(script)
    yield handle
    handle.stop()


@pytest.fixture
def runtime(upstream: Any, tmp_path: Path) -> Iterator[Services]:
    inventory = {
        "providers": {
            "p": {"kind": "openai_compatible", "base_url": upstream.base_url, "local": False}
        },
        "endpoints": [{"provider": "p", "model": m, "id": m, "tools": True} for m in ACCURACY],
    }
    with services_for(inventory, tmp_path) as built:
        yield built


def _runs(runtime: Services, *runs: tuple[list[str], dict[str, Any]]) -> list[dict[str, Any]]:
    """Run adaptive runs one after the other in one started runtime; their reports."""
    hub = runtime.bench

    async def go() -> list[str]:
        await runtime.start()
        done = []
        try:
            for endpoints, how in runs:
                plan = hub.plan("full", endpoints, None, concurrency=4, adaptive=True, **how)
                run_id = await hub.start(plan)
                assert await hub.wait(run_id) == "completed"
                done.append(run_id)
            return done
        finally:
            await runtime.stop()

    return [hub.report(run_id) for run_id in asyncio.run(go())]


def _run(runtime: Services, endpoints: list[str], **how: Any) -> dict[str, Any]:
    return _runs(runtime, (endpoints, how))[0]


def _requests(upstream: Any, model: str) -> int:
    return int(upstream.stats()["models"].get(model, {}).get("requests", 0))


def test_a_known_ranking_in_far_fewer_cases(runtime: Services, upstream: Any) -> None:
    report = _run(runtime, ["strong", "mid", "weak"])
    adaptive = report["adaptive"]
    entries = adaptive["endpoints"]
    used = {e: entries[e]["cases_used"] for e in entries}
    # the full suite would be 3 × 90 graded cases
    assert sum(used.values()) <= 0.5 * 3 * FULL, used
    assert all(entries[e]["cases_full"] == FULL for e in entries)
    assert all(entries[e]["stopped"] in ("separated", "settled") for e in entries), entries
    means = {e: entries[e]["estimate"]["mean"] for e in entries}
    assert means["strong"] > means["mid"] > means["weak"], means
    for entry in entries.values():  # an interval around the estimate, inside [0, 1]
        estimate = entry["estimate"]
        assert 0 <= estimate["ci_low"] <= estimate["mean"] <= estimate["ci_high"] <= 1
        assert set(entry["by_bucket"]) == {"easy", "medium", "hard"}
    # every endpoint was graded on every task and every bucket (coverage before stopping)
    for endpoint in entries:
        graded = [c for c in report["cases"] if c["endpoint_id"] == endpoint]
        assert {TASK[c["suite"], c["case_id"]] for c in graded} == set(TASK.values())
        assert {c["bucket"] for c in graded} == {"easy", "medium", "hard"}
    # each endpoint asked once per case it took, plus its preflight probe
    for endpoint in entries:
        taken = sum(1 for c in report["cases"] if c["endpoint_id"] == endpoint)
        assert _requests(upstream, endpoint) == taken + 1


def test_budget_coverage_and_pairing_of_a_tie(runtime: Services) -> None:
    report = _run(runtime, ["mid", "twin"], max_cases=12)
    entries = report["adaptive"]["endpoints"]
    assert report["adaptive"]["max_cases"] == 12
    for endpoint in ("mid", "twin"):
        # the same answers never separate: the budget ends it
        assert entries[endpoint]["cases_used"] == 12
        assert entries[endpoint]["stopped"] == "case_budget"
    by_endpoint: dict[str, set[str]] = {"mid": set(), "twin": set()}
    for case in report["cases"]:
        by_endpoint[case["endpoint_id"]].add(f"{case['suite']}/{case['case_id']}")
    assert by_endpoint["mid"] == by_endpoint["twin"]  # paired: the same cases
    graded = [c for c in report["cases"] if c["endpoint_id"] == "mid"]
    assert {TASK[c["suite"], c["case_id"]] for c in graded} == set(TASK.values())
    assert {c["bucket"] for c in graded} == {"easy", "medium", "hard"}


def test_a_new_endpoint_joins_without_the_pool_running_again(
    runtime: Services, upstream: Any
) -> None:
    pool, report = _runs(runtime, (["strong", "mid", "weak"], {}), (["newcomer"], {}))
    asked = {m: _requests(upstream, m) for m in ("strong", "mid", "weak")}
    taken = {e: v["cases_used"] + 1 for e, v in pool["adaptive"]["endpoints"].items()}
    assert asked == taken  # nobody else was asked again
    adaptive = report["adaptive"]
    assert set(adaptive["anchors"]) == {"strong", "mid", "weak", "twin"} - {"twin"}
    entry = adaptive["endpoints"]["newcomer"]
    assert entry["stopped"] in ("separated", "settled")
    assert entry["cases_used"] < FULL
    assert [e["endpoint_id"] for e in report["endpoints"]] == ["newcomer"]
