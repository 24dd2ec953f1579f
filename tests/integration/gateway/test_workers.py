"""`rolecall serve --workers 2` on SQLite and PostgreSQL: two gateway processes answer on one
port, one record writer stores every answered request once, and SIGTERM stops every process.

A real `rolecall serve` over a scripted upstream (real HTTP on loopback); records are counted in
the database afterwards. The failure modes (kill -9, a port in use) are in
tests/reliability/test_workers.py."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.reliability.chaos import GatewayProcess, count_records, load, scripted_upstream

pytestmark = pytest.mark.slow

WORKERS = {"ROLECALL_WORKERS": "2"}


def serving_pids(gateway: GatewayProcess, want: int = 2) -> tuple[set[int], set[int | None]]:
    """The gateway processes seen answering over new connections (until ``want`` were seen),
    and the record writers they named."""
    pids: set[int] = set()
    writers: set[int | None] = set()
    for _ in range(200):
        process = gateway.system()["process"]
        pids.add(process["pid"])
        writers.add(process["writer_pid"])
        if len(pids) >= want:
            break
    return pids, writers


def test_two_workers_answer_on_one_port_and_one_writer_stores_each_record_once(
    tmp_path: Path, db_url: str
) -> None:
    with scripted_upstream() as upstream:
        gateway = GatewayProcess(tmp_path, upstream.base_url, db_url, env=WORKERS).start()
        try:
            workers, writers = serving_pids(gateway)
            processes = gateway.descendants()
            result = load(gateway.base_url, concurrency=8, seconds=2.0)
            # while still serving, the writer stores what was answered
            deadline = time.monotonic() + 20
            while count_records(gateway.url, result.answered).lost and time.monotonic() < deadline:
                time.sleep(0.1)
            stored_while_serving = count_records(gateway.url, result.answered)
        finally:
            gateway.stop()
        assert gateway.child is not None
    assert len(workers) == 2, gateway.log()[-2000:]
    assert len(writers) == 1 and None not in writers, writers  # one writer, shared
    (writer,) = writers
    assert writer not in workers and writer in processes
    # the supervisor's children: the workers, the writer and multiprocessing's resource
    # tracker; no worker started a writer of its own
    others = {pid for pid in processes if pid not in workers and pid != writer}
    assert all("resource_tracker" in processes[pid] for pid in others), processes
    assert (result.errors, result.server_errors) == (0, 0), result
    assert len(result.answered) > 50, result
    assert stored_while_serving.lost == 0, stored_while_serving
    counted = count_records(gateway.url, result.answered)
    assert (counted.stored, counted.duplicated) == (counted.expected, 0)
    assert gateway.child.returncode == 0, gateway.log()[-2000:]
    assert "Traceback" not in gateway.log(), gateway.log()[-3000:]
