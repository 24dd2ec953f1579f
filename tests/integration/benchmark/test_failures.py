"""Failures are evidence too: a dead endpoint, a dead judge, a spend cap, an endpoint without tools."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.providers.scripted import ScriptedUpstream
from rolecall.services import Services

from .inprocess import services_for

DOWN = {"answer": "x", "fail": {"kind": "status", "status": 503}}
BIASED = json.dumps({"winner": "A", "rationale": "The first answer is always better."})
SCORE = json.dumps({"score": 0.5, "rationale": "It half matches the reference answer."})


@pytest.fixture
def upstream() -> Iterator[Any]:
    script = {
        "models": {
            "good": {"answer": "positive", "latency_ms": 5},
            "dead": DOWN,
            "dead-judge": DOWN,
            "notools": {"answer": "positive"},
            "contrarian": {"answer": "negative"},
            "biased-judge": {"answer": SCORE},
        },
        "rules": [{"model": "biased-judge", "prompt_contains": "Answer A:", "answer": BIASED}],
    }
    handle = ScriptedUpstream.start_in_thread(script)
    yield handle
    handle.stop()


@pytest.fixture
def runtime(upstream: Any, tmp_path: Path) -> Iterator[Services]:
    price = {"input_per_1m": 1000.0, "output_per_1m": 1000.0}
    inventory = {
        "providers": {
            "p": {"kind": "openai_compatible", "base_url": upstream.base_url, "local": False}
        },
        "endpoints": [
            {"provider": "p", "model": "good", "id": "good", "tools": True, "price": price},
            {"provider": "p", "model": "dead", "id": "dead", "tools": True},
            {"provider": "p", "model": "dead-judge", "id": "dead-judge", "tools": True},
            {"provider": "p", "model": "notools", "id": "notools", "tools": False},
            {"provider": "p", "model": "contrarian", "id": "contrarian"},
            {"provider": "p", "model": "biased-judge", "id": "biased-judge"},
        ],
    }
    with services_for(inventory, tmp_path) as built:
        yield built


def _suite(path: Path) -> Path:
    base = {"task": "text.classification", "source": "test", "license": "CC0-1.0", "max_tokens": 4}
    user = [{"role": "user", "content": "Sentiment of 'great'?"}]
    cases = [
        {
            **base,
            "id": f"c{i}",
            "bucket": "easy",
            "messages": user,
            "reference": "positive",
            "grader": "exact",
        }
        for i in range(4)
    ]
    cases.append(
        {
            **base,
            "id": "judged",
            "task": "text.chat",
            "bucket": "hard",
            "messages": user,
            "reference": "positive",
            "grader": "judge",
        }
    )
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    cases.append(
        {
            **base,
            "id": "tool",
            "task": "tools.function_calling",
            "bucket": "medium",
            "messages": user,
            "tools": [tool],
            "expected_tools": ["lookup"],
            "grader": "tool_calls",
        }
    )
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    return path


def test_dead_endpoint_dead_judge_and_missing_tools(runtime: Services, tmp_path: Path) -> None:
    hub = runtime.bench
    plan = hub.plan(
        "full", ["good", "dead", "notools"], "dead-judge", [_suite(tmp_path / "s.jsonl")]
    )

    async def run() -> str:
        return await hub.wait(await hub.start(plan))

    assert asyncio.run(run()) == "completed"
    results = {
        (r.endpoint_id, r.case_id): r for r in runtime.storage.benchmarks.results(plan.run_id)
    }
    assert len(results) == 18
    assert all(r.status == "failed" for (e, _), r in results.items() if e == "dead")
    assert (
        "503" in results[("dead", "c0")].detail["error"]
        or "upstream_5xx" in results[("dead", "c0")].detail["error"]
    )
    assert results[("notools", "tool")].status == "skipped"
    judged = results[("good", "judged")]
    assert judged.detail["method"] == "heuristic"  # the judge failed its probe
    assert judged.score == 1.0
    failed = runtime.storage.samples.for_endpoint("dead", source="benchmark")
    assert {s.error_class for s in failed} == {"benchmark_execution_failed"}
    assert {s.judge_score for s in failed} == {0.0}
    report = hub.report(plan.run_id)
    assert "dead" in report["recommendation"]["leave_pool"]
    assert report["endpoints"][0]["cost_per_case_usd"] > 0
    profile = runtime.storage.profiles.get("dead")
    assert profile is not None
    assert profile.failure_rate == 1.0


def test_spend_cap_skips_the_rest(runtime: Services, tmp_path: Path) -> None:
    hub = runtime.bench
    suite = _suite(tmp_path / "s.jsonl")
    plan = hub.plan("full", ["good"], None, [suite], spend_cap_usd=1e-9, concurrency=1)

    async def run() -> str:
        return await hub.wait(await hub.start(plan))

    assert asyncio.run(run()) == "completed"
    statuses = [r.status for r in runtime.storage.benchmarks.results(plan.run_id)]
    assert statuses.count("graded") == 1  # the first case spent past the cap
    assert statuses.count("skipped") == len(statuses) - 1


def test_a_position_biased_judge_is_not_asked_forever(runtime: Services, tmp_path: Path) -> None:
    base = {"task": "text.chat", "bucket": "easy", "grader": "judge", "reference": "positive"}
    cases = [
        {
            **base,
            "id": f"j{i}",
            "messages": [{"role": "user", "content": f"Mood {i}?"}],
            "source": "test",
            "license": "CC0-1.0",
            "max_tokens": 4,
        }
        for i in range(7)
    ]
    suite = tmp_path / "judged.jsonl"
    suite.write_text("".join(json.dumps(c) + "\n" for c in cases))
    hub = runtime.bench
    plan = hub.plan("full", ["good", "contrarian"], "biased-judge", [suite])

    async def run() -> str:
        return await hub.wait(await hub.start(plan))

    assert asyncio.run(run()) == "completed"
    pairs = [p.detail for p in runtime.storage.benchmarks.pairs(plan.run_id)]
    assert len(pairs) == 7
    asked = [p for p in pairs if p["judge_id"] == "judge:biased-judge"]
    assert len(asked) == 4  # four self-contradicting verdicts are enough evidence of bias
    assert all(not p["consistent"] and p["winner"] is None for p in asked)
    rest = [p for p in pairs if p["judge_id"] == "heuristic:scores"]
    assert len(rest) == 3  # decided by the graded scores (0.5 each: ties)
