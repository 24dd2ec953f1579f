"""Several workers (`rolecall serve --workers 2`) when things go wrong: a worker or the record
writer killed with kill -9 mid-load is replaced and no answered request's record is lost; a port
in use is one clear error; workers that keep dying end the command with a clear message.

Real `rolecall serve` processes over a scripted upstream; records counted in the database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.reliability.chaos import ROLECALL, GatewayProcess, count_records, load, scripted_upstream

pytestmark = pytest.mark.slow

WORKERS = {"ROLECALL_WORKERS": "2"}


def workers_of(gateway: GatewayProcess) -> list[int]:
    """The worker processes now running (named so by the workers themselves)."""
    return sorted(pid for pid in gateway.descendants() if _name(pid) == "rolecall-worker")


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def wait_for_workers(gateway: GatewayProcess, count: int, timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while len(found := workers_of(gateway)) != count:
        assert time.monotonic() < deadline, (found, gateway.log()[-2000:])
        time.sleep(0.1)
    return found


def test_kill_minus_nine_of_a_worker_is_replaced_and_loses_nothing(
    tmp_path: Path, db_url: str
) -> None:
    with scripted_upstream() as upstream:
        gateway = GatewayProcess(tmp_path, upstream.base_url, db_url, env=WORKERS).start()
        try:
            before = wait_for_workers(gateway, 2)
            result = load(
                gateway.base_url,
                concurrency=8,
                seconds=4.0,
                at=1.5,
                action=lambda: os.kill(before[0], signal.SIGKILL),
            )
            # a new worker takes the killed one's place (and its socket's queued connections)
            deadline = time.monotonic() + 60
            while before[0] in (now := wait_for_workers(gateway, 2)):
                assert time.monotonic() < deadline, gateway.log()[-2000:]
                time.sleep(0.1)
            after_load = load(gateway.base_url, concurrency=4, seconds=1.0)
        finally:
            gateway.stop()
    assert before[1] in now and before[0] not in now
    assert "worker 0" in gateway.log() or "worker 1" in gateway.log()
    assert result.server_errors == 0, result
    assert len(result.answered) > 50, result
    assert (after_load.errors, after_load.server_errors) == (0, 0), after_load
    counted = count_records(gateway.url, result.answered + after_load.answered)
    assert (counted.stored, counted.duplicated) == (counted.expected, 0), gateway.log()[-3000:]


def test_kill_minus_nine_of_the_writer_loses_nothing(tmp_path: Path, db_url: str) -> None:
    """The workers store their records themselves once the writer is gone; a new writer is
    started for the workers to come."""
    with scripted_upstream() as upstream:
        gateway = GatewayProcess(tmp_path, upstream.base_url, db_url, env=WORKERS).start()
        try:
            writer = gateway.system()["process"]["writer_pid"]
            result = load(
                gateway.base_url,
                concurrency=8,
                seconds=3.0,
                at=1.5,
                action=lambda: os.kill(writer, signal.SIGKILL),
            )
        finally:
            gateway.stop()
    assert (result.errors, result.server_errors) == (0, 0), result
    assert len(result.answered) > 50, result
    assert "the record writer" in gateway.log(), gateway.log()[-2000:]
    counted = count_records(gateway.url, result.answered)
    assert (counted.stored, counted.duplicated) == (counted.expected, 0), gateway.log()[-3000:]


def test_a_port_in_use_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        gateway = GatewayProcess(tmp_path, "http://127.0.0.1:9/v1", port=port, env=WORKERS)
        finished = subprocess.run(
            [*ROLECALL, "serve"],
            env=gateway.environment(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert finished.returncode == 1
    assert finished.stderr.count("error:") == 1, finished.stderr
    assert f"127.0.0.1:{port}" in finished.stderr and "in use" in finished.stderr
    assert "--port" in finished.stderr  # the fix
    assert "Traceback" not in finished.stderr
    assert not (tmp_path / "data" / "rolecall.db").exists()  # nothing was started


def test_workers_that_keep_dying_end_the_command(tmp_path: Path) -> None:
    with scripted_upstream() as upstream:
        gateway = GatewayProcess(tmp_path, upstream.base_url, env=WORKERS).start()
        assert gateway.child is not None
        deadline = time.monotonic() + 120
        while gateway.child.poll() is None:  # every worker killed as soon as it is seen
            assert time.monotonic() < deadline, gateway.log()[-2000:]
            for pid in workers_of(gateway):
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
    assert _group_ends(gateway.child.pid, timeout=30)  # nothing left behind, the writer neither
    assert gateway.child.returncode == 1
    log = gateway.log()
    assert "keeps dying at start" in log, log[-2000:]
    assert "Traceback" not in log, log[-3000:]
    assert log.count("error:") == 1, log[-2000:]
    assert "record writer" not in log  # the writer was left alone and kept running


def _group_ends(pgid: int, timeout: float) -> bool:
    """Whether every process of the group is gone within ``timeout`` (an orphan's exit is
    reaped by init in its own time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False
