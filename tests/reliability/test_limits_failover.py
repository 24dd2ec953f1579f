"""Redis goes away while a gateway serves: limits keep being enforced on the database (SQLite or
PostgreSQL), from the budget spent so far, and go back to Redis, with what the database counted
meanwhile, once it answers again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from rolecall.gateway.auth import create_api_key
from rolecall.limits.policy import LimitSpec
from rolecall.providers.scripted import ScriptedUpstream
from rolecall.storage.sql_tables import LIMIT_COUNTERS
from tests.integration.gateway.harness import Gateway
from tests.integration.gateway.test_limits import admin, chat
from tests.integration.limits.conftest import reachable_redis
from tests.integration.limits.replicas import (
    ANSWER,
    PER_REQUEST_MICRO_USD,
    forget_redis_keys,
    inventory,
)
from tests.reliability.tcp_proxy import TcpProxy


@pytest.fixture
def upstream() -> Iterator[Any]:
    handle = ScriptedUpstream.start_in_thread({"models": {"m": {"answer": ANSWER}}})
    yield handle
    handle.stop()


def sql_budget_used(gw: Gateway) -> int:
    query = select(LIMIT_COUNTERS.c.used).where(LIMIT_COUNTERS.c.counter.like("key:%:usd:%"))
    with gw.services.storage.engine.connect() as connection:
        return int(connection.execute(query).scalar() or 0)


def wait_for(check: Any, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_redis_down_mid_serving_falls_back_to_sql_which_still_enforces(
    upstream: Any, db_url: str, tmp_path: Path
) -> None:
    host, port = reachable_redis().removeprefix("redis://").split("/")[0].split(":")
    with TcpProxy(host, int(port)) as proxy:
        redis_url = f"redis://127.0.0.1:{proxy.port}/0"
        with Gateway(inventory(upstream.base_url), db_url, tmp_path, redis_url=redis_url) as gw:
            record, key = create_api_key(
                gw.services.storage.keys,
                "failover",
                limits=LimitSpec(budget_micro_usd=10 * PER_REQUEST_MICRO_USD),
            )
            gw.keys.refresh()
            try:
                assert [chat(gw, key)[0] for _ in range(4)] == [200] * 4
                assert admin(gw, "/api/limits")[1]["status"]["store"] == "redis"
                # the database's copy follows within a second
                assert wait_for(lambda: sql_budget_used(gw) == 4 * PER_REQUEST_MICRO_USD)

                proxy.cut()
                statuses = [chat(gw, key)[0] for _ in range(10)]
                assert statuses == [200] * 6 + [429] * 4  # 10 in all: the budget holds
                status = admin(gw, "/api/limits")[1]["status"]
                assert status["store"] == "sql"
                assert "fallback_since_ms" in status

                proxy.restore()
                assert wait_for(lambda: admin(gw, "/api/limits")[1]["status"]["store"] == "redis")
                code, _, body = chat(gw, key)  # Redis took what SQL counted meanwhile
                assert code == 429
                assert body["error"]["code"] == "budget_exceeded"
            finally:
                forget_redis_keys(reachable_redis(), [record.key_id])
