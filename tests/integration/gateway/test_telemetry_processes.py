"""Metrics and logs of a real `rolecall serve` process: one JSON access line per request on stderr
(never the prompt), and with ``--workers 2`` one scrape that adds up every worker's requests."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.reliability.chaos import GatewayProcess, load, scripted_upstream

pytestmark = pytest.mark.slow

PROMPT = "please keep this prompt out of the logs 5c1d"
ACCESS_FIELDS = {
    "ts",
    "level",
    "logger",
    "message",
    "request_id",
    "key_id",
    "endpoint",
    "model",
    "status",
    "latency_ms",
    "ttft_ms",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "fallbacks",
    "refusal",
}
INFO_JSON = {"ROLECALL_LOG_LEVEL": "info", "ROLECALL_LOG_FORMAT": "json"}


def post(base_url: str, body: bytes) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(
        f"{base_url}/v1/chat/completions",
        data=body,
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            reply.read()
            return reply.status, dict(reply.headers)
    except urllib.error.HTTPError as exc:
        with exc:
            exc.read()
            return exc.code, dict(exc.headers)


def log_lines(gateway: GatewayProcess) -> list[dict[str, Any]]:
    """Every line the gateway wrote, less the banner on stdout: each must be a JSON object."""
    lines = [x for x in gateway.log().splitlines() if x and not x.startswith("rolecall gateway")]
    return [json.loads(line) for line in lines]


def scraped_requests(base_url: str) -> tuple[float, float]:
    """(requests counted, request durations observed) in one scrape."""
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    requests = sum(s.value for s in samples if s.name == "rolecall_requests_total")
    timed = sum(s.value for s in samples if s.name == "rolecall_request_duration_seconds_count")
    return requests, timed


def test_one_json_access_line_per_request_and_never_the_prompt(tmp_path: Path) -> None:
    chat = {"model": "ep-fast", "messages": [{"role": "user", "content": PROMPT}]}
    with scripted_upstream() as upstream:
        # no format set: "auto" writes JSON when stderr is not a terminal (a file here)
        env = {"ROLECALL_LOG_LEVEL": "info"}
        gateway = GatewayProcess(tmp_path, upstream.base_url, env=env).start()
        try:
            answered = [post(gateway.base_url, json.dumps(chat).encode()) for _ in range(5)]
            bad = post(gateway.base_url, b'{"model": "ep-fast", "messages": "' + PROMPT.encode())
        finally:
            gateway.stop()
    assert [status for status, _ in answered] == [200] * 5
    assert bad[0] == 400
    assert PROMPT not in gateway.log()
    lines = log_lines(gateway)
    access = [line for line in lines if line["logger"] == "rolecall.access"]
    assert len(access) == 6, lines
    ids = [headers["x-rolecall-request-id"] for _, headers in answered]
    assert [line["request_id"] for line in access[:5]] == ids
    for line in access[:5]:
        assert line.keys() >= ACCESS_FIELDS, line
        assert (line["level"], line["status"], line["endpoint"]) == ("info", 200, "ep-fast")
        assert (line["model"], line["key_id"], line["fallbacks"]) == ("fast", "default", 0)
        assert line["latency_ms"] >= 0
        assert line["tokens_out"] > 0
    assert (access[5]["status"], access[5]["request_id"], access[5]["endpoint"]) == (
        400,
        None,
        "none",
    )
    # uvicorn's own lines go through the same handler, the last ones too: SIGTERM ends the
    # process only once the queued lines are written
    uvicorn = [line["message"] for line in lines if line["logger"].startswith("uvicorn")]
    assert uvicorn[0].startswith("Started server process")
    assert uvicorn[-1].startswith("Finished server process")


def test_two_workers_one_scrape_counts_every_request(tmp_path: Path, pg_url: str) -> None:
    # workers share one record writer the same way on both databases: PostgreSQL, the
    # deployment workers are for
    env = {"ROLECALL_WORKERS": "2", **INFO_JSON}
    with scripted_upstream() as upstream:
        gateway = GatewayProcess(tmp_path, upstream.base_url, pg_url, env=env).start()
        try:
            result = load(gateway.base_url, concurrency=8, seconds=2.0)
            made = sum(result.statuses.values())
            # each worker's files: both served (8 connections spread over the port's two sockets)
            metrics_dir = tmp_path / "data" / "metrics"
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                writers = {p.name for p in metrics_dir.glob("counter_*.db")}
                counted = [scraped_requests(gateway.base_url) for _ in range(4)]
                if len(writers) == 2 and all(c == (made, made) for c in counted):
                    break
                time.sleep(0.2)
        finally:
            gateway.stop()
    assert (result.errors, result.server_errors) == (0, 0), result
    assert made > 20, result
    assert len(writers) == 2, writers
    # whichever worker answered each scrape, it counted every worker's requests
    assert counted == [(made, made)] * 4
    access = [line for line in log_lines(gateway) if line["logger"] == "rolecall.access"]
    assert len(access) == made
    assert len({line["request_id"] for line in access}) == made
