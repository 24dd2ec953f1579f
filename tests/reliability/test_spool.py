"""The record spool on its own: what is appended is claimed once, committed positions survive a
new reader, segments are deleted once consumed and sealed, torn and garbage lines are skipped, and
a full spool drops with a loud error instead of filling the disk."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from rolecall.storage.spool import Spool
from rolecall.storage.spool_reader import SpoolReader
from tests.reliability.spool_claims import claim_all


def test_appended_parts_are_claimed_once_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=1 << 20)
    for i in range(5):
        assert spool.append(b'[{"n":%d}]' % i)
    reader = SpoolReader(tmp_path / "spool")
    assert claim_all(reader) == [b'[{"n":%d}]' % i for i in range(5)]
    assert claim_all(reader) == []  # committed: not claimed again
    spool.append(b"[6]")
    assert claim_all(SpoolReader(tmp_path / "spool")) == [b"[6]"]  # a new reader too


def test_a_released_claim_is_claimed_again(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=1 << 20)
    spool.append(b"[1]")
    reader = SpoolReader(tmp_path / "spool")
    claim = reader.claim()
    assert claim is not None
    assert claim.parts == [b"[1]"]
    claim.release()  # the database was down
    assert claim_all(reader) == [b"[1]"]


def test_segments_rotate_and_are_deleted_once_consumed(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=1 << 20, segment_bytes=64)
    for i in range(20):
        spool.append(b"[%d]" % i + b" " * 20)
    segments = sorted((tmp_path / "spool").glob("*.spool"))
    assert len(segments) > 3
    reader = SpoolReader(tmp_path / "spool", claim_bytes=100)  # several claims
    assert len(claim_all(reader)) == 20
    # every sealed segment is gone; the one still appended to stays
    assert len(list((tmp_path / "spool").glob("*.spool"))) == 1
    spool.close()
    assert claim_all(reader) == []
    assert list((tmp_path / "spool").glob("*.spool")) == []  # its writer left: sealed


def test_files_are_private(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=1 << 20)
    spool.append(b"[1]")
    claim_all(SpoolReader(tmp_path / "spool"))
    assert stat.S_IMODE((tmp_path / "spool").stat().st_mode) == 0o700
    for path in (tmp_path / "spool").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_torn_and_garbage_lines_are_skipped(tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    spool = Spool(directory, max_bytes=1 << 20)
    spool.append(b"[1]")
    segment = next(directory.glob("*.spool"))
    with segment.open("ab") as handle:
        handle.write(b"garbage-without-stamp\n123 [2]\n456 [3")  # a torn last line
    spool.close()
    reader = SpoolReader(directory)
    claim = reader.claim()
    assert claim is not None
    assert claim.parts == [b"[1]", b"[2]"]
    assert claim.corrupt == 2  # the garbage line and the torn one
    claim.commit()
    assert list(directory.glob("*.spool")) == []


def test_a_full_spool_drops_loudly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=200)
    with caplog.at_level(logging.ERROR, "rolecall.observe"):
        results = [spool.append(b"[" + b"x" * 40 + b"]") for _ in range(10)]
    assert all(results)  # taken charge of: written or dropped, never handed back
    assert spool.dropped >= 5
    assert "record spool full" in caplog.text
    assert "ROLECALL_SPOOL_MAX_BYTES" in caplog.text
    total = sum(p.stat().st_size for p in (tmp_path / "spool").glob("*.spool"))
    assert total <= 200


def test_a_dead_writers_segments_are_replayed(tmp_path: Path) -> None:
    """A gateway killed mid-run leaves its lock unheld: its last segment is complete and is
    consumed, then deleted, by the next reader."""
    directory = tmp_path / "spool"
    pid = os.fork()
    if pid == 0:  # the "gateway": appends, then dies without closing anything
        spool = Spool(directory, max_bytes=1 << 20)
        for i in range(3):
            spool.append(b"[%d]" % i)
        os._exit(0)
    os.waitpid(pid, 0)
    reader = SpoolReader(directory)
    assert claim_all(reader) == [b"[0]", b"[1]", b"[2]"]
    assert list(directory.glob("*.spool")) == []
    assert [p.name for p in directory.glob("*.lock")] == ["reader.lock"]
