"""What the Benchmark page is told, through the real API (issue #19, deliverable 6).

A real gateway on loopback (both databases) over scripted upstreams: "no judge" judges nothing,
a judge that is also a candidate is reported as self-grading, confidence rests on distinct cases,
a run on one endpoint leaves the other endpoints' cards and the pool-wide advice intact, a running
benchmark can be cancelled (and shows elapsed time and an ETA meanwhile), and a run's detail lists
every case with the reason a skipped one has no score.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.benchmark.cases import builtin_suites
from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.gateway.harness import ADMIN_TOKEN, Gateway, openai_provider

from .scripting import JUDGE_DEFAULT, WRONG, expert_rules, judge_rules

QUICK = [c for s in builtin_suites() for c in s.quick_cases]
JUDGED = [c for c in QUICK if c.grader == "judge"]
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def upstream() -> Iterator[Any]:
    script = {
        "models": {
            "judge": {"answer": JUDGE_DEFAULT},
            "expert": {"answer": WRONG, "latency_ms": 20},
            "guesser": {"answer": WRONG, "latency_ms": 5},
            "slow": {"answer": WRONG, "latency_ms": 1500},
        },
        "rules": expert_rules("expert", QUICK) + judge_rules("judge", QUICK),
    }
    handle = ScriptedUpstream.start_in_thread(script)
    yield handle
    handle.stop()


@pytest.fixture
def gateway(upstream: Any, db_url: str, tmp_path: Path) -> Iterator[Gateway]:
    # the judge comes first: it is the default judge (the first enabled remote endpoint)
    endpoints = [
        {"provider": "p", "model": "judge", "id": "ep-judge"},
        {"provider": "p", "model": "expert", "id": "ep-expert", "tools": True},
        {"provider": "p", "model": "guesser", "id": "ep-guesser", "tools": False},
        {"provider": "p", "model": "slow", "id": "ep-slow"},
    ]
    inventory = {
        "providers": {"p": openai_provider(upstream.base_url, local=False)},
        "endpoints": endpoints,
    }
    with Gateway(inventory, db_url, tmp_path) as gw:
        yield gw


def _run(gw: Gateway, body: dict[str, Any]) -> dict[str, Any]:
    """Start a run (fixed: these pages are about the quick subset), wait for it to end and
    return its report."""
    body = {"adaptive": False, **body}
    status, started = gw.raw("/api/bench/runs", json.dumps(body).encode(), ADMIN)
    assert status == 202, started
    run_id = started["run_id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        _, progress = gw.admin(f"/api/bench/runs/{run_id}/progress")
        if progress["status"] not in ("running", "cancelling"):
            break
        time.sleep(0.1)
    status, report = gw.admin(f"/api/bench/runs/{run_id}")
    assert status == 200
    return report  # type: ignore[no-any-return]


def test_no_judge_judges_nothing_and_the_default_judge_is_named(gateway: Gateway) -> None:
    gw = gateway
    graders_only = _run(gw, {"mode": "quick", "endpoints": ["ep-expert"], "judge": None})
    assert graders_only["judge"] is None
    facts = graders_only["judge_facts"]
    assert facts["judged_cases"] == 0
    assert facts["heuristic_cases"] == len(JUDGED)
    assert not [c for c in graders_only["cases"] if c["method"] == "judge"]

    defaulted = _run(gw, {"mode": "quick", "endpoints": ["ep-expert"]})
    assert defaulted["judge"] == "ep-judge"
    assert defaulted["judge_facts"]["judged_cases"] == len(JUDGED)
    assert defaulted["judge_facts"]["overlap"] is False


def test_a_judge_that_is_also_a_candidate_is_marked_self_grading(gateway: Gateway) -> None:
    body = {
        "mode": "quick",
        "endpoints": ["ep-expert", "ep-judge"],
        "judge": "ep-judge",
        "adaptive": False,
    }
    report = _run(gateway, body)
    facts = report["judge_facts"]
    assert facts["endpoint_id"] == "ep-judge"
    assert facts["overlap"] is True
    assert facts["self_graded_cases"] == len(JUDGED)
    # its own answers and the expert's were both judged and heuristically scored: bias is measured
    assert isinstance(facts["score_bias"], float)
    own = [c for c in report["cases"] if c["endpoint_id"] == "ep-judge" and c["method"] == "judge"]
    assert own
    assert all(c["self_graded"] for c in own)
    assert report["pairwise"]
    assert all("winner" in p for p in report["pairwise"])


def test_cards_keep_their_latest_evidence_and_advice_covers_the_pool(gateway: Gateway) -> None:
    gw = gateway
    first = _run(gw, {"mode": "quick", "endpoints": ["ep-expert", "ep-guesser"], "judge": None})
    second = _run(gw, {"mode": "quick", "endpoints": ["ep-guesser"], "judge": None})
    third = _run(gw, {"mode": "quick", "endpoints": ["ep-guesser"], "judge": None})
    status, summary = gw.admin("/api/bench/summary")
    assert status == 200
    cards = {c["endpoint_id"]: c for c in summary["endpoints"]}
    assert set(cards) == {"ep-judge", "ep-expert", "ep-guesser", "ep-slow"}
    expert, guesser = cards["ep-expert"], cards["ep-guesser"]
    assert expert["latest_run_id"] == first["run_id"]  # the later runs did not blank it
    assert expert["quality"]["overall"]["mean"] == 1.0
    assert guesser["latest_run_id"] == third["run_id"]
    assert set(guesser["evidence_runs"]) == {third["run_id"]}  # newest result per case wins
    assert second["run_id"] not in guesser["evidence_runs"]
    # three runs graded the guesser's cases: the interval still rests on each case once
    graded = len(QUICK) - 1  # the tool case is skipped: the guesser declares no tool calling
    assert guesser["distinct_cases"] == graded
    assert guesser["quality"]["overall"]["samples"] == graded
    advice = summary["recommendation"]
    assert advice["strategy"] == "quality"
    assert not any("only one healthy endpoint" in r for r in advice["reasons"])
    assert summary["unmeasured"] == ["ep-judge", "ep-slow"]


def test_run_detail_lists_every_case_and_why_one_was_skipped(gateway: Gateway) -> None:
    report = _run(gateway, {"mode": "quick", "endpoints": ["ep-guesser"], "judge": None})
    assert len(report["cases"]) == len(QUICK)
    skipped = [c for c in report["cases"] if c["status"] == "skipped"]
    assert [c["reason"] for c in skipped] == ["the endpoint declares no tool calling"]
    suites = {s["suite"] for s in report["suites"]}
    assert suites == {s.name for s in builtin_suites() if s.quick_cases}
    assert sum(s["skipped"] for s in report["suites"]) == 1
    assert report["endpoints"][0]["distinct_cases"] == len(QUICK) - 1


def test_a_running_benchmark_can_be_cancelled(gateway: Gateway) -> None:
    gw = gateway
    body = {"mode": "quick", "endpoints": ["ep-slow"], "judge": None, "adaptive": False}
    status, started = gw.raw("/api/bench/runs", json.dumps(body).encode(), ADMIN)
    assert status == 202
    run_id = started["run_id"]
    deadline = time.monotonic() + 30
    progress: dict[str, Any] = {}
    while time.monotonic() < deadline:
        _, progress = gw.admin(f"/api/bench/runs/{run_id}/progress")
        if progress["done"] >= 2:
            break
        time.sleep(0.1)
    assert progress["status"] == "running"
    assert progress["elapsed_s"] > 0
    assert progress["eta_s"] > 0  # cases are left at 1.5 s each
    status, _ = gw.raw(f"/api/bench/runs/{run_id}/cancel", b"", ADMIN)
    assert status == 202
    while time.monotonic() < deadline:
        _, progress = gw.admin(f"/api/bench/runs/{run_id}/progress")
        if progress["status"] == "cancelled":
            break
        time.sleep(0.1)
    assert progress["status"] == "cancelled"
    assert progress["eta_s"] is None
    _, runs = gw.admin("/api/bench/runs")
    stored = next(r for r in runs["runs"] if r["run_id"] == run_id)
    assert stored["status"] == "cancelled"
    assert 2 <= stored["cases_done"] < len(QUICK)  # the committed cases are kept
    samples = gw.services.storage.samples.for_endpoint("ep-slow", source="benchmark")
    assert len(samples) == stored["cases_done"]
    status, again = gw.raw(f"/api/bench/runs/{run_id}/cancel", b"", ADMIN)
    assert (status, again["error"]["code"]) == (409, "run_not_running")
    # the pool is free again
    assert _run(gw, body | {"endpoints": ["ep-guesser"]})["status"] == "completed"
