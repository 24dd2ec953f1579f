"""The drift scenario end to end: three scripted endpoints, a judge grading 10% of answers after
they are served, and one endpoint whose answers silently turn wrong (its latency unchanged). The
drift alarm fires, the endpoint is demoted and routing moves away, and the alarm shows in the
admin API, `/metrics` and the decision; a full re-benchmark clears it. Before the change, the
same traffic raises no alarm."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.cli.drift_demo import seed_baseline
from rolecall.providers.scripted import ScriptedUpstream

from .harness import ADMIN_TOKEN, Gateway, openai_provider
from .test_feedback import _ask
from .test_shadow_judging import BAD, GOOD


@pytest.fixture
def pool() -> Iterator[dict[str, Any]]:
    good = {"answer": "good answer", "latency_ms": 3}
    handles = {
        name: ScriptedUpstream.start_in_thread({"models": {f"model-{name}": good}})
        for name in ("a", "b", "c")
    }
    handles["j"] = ScriptedUpstream.start_in_thread(
        {
            "models": {"judge": {"answer": GOOD}},
            "rules": [{"prompt_contains": "bad answer", "answer": BAD}],
        }
    )
    yield handles
    for handle in handles.values():
        handle.stop()


def _config(pool: dict[str, Any]) -> dict[str, Any]:
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
            "model": "judge",
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
        },
    }


def _benchmark(gw: Gateway, endpoint_ids: list[str]) -> None:
    seed_baseline(gw.services, endpoint_ids)


def _metrics(gw: Gateway) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{gw.port}/metrics")
    with urllib.request.urlopen(request, timeout=10) as reply:
        return reply.read().decode()


def _open_alarms(gw: Gateway) -> dict[str, Any]:
    status, alarms = gw.admin("/api/alarms")
    assert status == 200
    return alarms["open"]  # type: ignore[no-any-return]


def test_a_silent_degradation_is_detected_demoted_and_routed_around(
    pool: dict[str, Any], db_url: str, tmp_path: Path
) -> None:
    with Gateway(_config(pool), db_url, tmp_path) as gw:
        _benchmark(gw, ["ep-a", "ep-b", "ep-c"])
        control = [_ask(gw, model="pool").headers["x-rolecall-endpoint"] for _ in range(80)]
        assert control.count("ep-b") == len(control)
        time.sleep(1.0)  # the judge's grades of the control traffic are in
        assert _open_alarms(gw) == {}
        judged_before = gw.services.shadow.counts["judged"]
        assert judged_before >= 1, gw.services.shadow.counts  # 80 at 10%: none is a 2e-4 chance

        pool["b"].set_script({"models": {"model-b": {"answer": "bad answer", "latency_ms": 3}}})
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
        assert alarm["metric"] == "quality"
        assert alarm["evidence"]["shift"] > 0.5
        assert "re-benchmark ep-b" in alarm["action"]
        assert 'rolecall_endpoint_demoted{endpoint="ep-b"} 1.0' in _metrics(gw)
        status, decision = gw.admin(f"/api/decisions/{moved.headers['x-rolecall-decision-id']}")
        assert status == 200
        [b] = [c for c in decision["scored_candidates"] if c["endpoint_id"] == "ep-b"]
        quality = b["metric_breakdown"]["quality"]
        assert quality["value"] == 0.0
        assert quality["raw"]["demoted"].startswith("quality drift alarm")

        pool["b"].set_script({"models": {"model-b": {"answer": "good answer", "latency_ms": 3}}})
        _benchmark(gw, ["ep-b"])  # a full re-benchmark after the alarm clears it
        assert _open_alarms(gw) == {}
        assert gw.services.routing.demotions == {}
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
