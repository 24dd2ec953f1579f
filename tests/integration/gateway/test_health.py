"""``/livez``, ``/healthz`` and ``/readyz`` of a real gateway: what each answers, readiness turning
unready when no endpoint can serve, and a scrape storm costing one database probe a second."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import event

from rolecall.storage.spool import Spool
from rolecall.storage.spool_reader import SpoolReader, backlog

from .harness import Gateway

# these two only read: they share one gateway per backend (``shared_gateway``); the others
# cool endpoints down or count probes, on a gateway of their own


def test_livez_and_healthz_need_no_credentials(shared_gateway: Gateway) -> None:
    assert shared_gateway.raw("/livez", None) == (200, {"status": "alive"})
    assert shared_gateway.raw("/healthz", None) == (200, {"status": "ok", "endpoints": 2})


def test_a_serving_gateway_is_ready_and_says_what_it_checked(shared_gateway: Gateway) -> None:
    status, body = shared_gateway.raw("/readyz", None)
    assert status == 200, body
    assert (body["status"], body["problems"], body["degraded"]) == ("ready", [], [])
    checks = {c["check"]: c for c in body["checks"]}
    assert set(checks) >= {"database", "records", "endpoints", "notices", "limits"}
    assert all(c["ok"] for c in checks.values()), checks
    assert checks["database"]["detail"].startswith("answered in")
    assert checks["endpoints"]["detail"] == "2 of 2 endpoints can serve"
    assert "node" in body
    assert "limits" in body


def test_readiness_is_lost_while_every_endpoint_cools_down_and_comes_back(
    gateway: Gateway,
) -> None:
    book = gateway.services.routing.cooldowns
    now = time.time_ns() // 1_000_000
    for endpoint_id in ("ep-a", "ep-b"):
        book.enter(endpoint_id, "upstream_5xx", now, at_least_ms=60_000)
    status, body = gateway.raw("/readyz", None)
    assert status == 503
    assert body["status"] == "unready"
    [problem] = body["problems"]
    assert problem["check"] == "endpoints"
    assert "0 of 2 endpoints can serve" in problem["detail"]
    assert "ep-a: cooldown" in problem["detail"]
    assert "DELETE /api/cooldowns/{endpoint_id}" in problem["fix"]
    book.clear("ep-b")
    status, body = gateway.raw("/readyz", None)
    assert (status, body["status"]) == (200, "ready")


def test_a_scrape_storm_costs_one_database_probe_a_second(gateway: Gateway) -> None:
    probes: list[float] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.strip() == "SELECT 1":
            probes.append(time.monotonic())

    engine = gateway.services.storage.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        started = time.monotonic()
        statuses = asyncio.run(_storm(f"http://127.0.0.1:{gateway.port}/readyz", 200))
        elapsed = time.monotonic() - started
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statuses == {200}
    # the answer is kept a second: one probe per second begun, give or take the edges
    assert 1 <= len(probes) <= int(elapsed) + 2, (len(probes), elapsed)


async def _storm(url: str, n: int) -> set[int]:
    async with aiohttp.ClientSession() as session:

        async def one() -> int:
            async with session.get(url) as reply:
                await reply.read()
                return reply.status

        return set(await asyncio.gather(*(one() for _ in range(n))))


def test_the_spool_backlog_is_what_waits_and_since_when(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    spool = Spool(folder, max_bytes=1 << 20)
    assert backlog(folder) == (0, None)
    before = time.time_ns() // 1_000_000
    assert spool.append(b'[{"a":1}]')
    assert spool.append(b'[{"b":2}]')
    pending, oldest = backlog(folder)
    assert pending == sum(p.stat().st_size for p in folder.glob("*.spool"))
    assert oldest is not None
    assert before <= oldest <= time.time_ns() // 1_000_000
    reader = SpoolReader(folder)
    claim = reader.claim()
    assert claim is not None
    assert len(claim.parts) == 2
    assert backlog(folder)[0] == pending  # claimed but not stored yet: still waiting
    claim.commit()
    assert backlog(folder) == (0, None)
    spool.close()
    reader.close()
