"""`SqlStorage` by composition: one store per concern over a shared engine, on SQLite and
PostgreSQL; the stores satisfy the ports the use cases declare; the record writer stores the
console's request facts explicitly."""

from __future__ import annotations

import pytest

from rolecall.benchmark.ports import BenchmarkStore
from rolecall.execution.cooldown import Cooldown
from rolecall.observe.message import WriterMessage
from rolecall.observe.ports import ProfileStore, SampleStore, Sink, TaskQueue
from rolecall.storage import BackgroundWriter, SqlStorage
from rolecall.storage.analytics import FactFilter
from rolecall.storage.record_writer import InProcessSink, write_batch
from tests.integration.storage import builders


def _failing_batch(storage: SqlStorage) -> None:
    with storage.batch():
        storage.samples.add([builders.sample("e1")])
        storage.profiles.put(builders.profile("e1"))
        storage.cooldowns.put(Cooldown("e1", 0, 10, "timeout", 1, 0))
        raise RuntimeError("the batch fails")


def test_stores_share_one_engine_and_one_batch(storage: SqlStorage) -> None:
    """A batch spans every store's writes on this thread: all commit, or none does."""
    with pytest.raises(RuntimeError, match="the batch fails"):
        _failing_batch(storage)
    assert storage.samples.for_endpoint("e1") == []
    assert storage.profiles.get("e1") is None
    assert storage.cooldowns.all() == []
    with storage.batch():
        storage.samples.add([builders.sample("e1")])
        storage.profiles.put(builders.profile("e1"))
    assert len(storage.samples.for_endpoint("e1")) == 1
    assert [p.endpoint_id for p in storage.profiles.all()] == ["e1"]


def test_each_store_keeps_its_own_records(storage: SqlStorage) -> None:
    storage.decisions.put(builders.decision("dec-1"), created_ms=builders.NOW_MS)
    storage.usage.add([builders.usage("u1")])
    storage.traces.add([builders.span("s1")], [builders.event("ev1")])
    assert storage.decisions.count() == 1
    assert [u["event_id"] for u in storage.usage.for_request("req-1")] == ["u1"]
    assert [s["span_id"] for s in storage.traces.spans_for("req-1")] == ["s1"]
    assert [e["event_id"] for e in storage.traces.events_for("req-1")] == ["ev1"]
    assert storage.samples.for_endpoint("e1") == []
    assert storage.keys.all() == []
    assert storage.benchmarks.list_runs() == []


def test_stores_satisfy_the_use_case_ports(storage: SqlStorage) -> None:
    """Checked by mypy where these are annotated in src; here, that the objects answer them."""
    samples: SampleStore = storage.samples
    profiles: ProfileStore = storage.profiles
    benchmarks: BenchmarkStore = storage.benchmarks
    sink: Sink = InProcessSink(storage)
    with BackgroundWriter(storage) as writer:
        queue: TaskQueue = writer
        assert queue.submit(samples.add, [builders.sample("e1")])
        assert queue.flush(10)
    assert [s.endpoint_id for s in samples.for_endpoint("e1")] == ["e1"]
    profiles.put(builders.profile("e1"))
    assert benchmarks.get_run("none") is None
    sink.hurry()
    sink.close()


def test_usage_alone_leaves_no_request_facts(storage: SqlStorage) -> None:
    """Facts are the writer's explicit step, not a side effect of storing usage."""
    storage.decisions.put(builders.decision("dec-1"), created_ms=builders.NOW_MS)
    storage.usage.add([builders.usage("u1")])
    assert storage.analytics.fact_for("req-1") is None
    storage.analytics.add_facts([builders.usage("u1")])
    fact = storage.analytics.fact_for("req-1")
    assert fact is not None
    assert fact["chosen_endpoint_id"] == "e1"  # read back from the stored decision


def test_the_writer_stores_request_facts_explicitly(storage: SqlStorage) -> None:
    """`write_batch` stores decisions, traces, usage and samples, and the request facts beside
    them, with the role and task the router was asked for."""
    observation = builders.observation("r1", endpoint_id="e2")
    observation.role_id = "tool.agent"
    batch = WriterMessage.of([observation]).batch()
    write_batch(storage, batch)
    fact = storage.analytics.fact_for("r1")
    assert fact is not None
    assert (fact["endpoint_id"], fact["chosen_endpoint_id"]) == ("e2", "e2")
    assert (fact["role_id"], fact["task_type"]) == ("tool.agent", "general.chat")
    rolled = storage.analytics.rollup_groups(FactFilter(), ["role"])
    assert [(r["role"], r["requests"]) for r in rolled] == [("tool.agent", 1)]
    assert storage.decisions.get("dec-r1") is not None
    assert len(storage.usage.for_request("r1")) == 1
    assert storage.samples.for_endpoint("e2") != []
    write_batch(storage, batch)  # a replayed batch: facts and rollup are not counted again
    rolled = storage.analytics.rollup_groups(FactFilter(), ["role"])
    assert [(r["role"], r["requests"]) for r in rolled] == [("tool.agent", 1)]
