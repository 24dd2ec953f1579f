"""The drift scenario end to end: three scripted endpoints, a judge grading 10% of answers after
they are served, canaries re-running a slice of a small suite every second (time compressed)
against a full benchmark of it run from the CLI, and one endpoint whose answers silently turn
wrong (its latency unchanged). An alarm fires, the endpoint is demoted and routing moves away,
the canaries find the same drop, and the alarm shows in the admin API, `/metrics` and the
decision; a full re-benchmark clears it. Before the change, the same traffic and canary rounds
raise no alarm."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.cli.drift_demo import (
    CANARY_CASES,
    POOL,
    degrade,
    full_benchmark,
    restore,
    scripts,
    seed_baseline,
)
from rolecall.providers.scripted import ScriptedUpstream

from .harness import ADMIN_TOKEN, Gateway, openai_provider
from .test_feedback import _ask


@pytest.fixture
def pool() -> Iterator[dict[str, Any]]:
    handles = {n: ScriptedUpstream.start_in_thread(s) for n, s in scripts().items()}
    yield handles
    for handle in handles.values():
        handle.stop()


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "canary-suite.jsonl"
    path.write_text("".join(json.dumps(case) + "\n" for case in CANARY_CASES))
    return path


def _config(pool: dict[str, Any], suite: Path | None = None) -> dict[str, Any]:
    endpoints = [
        {
            "provider": n,
            "model": f"model-{n}",
            "id": f"ep-{n}",
            "price": {"input_per_1m": 1.0, "output_per_1m": 1.0},
        }
        for n in ("a", "b", "c")
    ]
    endpoints.append(
        {
            "provider": "j",
            "model": "model-j",
            "id": "ep-j",
            "price": {"input_per_1m": 5.0, "output_per_1m": 5.0},
        }
    )
    return {
        "providers": {n: openai_provider(h.base_url, local=False) for n, h in pool.items()},
        "endpoints": endpoints,
        "aliases": {"pool": {"endpoints": ["ep-a", "ep-b", "ep-c"]}},
        "routing": {
            "strategy": "quality",
            "shadow_judging": {"share": 0.1, "judge_endpoint_id": "ep-j"},
            **(
                {}
                if suite is None
                else {
                    "canaries": {
                        "enabled": True,
                        "every_s": 1,
                        "per_bucket": 2,
                        "endpoints": POOL,
                        "suites": [str(suite)],
                        "min_pairs": 4,
                    }
                }
            ),
        },
    }


def _benchmark(gw: Gateway, endpoint_ids: list[str]) -> None:
    seed_baseline(gw.services, endpoint_ids)


def _metrics(gw: Gateway) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{gw.port}/metrics")
    with urllib.request.urlopen(request, timeout=10) as reply:
        return reply.read().decode()


def _open_alarms(gw: Gateway) -> dict[str, Any]:
    """The open demoting alarms (a throughput warning, from a loaded machine slowing the
    scripted pool, demotes nothing and is not what this scenario is about)."""
    status, alarms = gw.admin("/api/alarms")
    assert status == 200
    return {k: a for k, a in alarms["open"].items() if a.get("demotes", True)}


def _rounds_after(gw: Gateway, rounds: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while gw.services.canaries.counts["rounds"] < rounds and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gw.services.canaries.counts["rounds"] >= rounds, gw.services.canaries.counts


def test_a_silent_degradation_is_detected_demoted_and_routed_around(
    pool: dict[str, Any], suite: Path, db_url: str, tmp_path: Path
) -> None:
    with Gateway(_config(pool, suite), db_url, tmp_path) as gw:
        full_benchmark(gw.settings.config, db_url, suite, tmp_path / "cli")
        _benchmark(gw, POOL)
        control = []
        for _ in range(80):
            control.append(_ask(gw, model="pool").headers["x-rolecall-endpoint"])
            time.sleep(0.01)
        assert control.count("ep-b") == len(control)
        _rounds_after(gw, gw.services.canaries.counts["rounds"] + 2)  # canaries pass meanwhile
        time.sleep(0.5)  # the judge's grades of the control traffic are in
        assert _open_alarms(gw) == {}
        judged_before = gw.services.shadow.counts["judged"]
        assert judged_before >= 1, gw.services.shadow.counts  # 80 at 10%: none is a 2e-4 chance
        rounds = gw.services.canaries.counts["rounds"]

        degrade(pool["b"])
        started, sent, moved = time.monotonic(), 0, None
        while sent < 600 and moved is None:
            answered = _ask(gw, model="pool")
            sent += 1
            if answered.headers["x-rolecall-endpoint"] != "ep-b" and "ep-b" in _open_alarms(gw):
                moved = answered
        assert moved is not None, f"no move within {sent} requests: {gw.services.shadow.counts}"
        elapsed = time.monotonic() - started
        print(f"detected after {sent} requests, {elapsed:.1f} s")

        alarm = _open_alarms(gw)["ep-b"]
        if alarm["metric"] == "quality":  # shadow judging was first (the usual case)
            assert alarm["evidence"]["shift"] > 0.5
        else:
            assert alarm["metric"] == "canary"
            assert alarm["evidence"]["mean_change"] <= -0.2  # the configured drop
        assert "re-benchmark ep-b" in alarm["action"]
        # the canaries find the same drop, and only on ep-b, once a round has started after
        # the change (the one in flight then may have run its cases before it)
        _rounds_after(gw, rounds + 2)
        verdicts = gw.services.canaries.judge(POOL)
        assert verdicts["ep-b"] is not None, verdicts
        assert verdicts["ep-b"]["alarmed"], verdicts
        assert not any(verdicts[e] and verdicts[e]["alarmed"] for e in ("ep-a", "ep-c"))
        assert 'rolecall_endpoint_demoted{endpoint="ep-b"} 1.0' in _metrics(gw)
        status, decision = gw.admin(f"/api/decisions/{moved.headers['x-rolecall-decision-id']}")
        assert status == 200
        [b] = [c for c in decision["scored_candidates"] if c["endpoint_id"] == "ep-b"]
        quality = b["metric_breakdown"]["quality"]
        assert quality["value"] == 0.0
        assert quality["raw"]["demoted"] == alarm["summary"]

        restore(pool["b"])
        # a full re-benchmark after the alarm, from the CLI, clears it in every process, and
        # the canaries compare with it from then on
        full_benchmark(gw.settings.config, db_url, suite, tmp_path / "cli", ["ep-b"])
        deadline = time.monotonic() + 10
        while gw.services.routing.demotions and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gw.services.routing.demotions == {}
        assert _open_alarms(gw) == {}
        _rounds_after(gw, gw.services.canaries.counts["rounds"] + 2)
        assert _open_alarms(gw) == {}  # its canaries pass again
        assert 'rolecall_endpoint_demoted{endpoint="ep-b"} 0.0' in _metrics(gw)
        status, alarms = gw.admin("/api/alarms")
        assert alarms["cleared"][0]["cleared_by"] == "a full benchmark finished after the alarm"


def test_an_operator_clears_an_alarm(pool: dict[str, Any], db_url: str, tmp_path: Path) -> None:
    with Gateway(_config(pool), db_url, tmp_path) as gw:
        request = urllib.request.Request(
            f"http://127.0.0.1:{gw.port}/api/alarms/ep-b",
            method="DELETE",
            headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        refused.value.close()
        assert refused.value.code == 404
