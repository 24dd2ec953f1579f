"""``/readyz`` follows the database: a real `rolecall serve` on PostgreSQL behind a TCP proxy the
test cuts turns unready (503, the problem naming the database and the fix) within seconds, keeps
answering chat meanwhile and ``/livez`` stays 200, and it is ready again once the database is
back."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cluster.harness import call, within
from tests.reliability.chaos import GatewayProcess, scripted_upstream
from tests.reliability.tcp_proxy import TcpProxy

pytestmark = pytest.mark.slow


def _ready(gateway: GatewayProcess, token: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"{gateway.base_url}/readyz", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def _chat(gateway: GatewayProcess) -> int:
    body = {"model": "default", "messages": [{"role": "user", "content": "hi"}]}
    return call("POST", f"{gateway.base_url}/v1/chat/completions", body).status_code


def test_readyz_is_unready_while_the_database_is_cut_and_recovers(
    tmp_path: Path, pg_url: str
) -> None:
    with TcpProxy() as proxy, scripted_upstream() as upstream:
        url = pg_url.replace(":5432/", f":{proxy.port}/")
        gateway = GatewayProcess(tmp_path, upstream.base_url, url).start()
        try:
            within(lambda: _ready(gateway)[0] == 200, 10.0)
            assert _ready(gateway)[1]["status"] == "ready"

            proxy.cut()
            within(lambda: _ready(gateway)[0] == 503, 10.0)
            _status, body = _ready(gateway)
            assert body["status"] == "unready"
            [database] = [p for p in body["problems"] if p["check"] == "database"]
            assert database["detail"].startswith("the database does not answer SELECT 1")
            assert "ROLECALL_DATABASE_URL" in database["fix"]
            # the driver's own words (they name hosts and ports) only with the admin token
            assert str(proxy.port) not in json.dumps(body)
            _, full = _ready(gateway, "rca-test")
            [detail] = [p["detail"] for p in full["problems"] if p["check"] == "database"]
            assert detail.startswith(database["detail"] + ": ")
            assert str(proxy.port) in detail
            assert _chat(gateway) == 200  # serving goes on: records wait in the spool
            assert call("GET", f"{gateway.base_url}/livez").status_code == 200

            proxy.restore()
            within(lambda: _ready(gateway)[0] == 200, 15.0)
            assert _ready(gateway)[1]["problems"] == []
        finally:
            gateway.stop()
