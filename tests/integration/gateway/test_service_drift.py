"""Failure-rate and throughput drift through a real gateway: live requests against a scripted
upstream are compared with the endpoint's benchmark; when half its answers turn into 500s, or
its answers come 20 times slower, a sweep opens a warning alarm that names the metric and the
shift, shows in the admin API and `/metrics`, demotes nothing, and closes once it recovers."""

from __future__ import annotations

import contextlib
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import openai
import pytest

from rolecall.profiles import Sample
from rolecall.providers.scripted import ScriptedUpstream

from .harness import Gateway, openai_provider
from .test_feedback import _ask

# 10 ms per answer of 60 words, so its throughput is the script's more than the machine's load
# (and long enough to count: `service_drift.MIN_TOKENS`)
FAST = {"answer": " ".join(["word"] * 60), "latency_ms": 10}


@pytest.fixture
def upstream() -> Iterator[Any]:
    handle = ScriptedUpstream.start_in_thread({"models": {"model-a": FAST}})
    yield handle
    handle.stop()


def _config(upstream: Any, endpoint_id: str = "ep-a") -> dict[str, Any]:
    return {
        "providers": {"a": openai_provider(upstream.base_url, local=False)},
        "endpoints": [{"provider": "a", "model": "model-a", "id": endpoint_id}],
    }


def _served(gw: Gateway, n: int, endpoint_id: str = "ep-a") -> None:
    for _ in range(n):
        with contextlib.suppress(openai.APIError):  # some of these tests are about failures
            _ask(gw, model=endpoint_id)
    assert gw.services.recorder.flush(10.0)


def _benchmark_like_live(gw: Gateway, endpoint_id: str = "ep-a") -> None:
    """A benchmark baseline as fast as the live traffic so far, and no failures: its samples
    are stored after the live ones, so the live window starts afresh."""
    live = gw.services.storage.samples.for_endpoint(endpoint_id, source="live_request")
    speeds = [s.tokens_per_sec for s in live if s.tokens_per_sec]
    assert len(speeds) >= 10, live
    version, revision = gw.services.routing.endpoint_facts(endpoint_id)  # type: ignore[misc]
    now = time.time_ns() // 1_000_000 + 1
    gw.services.evidence.add(
        [
            Sample(
                endpoint_id,
                version,
                "benchmark",
                now,
                20.0,
                tokens_per_sec=speed,
                judge_score=0.9,
                membership_revision=revision,
                benchmark_mode="full",
            )
            for speed in speeds
        ]
    )
    time.sleep(0.01)  # live samples from here on are after the benchmark


def _open(gw: Gateway) -> dict[str, Any]:
    status, alarms = gw.admin("/api/alarms")
    assert status == 200
    return alarms["open"]  # type: ignore[no-any-return]


def _metrics(gw: Gateway) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{gw.port}/metrics", timeout=10) as reply:
        return str(reply.read().decode())


def test_failures_open_a_warning_that_demotes_nothing_and_closes_on_recovery(
    upstream: Any, db_url: str, tmp_path: Path
) -> None:
    with Gateway(_config(upstream), db_url, tmp_path) as gw:
        _served(gw, 15)
        _benchmark_like_live(gw)
        watch = gw.services.service_drift
        _served(gw, 30)
        watch.sweep()
        assert "ep-a/failure_rate" not in _open(gw)  # healthy traffic: no failure alarm

        failing = {**FAST, "fail": {"kind": "status", "status": 500, "rate": 0.5}}
        upstream.set_script({"models": {"model-a": failing}, "seed": 7})
        _served(gw, 40)
        watch.sweep()  # (the gateway's own sweep, every 30 s, may have been first)
        alarm = _open(gw)["ep-a/failure_rate"]
        assert alarm["metric"] == "failure_rate"
        assert alarm["demotes"] is False
        assert alarm["evidence"]["run_mean"] > 0.3
        assert "failure rate drift" in alarm["summary"]
        assert gw.services.routing.demotions == {}  # routing weighs live failures already
        assert alarm["endpoint_id"] == "ep-a"
        text = _metrics(gw)
        assert 'rolecall_drift_alarm_open{endpoint="ep-a",metric="failure_rate"} 1.0' in text
        assert 'rolecall_endpoint_demoted{endpoint="ep-a"} 0.0' in text

        upstream.set_script({"models": {"model-a": FAST}})
        _served(gw, 40)
        watch.sweep()
        watch.sweep()  # and it stays closed: the failures before it are not counted again
        status, alarms = gw.admin("/api/alarms")
        assert status == 200
        assert "ep-a/failure_rate" not in alarms["open"], alarms
        [cleared] = [a for a in alarms["cleared"] if a["metric"] == "failure_rate"]
        assert cleared["cleared_by"].startswith("recovered: the latest 40 requests")


def test_a_slowdown_opens_a_throughput_alarm_an_operator_can_clear(
    upstream: Any, db_url: str, tmp_path: Path
) -> None:
    endpoint_id = "org/model-a"  # ids may hold "/": the clear path must still find it
    with Gateway(_config(upstream, endpoint_id), db_url, tmp_path) as gw:
        _served(gw, 15, endpoint_id)
        _benchmark_like_live(gw, endpoint_id)
        upstream.set_script({"models": {"model-a": {**FAST, "latency_ms": 200}}})
        _served(gw, 25, endpoint_id)
        gw.services.service_drift.sweep()
        alarm = _open(gw)[f"{endpoint_id}/throughput"]
        assert alarm["evidence"]["share_of_baseline"] < 0.5
        assert "latency strategy" in alarm["action"]
        clear = f"/api/alarms/{quote(endpoint_id, safe='')}/throughput"  # as the console sends
        status, body = gw.admin(clear, method="DELETE")
        assert (status, body) == (200, {"cleared": True})
        status, body = gw.admin(clear, method="DELETE")
        assert status == 404
        assert "no open 'throughput' drift alarm on endpoint 'org/model-a'" in str(body)
        status, body = gw.admin(f"/api/alarms/{quote(endpoint_id, safe='')}", method="DELETE")
        assert status == 404
        assert "no open demoting drift alarm on endpoint 'org/model-a'" in str(body)
