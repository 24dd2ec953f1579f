"""One record writer aggregates live profiles across every process on the database; the others
tell it what they stored, and another takes over when it goes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rolecall.cluster.aggregation import writer_aggregation
from rolecall.storage import SqlStorage


def _eventually(check: Callable[[], object], seconds: float = 5.0) -> object:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.1)


def test_one_writer_aggregates_and_hears_what_the_others_stored(
    db_url: str, storage: SqlStorage, tmp_path: Path
) -> None:
    spool = tmp_path / "data" / "spool"
    first, second = writer_aggregation(db_url, spool), writer_aggregation(db_url, spool)
    try:
        assert first.leading()
        assert first.gained()
        assert not first.gained()  # told once
        assert not second.leading()
        second.stored_here(["ep-1", "ep-1", "ep-2"])
        second.stored_here(["ep-1"])  # within a second of the last: not announced again
        heard: set[str] = set()

        def both() -> bool:  # the two notices may be read in two passes of the log
            heard.update(first.stored_elsewhere())
            return len(heard) >= 2

        _eventually(both)
        assert sorted(heard) == ["ep-1", "ep-2"]
        notices = [c for c in storage.changes.since(0) if c.kind == "live-samples"]
        assert sorted(c.key for c in notices) == ["ep-1", "ep-2"]
    finally:
        first.close()
    try:
        assert _eventually(second.leading)  # the leader went: the next writer takes over
        assert second.gained()
    finally:
        second.close()
