"""BackgroundWriter: batching, draining on close, surviving failing writes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import pytest

from rolecall.storage import BackgroundWriter, SqlStorage
from tests.integration.storage.builders import sample, usage


class Recorder:
    """A fake store recording calls; ``add`` fails for items in ``poison``."""

    def __init__(self, *, poison: frozenset[str] = frozenset(), fail_first: int = 0) -> None:
        self.batches: list[list[str]] = []
        self.poison = poison
        self.fail_first = fail_first
        self.gate = threading.Event()
        self.gate.set()

    def add(self, items: Sequence[str]) -> None:
        self.gate.wait()
        if self.fail_first > 0:
            self.fail_first -= 1
            raise RuntimeError("transient")
        if self.poison.intersection(items):
            raise RuntimeError("poison record")
        self.batches.append(list(items))


def test_close_drains_everything_into_storage(storage: SqlStorage) -> None:
    writer = BackgroundWriter(storage)
    for n in range(200):
        assert writer.submit(storage.samples.add, [sample("e1", at=n)])
        assert writer.submit(storage.usage.add, [usage(f"u{n}")])
    writer.close()
    assert len(storage.samples.for_endpoint("e1")) == 200
    assert len(storage.usage.recent(limit=1000)) == 200
    stats = writer.stats
    assert (stats.submitted, stats.written, stats.failed, stats.dropped) == (400, 400, 0, 0)


def test_consecutive_batch_calls_are_merged() -> None:
    store = Recorder()
    store.gate.clear()  # hold the first write so the rest queue up behind it
    writer = BackgroundWriter(store, max_delay_s=0.0)
    writer.submit(store.add, ["first"])
    for n in range(10):
        writer.submit(store.add, [f"r{n}", f"s{n}"])
    store.gate.set()
    assert writer.flush(timeout=5)
    writer.close()
    written = [item for batch in store.batches for item in batch]
    assert written == ["first", *(item for n in range(10) for item in (f"r{n}", f"s{n}"))]
    assert len(store.batches) < 11  # merged: fewer transactions than submissions


def test_failing_write_is_retried_once_then_logged(caplog: pytest.LogCaptureFixture) -> None:
    store = Recorder(fail_first=1)
    with BackgroundWriter(store, retry_delay_s=0.0) as writer:
        writer.submit(store.add, ["a"])
        assert writer.flush(timeout=5)
    assert store.batches == [["a"]]
    assert writer.stats.retried == 1
    assert writer.stats.failed == 0

    store = Recorder(poison=frozenset({"bad"}))
    with caplog.at_level(logging.ERROR, logger="rolecall.storage.writer"):
        writer = BackgroundWriter(store, retry_delay_s=0.0)
        writer.submit(store.add, ["bad"])
        writer.close()
    assert writer.stats.failed == 1
    assert "RuntimeError: poison record" in caplog.text
    assert "bad" not in caplog.text.replace("poison", "")  # arguments are never logged


def test_poison_record_loses_only_its_own_submission() -> None:
    store = Recorder(poison=frozenset({"bad"}))
    store.gate.clear()
    writer = BackgroundWriter(store, retry_delay_s=0.0, max_delay_s=0.0)
    writer.submit(store.add, ["hold"])
    writer.submit(store.add, ["ok-1"])
    writer.submit(store.add, ["bad"])
    writer.submit(store.add, ["ok-2"])
    store.gate.set()
    writer.close()
    written = sorted(item for batch in store.batches for item in batch)
    assert written == ["hold", "ok-1", "ok-2"]
    assert (writer.stats.written, writer.stats.failed) == (3, 1)


def test_writer_survives_a_failing_write_and_keeps_going(storage: SqlStorage) -> None:
    def explode() -> None:
        raise ValueError("boom")

    writer = BackgroundWriter(storage, retry_delay_s=0.0)
    writer.submit(explode)
    writer.submit(storage.samples.add, [sample("e1")])
    writer.close()
    assert len(storage.samples.for_endpoint("e1")) == 1
    assert writer.stats.failed == 1
    assert writer.stats.last_error is not None


def test_submit_after_close_is_dropped_not_raised() -> None:
    store = Recorder()
    writer = BackgroundWriter(store)
    writer.close()
    writer.close()
    assert writer.submit(store.add, ["late"]) is False
    assert writer.stats.dropped == 1
    assert store.batches == []


def test_full_queue_drops_instead_of_blocking() -> None:
    store = Recorder()
    store.gate.clear()
    writer = BackgroundWriter(store, max_queue=1, max_delay_s=0.0)
    results = [writer.submit(store.add, [str(n)]) for n in range(5)]
    store.gate.set()
    writer.close()
    assert results.count(False) >= 1
    assert writer.stats.dropped == results.count(False)
