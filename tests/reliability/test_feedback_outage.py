"""Feedback while the database is down: a 503 that names the database and says to retry, never a
500, and nothing half-stored; the same feedback is taken once the database is back.

A real `rolecall serve` process over the scripted upstream, on PostgreSQL behind a TCP proxy the
test cuts (SQLite's readers are not stopped by a held write lock, so a cut means PostgreSQL)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from rolecall.storage import open_storage
from tests.reliability.chaos import GatewayProcess, count_records, scripted_upstream
from tests.reliability.tcp_proxy import TcpProxy
from tests.reliability.test_durable_responses import _eventually, _running

pytestmark = pytest.mark.slow


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return (
                reply.status,
                json.loads(reply.read()),
                {k.lower(): v for k, v in reply.headers.items()},
            )
    except urllib.error.HTTPError as error:
        with error:
            return (
                error.code,
                json.loads(error.read()),
                {k.lower(): v for k, v in error.headers.items()},
            )


def _feedback_rows(url: str) -> int:
    storage = open_storage(url, migrate=False)
    try:
        return sum(1 for _ in storage.samples.for_endpoint("ep-fast", source="feedback"))
    finally:
        storage.close()


def test_feedback_while_the_database_is_down_is_a_503_then_taken(
    tmp_path: Path, pg_url: str
) -> None:
    with TcpProxy() as proxy, scripted_upstream() as upstream:
        url = pg_url.replace(":5432/", f":{proxy.port}/")
        gateway = GatewayProcess(tmp_path, upstream.base_url, url)
        with _running(gateway):
            chat = {"model": "ep-fast", "messages": [{"role": "user", "content": "hello"}]}
            status, _, headers = _post(f"{gateway.base_url}/v1/chat/completions", chat)
            assert status == 200
            request_id = headers["x-rolecall-request-id"]
            _eventually(lambda: count_records(pg_url, [request_id]).lost == 0)
            feedback = {"request_id": request_id, "score": 0.3, "label": "meh"}
            proxy.cut()
            try:
                status, body, headers = _post(f"{gateway.base_url}/v1/feedback", feedback)
                assert status == 503, body
                assert "database" in body["error"]["message"], body
                assert headers.get("retry-after") == "1"
            finally:
                proxy.restore()
            assert _feedback_rows(pg_url) == 0
            status, body, _ = _post(f"{gateway.base_url}/v1/feedback", feedback)
            assert status == 200, body
            assert (body["score"], body["endpoint_id"]) == (0.3, "ep-fast")
            assert _feedback_rows(pg_url) == 1
