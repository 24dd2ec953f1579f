"""Record sinks: the writer process stores batches exactly as the in-process path does, on both
backends, acknowledges each commit, and falls back to in-process writes when it dies."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rolecall.observe.message import WriterMessage
from rolecall.observe.observation import Observation, decode_observations, encode_observations
from rolecall.observe.rows import build_batch
from rolecall.storage import open_storage
from rolecall.storage.record_writer import InProcessSink, ProcessSink, open_sink
from rolecall.storage.sql import SqlStorage
from rolecall.storage.sql_engine import SQLITE_AUTOCHECKPOINT_PAGES
from tests.integration.storage import builders


def _observed(request_id: str) -> list[Observation]:
    return [builders.observation(request_id)]


# one attempt that succeeded: eligibility, scoring, selection and prefill spans; decision, usage
# and sample events
STORED = (1, 4, 1, 3)


def _stored(storage: SqlStorage, request_id: str) -> tuple[int, int, int, int]:
    return (
        int(storage.decisions.get(f"dec-{request_id}") is not None),
        len(storage.traces.spans_for(request_id)),
        len(storage.usage.for_request(request_id)),
        len(storage.traces.events_for(request_id)),
    )


def test_observations_survive_the_wire_unchanged() -> None:
    observed = [builders.observation("r1"), builders.observation("r2", endpoint_id="e2")]
    observed[1].attempts[0].error_class = "timeout"
    assert decode_observations(encode_observations(observed)) == observed


def test_rows_come_from_the_observation() -> None:
    [o] = _observed("r1")
    batch = build_batch([o])
    [usage] = batch.usage
    assert usage["latency_ms"] == o.ended_ms - o.started_ms
    assert (usage["cost_actual"], usage["model_id"]) == (o.cost, o.model)
    [sample] = batch.samples
    assert (sample.endpoint_version, sample.latency_ms, sample.cost_usd) == ("1.0.0", 120, o.cost)
    [trace] = batch.traces
    assert [s["span_type"] for s in trace["spans"]] == [
        "router.eligibility",
        "router.scoring",
        "router.selection",
        "provider.prefill",
    ]
    assert batch.requests == [
        {
            "request_id": "r1",
            "role_id": None,
            "task_type": "general.chat",
            "executed": True,
            "team": None,
            "user": None,
            "client_request_id": None,
            "metadata": None,
            "tags": [],
        }
    ]


def test_process_sink_stores_and_acknowledges(db_url: str, storage: SqlStorage) -> None:
    sink = open_sink(db_url, storage, use_process=True)
    assert isinstance(sink, ProcessSink)
    try:
        assert sink.pid is not None
        assert sink.pid != os.getpid()
        sink.write(WriterMessage.of(_observed("r1")))
        # write returns after the commit: visible at once from this process
        assert _stored(storage, "r1") == STORED
        assert [s.latency_ms for s in storage.samples.for_endpoint("e1")] == [120]
    finally:
        sink.close(timeout=10)


def test_a_dead_writer_process_falls_back_in_process(db_url: str, storage: SqlStorage) -> None:
    sink = open_sink(db_url, storage, use_process=True)
    assert isinstance(sink, ProcessSink)
    try:
        pid = sink.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        sink.write(
            WriterMessage.of(_observed("r2"))
        )  # nothing lost: written by this process instead
        assert _stored(storage, "r2") == STORED
        assert sink.pid is None
    finally:
        sink.close(timeout=10)


def test_a_batch_the_database_rejects_is_reported_not_swallowed(
    db_url: str, storage: SqlStorage
) -> None:
    sink = open_sink(db_url, storage, use_process=True)
    bad = _observed("r3")
    del bad[0].decision["routing_decision_id"]  # which the records are joined and indexed by
    try:
        with pytest.raises(RuntimeError, match="routing_decision_id"):
            sink.write(WriterMessage.of(bad))
        sink.write(WriterMessage.of(_observed("r4")))  # the process keeps serving
        assert _stored(storage, "r4") == STORED
    finally:
        sink.close(timeout=10)


def test_in_memory_sqlite_stays_in_process() -> None:
    storage = open_storage("sqlite://")
    try:
        assert isinstance(open_sink("sqlite://", storage, use_process=True), InProcessSink)
    finally:
        storage.close()


def test_message_carries_facts_and_observed_samples_over_the_wire() -> None:
    message = WriterMessage.of(_observed("r5"), {"e1": ("1.0.0", "rev-1")})
    message.observed = [builders.sample("e1", latency_ms=7.0)]
    message.backlog = 300  # requests the gateway still holds: the writer's measure of "behind"
    again = WriterMessage.from_bytes(message.to_bytes())
    assert again == message
    assert again.requests == 301
    assert [d["routing_decision_id"] for d, _ in again.batch().decisions] == ["dec-r5"]


def test_live_profiles_count_each_sample_once(db_url: str, storage: SqlStorage) -> None:
    """Samples the sink stored, and samples a benchmark stored itself, each enter the window once,
    whether or not the window was read from storage after they were committed."""
    now = time.time_ns() // 1_000_000  # windows hold the last week's samples
    sink = InProcessSink(storage)
    facts = {"e1": ("1.0.0", None)}
    first = sink.write(WriterMessage.of([builders.observation(at=now)], facts))
    [profile] = first.profiles
    assert profile.endpoint_id == "e1"
    assert profile.sample_size == 1
    assert first.next_due_s is None

    elsewhere = builders.sample(latency_ms=300.0, at=now + 1)
    storage.samples.add([elsewhere])  # committed by "the benchmark" before the sink hears of it
    later = sink.write(WriterMessage(observed=[elsewhere]))
    assert later.profiles == []  # within the interval: due later, not dropped
    assert later.next_due_s is not None
    assert 0 < later.next_due_s <= 1.0

    fresh = InProcessSink(storage)  # a new refresher reads its window from storage
    [again] = fresh.write(WriterMessage(facts=facts, observed=[elsewhere])).profiles
    assert again.sample_size == 2  # the stored sample is not counted twice


def test_an_unclosed_process_sink_lets_the_interpreter_exit(tmp_path: Path) -> None:
    """multiprocessing joins its children at exit and the writer ignores SIGTERM: a sink nobody
    closed (a script, a test) must still stop its writer, or the interpreter never exits."""
    code = textwrap.dedent(
        f"""
        from rolecall.storage.record_writer import ProcessSink, open_sink
        from rolecall.storage import open_storage
        url = "sqlite:///{tmp_path / "unclosed.db"}"
        sink = open_sink(url, open_storage(url), use_process=True)
        assert isinstance(sink, ProcessSink), sink
        print("writer", sink.pid)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("writer ")


def test_the_writer_process_checkpoints_sqlite_when_idle(tmp_path: Path) -> None:
    """Commits leave SQLite's log alone up to 64 MB; the writer copies it into the database file
    once it has had nothing to store for a moment (not in the middle of a burst)."""
    path = tmp_path / "idle.db"
    url = f"sqlite:///{path}"
    storage = open_storage(url)
    sink = open_sink(url, storage, use_process=True)
    assert isinstance(sink, ProcessSink)
    try:
        with storage.engine.connect() as connection:
            pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
        assert pages == SQLITE_AUTOCHECKPOINT_PAGES
        sink.write(WriterMessage.of(_observed("r-idle")))
        deadline = time.monotonic() + 10
        while _in_database_file(path) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _in_database_file(path) == 1
    finally:
        sink.close(timeout=10)
        storage.close()


def _in_database_file(path: Path) -> int:
    """Decisions in the database file itself, ignoring what is still only in the log."""
    connection = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(connection.execute("select count(*) from decisions").fetchone()[0])
    except sqlite3.DatabaseError:
        # not even the schema is in the file yet, or a checkpoint is copying pages into it right
        # now (an immutable reader takes no lock, so it can see a half-written file): not yet
        return 0
    finally:
        connection.close()
