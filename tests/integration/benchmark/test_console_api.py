"""A quick benchmark through the console API against scripted upstreams, end to end.

A real gateway on loopback (both databases), the built-in quick suite, a scripted "expert" model
that answers every case right, a scripted "guesser" that answers nothing right, and a scripted judge.
The evidence lands in the profiles and the quality strategy's decision changes with it.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from rolecall.benchmark.cases import builtin_suites
from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.gateway.harness import ADMIN_TOKEN, Gateway, openai_provider

from .scripting import JUDGE_DEFAULT, WRONG, expert_rules, judge_rules

QUICK = [c for s in builtin_suites() for c in s.quick_cases]
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def upstream() -> Iterator[Any]:
    script = {
        "models": {
            "expert": {"answer": WRONG, "latency_ms": 30},
            "guesser": {"answer": WRONG, "latency_ms": 5},
            "judge": {"answer": JUDGE_DEFAULT},
        },
        "rules": expert_rules("expert", QUICK) + judge_rules("judge", QUICK),
    }
    handle = ScriptedUpstream.start_in_thread(script)
    yield handle
    handle.stop()


def _inventory(upstream: Any) -> dict[str, Any]:
    endpoint = {"provider": "p", "tools": True}
    return {
        "providers": {"p": openai_provider(upstream.base_url, local=False)},
        "endpoints": [
            {
                **endpoint,
                "model": "expert",
                "id": "ep-expert",
                "price": {"input_per_1m": 3.0, "output_per_1m": 6.0},
            },
            {
                **endpoint,
                "model": "guesser",
                "id": "ep-guesser",
                "price": {"input_per_1m": 0.1, "output_per_1m": 0.2},
            },
            {**endpoint, "model": "judge", "id": "ep-judge", "enabled": False},
        ],
        "routing": {"strategy": "quality"},
    }


@pytest.fixture
def gateway(upstream: Any, db_url: str, tmp_path: Path) -> Iterator[Gateway]:
    with Gateway(_inventory(upstream), db_url, tmp_path) as gw:
        yield gw


def _post(gw: Gateway, path: str, body: Any) -> tuple[int, Any]:
    return gw.raw(path, json.dumps(body).encode(), ADMIN)


def _chosen(gw: Gateway) -> str:
    raw = gw.client().chat.completions.with_raw_response.create(
        model="default", messages=[{"role": "user", "content": "hello"}], max_tokens=8
    )
    status, decision = gw.admin(f"/api/decisions/{raw.headers['x-rolecall-decision-id']}")
    assert status == 200
    return str(decision["chosen_endpoint_id"])


def _wait(gw: Gateway, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, progress = gw.admin(f"/api/bench/runs/{run_id}/progress")
        assert status == 200
        if progress["status"] != "running":
            return progress  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish: {progress}")


def _wait_for_quality(gw: Gateway, endpoint_id: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        profile = gw.services.routing.profiles.get(endpoint_id)
        if profile is not None and profile.judge_score is not None:
            return
        time.sleep(0.05)
    raise AssertionError(f"no judged profile for {endpoint_id}")


def test_quick_benchmark_changes_the_quality_decision(gateway: Gateway) -> None:
    gw = gateway
    assert _chosen(gw) == "ep-guesser"  # no evidence yet: the cheaper endpoint wins
    status, suites = gw.admin("/api/bench/suites")
    assert status == 200
    assert suites["quick_cases"] == len(QUICK)
    assert {"name", "cases", "quick_cases", "tasks"} <= set(suites["suites"][0])

    body = {
        "mode": "quick",
        "endpoints": ["ep-expert", "ep-guesser"],
        "judge": "ep-judge",
        "adaptive": False,  # the expert knows the quick cases only
    }
    status, started = _post(gw, "/api/bench/runs", body)
    assert status == 202
    run_id = started["run_id"]
    status, busy = _post(gw, "/api/bench/runs", body)
    assert status == 409
    assert busy["error"]["code"] == "run_active"
    progress = _wait(gw, run_id)
    assert progress == {
        "run_id": run_id,
        "phase": "done",
        "total": 2 * len(QUICK),
        "done": 2 * len(QUICK),
        "failed": 0,
        "current_endpoint": progress["current_endpoint"],
        "current_case": progress["current_case"],
        "stalled": False,
        "status": "completed",
        "elapsed_s": progress["elapsed_s"],
        "eta_s": None,  # nothing left to estimate once the run ended
    }
    assert progress["elapsed_s"] > 0

    status, report = gw.admin(f"/api/bench/runs/{run_id}")
    assert status == 200
    by_id = {e["endpoint_id"]: e for e in report["endpoints"]}
    expert, guesser = by_id["ep-expert"], by_id["ep-guesser"]
    assert expert["quality"]["overall"]["mean"] == 1.0
    assert expert["quality"]["overall"]["samples"] == len(QUICK)
    assert guesser["quality"]["overall"]["mean"] < 0.1
    assert set(expert["quality"]["buckets"]) == {"easy", "medium", "hard"}
    assert expert["latency_ms_p50"] > guesser["latency_ms_p50"]
    assert expert["cost_per_case_usd"] > guesser["cost_per_case_usd"]
    assert expert["local"] is False
    assert report["recommendation"]["strategy"] == "quality"
    assert report["judge"] == "ep-judge"
    assert report["pairwise"]
    assert all(p["winner"] == "ep-expert" and p["consistent"] for p in report["pairwise"])

    _wait_for_quality(gw, "ep-expert")
    assert _chosen(gw) == "ep-expert"  # the evidence moved the decision
    samples = gw.services.storage.samples.for_endpoint("ep-expert", source="benchmark")
    assert len(samples) == len(QUICK)
    assert {s.benchmark_mode for s in samples} == {"quick"}
    assert all(s.membership_revision and s.difficulty_bucket for s in samples)

    status, runs = gw.admin("/api/bench/runs")
    assert runs["runs"][0]["run_id"] == run_id
    assert runs["runs"][0]["cases_done"] == 2 * len(QUICK)

    status, again = _post(gw, "/api/bench/runs", body)
    second = again["run_id"]
    _wait(gw, second)
    assert _bench_runs_metered(gw) == {"started": 2.0, "completed": 2.0}
    status, compared = gw.admin(f"/api/bench/compare?a={run_id}&b={second}")
    assert status == 200
    row = next(e for e in compared["endpoints"] if e["endpoint_id"] == "ep-expert")
    assert row == {
        "endpoint_id": "ep-expert",
        "a_mean": 1.0,
        "b_mean": 1.0,
        "delta": 0.0,
        "shared_cases": len(QUICK),
        "p_value": 1.0,
    }

    status, cleared = gw.admin("/api/bench/data?endpoint=ep-guesser", method="DELETE")
    assert status == 200
    assert cleared == {"deleted_samples": 2 * len(QUICK)}
    assert gw.services.storage.samples.for_endpoint("ep-guesser", source="benchmark") == []


def _bench_runs_metered(gw: Gateway) -> dict[str, float]:
    """Benchmark runs started and completed (quick mode) in a scrape of ``GET /metrics``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{gw.port}/metrics", timeout=10) as reply:
        families = text_string_to_metric_families(reply.read().decode())
    samples = [s for family in families for s in family.samples if s.labels.get("mode") == "quick"]
    return {
        "started": sum(
            s.value for s in samples if s.name == "rolecall_benchmark_runs_started_total"
        ),
        "completed": sum(
            s.value
            for s in samples
            if s.name == "rolecall_benchmark_runs_finished_total"
            and s.labels["status"] == "completed"
        ),
    }


def test_bad_requests_get_openai_style_errors(gateway: Gateway) -> None:
    gw = gateway
    status, body = _post(gw, "/api/bench/runs", {"mode": "fast"})
    assert status == 400
    assert body["error"]["param"] == "mode"
    status, body = _post(gw, "/api/bench/runs", {"mode": "quick", "endpoints": ["nope"]})
    assert (status, body["error"]["param"]) == (400, "endpoints")
    assert "nope" in body["error"]["message"]
    status, body = _post(gw, "/api/bench/runs", {"mode": "quick", "speed": 1})
    assert (status, body["error"]["param"]) == (400, "speed")
    status, body = gw.admin("/api/bench/runs/bench-missing")
    assert (status, body["error"]["type"]) == (404, "not_found_error")
    status, body = gw.admin("/api/bench/compare?a=x")
    assert (status, body["error"]["param"]) == (400, "b")
    status, body = gw.raw("/api/bench/runs", None)
    assert (status, body["error"]["code"]) == (401, "invalid_admin_token")
