"""Redis going away never stops a gateway: it keeps serving, shares state through the database
alone (notices by polling), says "degraded" in /readyz and the log, and recovers by itself.

Two real `rolecall serve` replicas on PostgreSQL reach Redis through a TCP proxy the test cuts.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cluster.harness import (
    call,
    chat,
    cooling,
    inventory,
    redis_up,
    upstream,
    within,
)
from tests.reliability.chaos import GatewayProcess
from tests.reliability.tcp_proxy import TcpProxy

__all__ = ["redis_up", "upstream"]  # fixtures


@pytest.fixture
def redis_proxy(redis_up: str) -> Iterator[TcpProxy]:
    with TcpProxy(target_port=6379) as proxy:
        yield proxy


def _ready(replica: GatewayProcess) -> dict[str, Any]:
    with urllib.request.urlopen(f"{replica.base_url}/readyz", timeout=5) as response:
        body: dict[str, Any] = json.loads(response.read())
    return body


def test_redis_cut_while_serving_degrades_then_recovers(
    tmp_path: Path, pg_url: str, redis_proxy: TcpProxy, upstream: Any
) -> None:
    env = {"ROLECALL_REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}/0"}
    started: list[GatewayProcess] = []
    try:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            replica = GatewayProcess(
                tmp_path / name,
                upstream.base_url,
                database_url=pg_url,
                inventory=inventory(upstream.base_url),
                env=env,
            )
            started.append(replica.start())
        a, b = started
        within(lambda: _ready(a)["status"] == _ready(b)["status"] == "ready", 5.0)

        redis_proxy.cut()
        assert chat(a, "ep-b").status_code == 200  # serving never waits on Redis
        within(lambda: _ready(b)["status"] == "degraded", 5.0)
        # shared state still flows, through the database's change log
        assert chat(a, "ep-locked").status_code >= 400
        within(lambda: "ep-locked" in cooling(b), 2.0)
        assert "unreachable" in b.log()

        redis_proxy.restore()
        within(lambda: _ready(a)["status"] == _ready(b)["status"] == "ready", 10.0)
        assert call("GET", f"{b.base_url}/healthz").status_code == 200
        assert "reachable again" in b.log()
    finally:
        for replica in started:
            replica.stop()


def test_a_gateway_whose_redis_never_answers_still_serves(
    tmp_path: Path, pg_url: str, redis_proxy: TcpProxy, upstream: Any
) -> None:
    redis_proxy.cut()
    gateway = GatewayProcess(
        tmp_path,
        upstream.base_url,
        database_url=pg_url,
        inventory=inventory(upstream.base_url),
        env={"ROLECALL_REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}/0"},
    ).start()
    try:
        started = time.monotonic()
        assert chat(gateway, "ep-b").status_code == 200
        assert time.monotonic() - started < 5.0
        within(lambda: _ready(gateway)["status"] == "degraded", 5.0)
    finally:
        gateway.stop()
