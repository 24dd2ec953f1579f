"""Nothing answered is lost, nothing is stored twice: kill -9 of the gateway (with its record
writer) and of the writer alone, mid-load, on SQLite and PostgreSQL. A real `rolecall serve`
process over a scripted upstream; records counted in the database afterwards.

Short versions of `bench/reliability.py`'s runs (c=16, 8 s, kill at 3 s there); and an outage
followed by a reboot, which only what the writer moved to disk survives."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from rolecall.storage.spool import tiers
from rolecall.storage.spool_reader import backlog
from tests.reliability.chaos import GatewayProcess, count_records, load, scripted_upstream
from tests.reliability.tcp_proxy import TcpProxy

pytestmark = pytest.mark.slow


def _replay_and_count(gateway: GatewayProcess, answered: list[str]) -> tuple[int, int, int]:
    """Start the gateway again (its writer stores what the spool holds), stop it, count."""
    gateway.child = None
    gateway.start()
    gateway.stop()
    counted = count_records(gateway.url, answered)
    return counted.expected, counted.stored, counted.duplicated


def test_kill_minus_nine_of_gateway_and_writer_loses_nothing(tmp_path: Path, db_url: str) -> None:
    with scripted_upstream() as upstream:
        gateway = GatewayProcess(tmp_path, upstream.base_url, db_url).start()
        try:
            result = load(
                gateway.base_url,
                concurrency=8,
                seconds=3.0,
                at=1.5,
                action=lambda: gateway.kill(group=True),
            )
        finally:
            gateway.stop()
        assert result.server_errors == 0
        assert len(result.answered) > 50, result
        expected, stored, duplicated = _replay_and_count(gateway, result.answered)
    assert (stored, duplicated) == (expected, 0), gateway.log()[-3000:]


def test_kill_minus_nine_of_the_writer_loses_nothing(tmp_path: Path, db_url: str) -> None:
    with scripted_upstream() as upstream:
        gateway = GatewayProcess(tmp_path, upstream.base_url, db_url).start()

        def kill_writer() -> None:
            pid = gateway.writer_pid()
            assert pid is not None, "no record writer process found"
            os.kill(pid, signal.SIGKILL)

        try:
            result = load(gateway.base_url, concurrency=8, seconds=3.0, at=1.5, action=kill_writer)
            assert (result.errors, result.server_errors) == (0, 0), result
        finally:
            gateway.stop()
        time.sleep(0.1)
        counted = count_records(gateway.url, result.answered)
    assert len(result.answered) > 50
    assert (counted.stored, counted.duplicated) == (counted.expected, 0), gateway.log()[-3000:]


def test_a_database_outage_mid_load_loses_nothing(tmp_path: Path, pg_url: str) -> None:
    """PostgreSQL behind a TCP proxy the test cuts for 3 s mid-load: the gateway answers
    throughout (records wait in the spool) and every answered request is stored afterwards."""
    with TcpProxy() as proxy, scripted_upstream() as upstream:
        url = pg_url.replace(":5432/", f":{proxy.port}/")
        gateway = GatewayProcess(tmp_path, upstream.base_url, url).start()
        answered_during: list[int] = []

        def outage() -> None:
            proxy.cut()
            before = len(result_so_far)
            time.sleep(3.0)
            answered_during.append(len(result_so_far) - before)
            proxy.restore()

        result_so_far: list[str] = []
        try:
            result = load(
                gateway.base_url,
                concurrency=8,
                seconds=6.0,
                at=1.0,
                action=outage,
                answered=result_so_far,
            )
            deadline = time.monotonic() + 20
            while count_records(url, result.answered).lost and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            gateway.stop()
        counted = count_records(url, result.answered)
    assert (result.errors, result.server_errors) == (0, 0), result
    assert answered_during[0] > 20, "the gateway stopped answering while the database was down"
    assert (counted.stored, counted.duplicated) == (counted.expected, 0), gateway.log()[-3000:]


def test_an_outage_then_a_reboot_loses_nothing_that_waited_a_moment(
    tmp_path: Path, pg_url: str
) -> None:
    """Records wait in memory (the spool's hand-off tier) only while the database takes them:
    during an outage the writer moves them to disk. So after an outage, a kill -9 of everything
    and a reboot (the tmpfs tier gone), every request answered before the last second is
    stored once the database is back."""
    with TcpProxy() as proxy, scripted_upstream() as upstream:
        url = pg_url.replace(":5432/", f":{proxy.port}/")
        gateway = GatewayProcess(tmp_path, upstream.base_url, url).start()
        spool = tmp_path / "data" / "spool"
        assert len(tiers(spool)) == 2, "the gateway does not hand records off through memory"
        memory = tiers(spool)[1]
        proxy.cut()
        try:
            result = load(gateway.base_url, concurrency=8, seconds=2.0)
            time.sleep(2.5)  # the writer's next tries find the database down
            gateway.kill(group=True)
        finally:
            gateway.stop()
        assert len(result.answered) > 50, result
        assert backlog(memory)[0] == 0, "records still wait in memory only"
        assert backlog(spool)[0] > 0
        shutil.rmtree(memory)  # the reboot
        proxy.restore()
        expected, stored, duplicated = _replay_and_count(gateway, result.answered)
    assert (stored, duplicated) == (expected, 0), gateway.log()[-3000:]
