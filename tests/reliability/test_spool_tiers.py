"""The spool's two tiers: gateways append in memory (a real tmpfs, /dev/shm), the reader stores
both tiers, an outage moves what waits in memory to disk with the append times kept, the spool's
bound counts both tiers, and tiers nobody can store any more are removed."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rolecall.storage.spool import (
    HANDOFF,
    MEMORY_ROOT,
    ORIGIN,
    Spool,
    handoff_tier,
    is_tmpfs,
    tiers,
)
from rolecall.storage.spool_reader import SpoolReader, backlog
from tests.reliability.spool_claims import claim_all

pytestmark = pytest.mark.skipif(not is_tmpfs(MEMORY_ROOT), reason="no writable tmpfs at /dev/shm")


@pytest.fixture
def spool_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "spool"
    yield directory
    reader = SpoolReader(directory)
    reader.tidy()  # no tier of this test is left in memory
    reader.close()


def test_gateways_append_in_memory_and_the_reader_stores_both_tiers(spool_dir: Path) -> None:
    tier = handoff_tier(spool_dir, memory=True)
    assert tier.parent == MEMORY_ROOT.resolve()
    assert (spool_dir / HANDOFF).resolve() == tier
    assert handoff_tier(spool_dir, memory=True) == tier  # a second worker finds the same one
    assert tiers(spool_dir) == [spool_dir, tier]
    gateway = Spool(tier, max_bytes=1 << 20, root=spool_dir)
    assert gateway.root == spool_dir
    for i in range(3):
        assert gateway.append(b"[%d]" % i)
    assert list(spool_dir.glob("*.spool")) == []  # nothing on disk
    assert backlog(spool_dir)[0] > 0
    assert claim_all(SpoolReader(spool_dir)) == [b"[0]", b"[1]", b"[2]"]
    assert backlog(spool_dir) == (0, None)
    gateway.close()


def test_without_memory_or_a_tmpfs_gateways_append_on_disk(spool_dir: Path, tmp_path: Path) -> None:
    assert handoff_tier(spool_dir, memory=False) == spool_dir
    not_tmpfs = tmp_path / "shm"
    not_tmpfs.mkdir()
    assert handoff_tier(spool_dir, memory=True, root=not_tmpfs) == spool_dir
    assert tiers(spool_dir) == [spool_dir]


def test_a_tier_left_by_an_earlier_run_is_stored_even_with_memory_off(spool_dir: Path) -> None:
    tier = handoff_tier(spool_dir, memory=True)
    earlier = Spool(tier, max_bytes=1 << 20, root=spool_dir)
    earlier.append(b"[1]")
    earlier.close()
    assert handoff_tier(spool_dir, memory=False) == tier  # until what it holds is stored
    assert claim_all(SpoolReader(spool_dir)) == [b"[1]"]


def test_an_outage_moves_what_waits_in_memory_to_disk_with_its_times(spool_dir: Path) -> None:
    tier = handoff_tier(spool_dir, memory=True)
    gateway = Spool(tier, max_bytes=1 << 20, root=spool_dir)
    for i in range(5):
        gateway.append(b"[%d]" % i)
    claim = SpoolReader(spool_dir).claim()
    assert claim is not None
    stamps = claim.stamps
    claim.release()  # the database is down
    writer = SpoolReader(spool_dir)
    assert writer.spill() == 5
    assert writer.spill() == 0  # moved once
    on_disk = b"".join(p.read_bytes() for p in sorted(spool_dir.glob("*.spool")))
    assert on_disk.count(b"\n") == 5
    assert backlog(tier)[0] == 0  # memory holds nothing unread: the reboot below loses nothing
    for path in tier.glob("*.spool"):
        path.unlink()
    claim = SpoolReader(spool_dir).claim()  # the durable tier first
    assert claim is not None
    assert claim.parts == [b"[%d]" % i for i in range(5)]
    assert claim.stamps == stamps  # how long they waited still shows (readiness, lag)
    claim.commit()
    writer.close()
    gateway.close()


def test_the_bound_counts_both_tiers(spool_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    durable = Spool(spool_dir, max_bytes=1 << 20)
    durable.append(b"x" * 300)  # what an outage moved to disk
    durable.close()
    tier = handoff_tier(spool_dir, memory=True)
    gateway = Spool(tier, max_bytes=400, root=spool_dir)
    assert gateway.append(b"y" * 50)
    assert gateway.append(b"z" * 100)  # taken: dropped, past the bound of both tiers together
    assert gateway.dropped == 1
    assert "record spool full" in caplog.text
    gateway.close()
    assert len(claim_all(SpoolReader(spool_dir))) == 2


def test_tidy_removes_an_empty_tier_but_not_one_in_use(spool_dir: Path) -> None:
    tier = handoff_tier(spool_dir, memory=True)
    gateway = Spool(tier, max_bytes=1 << 20, root=spool_dir)
    gateway.append(b"[1]")
    reader = SpoolReader(spool_dir)
    reader.tidy()
    assert tier.is_dir()  # a gateway appends to it
    gateway.close()
    reader.tidy()
    assert tier.is_dir()  # it holds a record not stored yet
    assert claim_all(reader) == [b"[1]"]
    reader.tidy()
    assert not tier.exists()
    assert not (spool_dir / HANDOFF).exists()
    assert tiers(spool_dir) == [spool_dir]


def test_tiers_whose_spool_directory_is_gone_are_swept(tmp_path: Path) -> None:
    gone = tmp_path / "gone" / "spool"
    tier = handoff_tier(gone, memory=True)
    left = Spool(tier, max_bytes=1 << 20, root=gone)
    left.append(b"[1]")
    left.close()
    assert (tier / ORIGIN).read_text() == str(gone.resolve())
    for path in gone.iterdir():
        path.unlink()
    gone.rmdir()
    other = tmp_path / "other" / "spool"
    kept = handoff_tier(other, memory=True)  # a gateway starting anywhere sweeps
    assert not tier.exists()
    assert kept.is_dir()
    reader = SpoolReader(other)
    reader.tidy()
    reader.close()


def test_the_tier_is_private(spool_dir: Path) -> None:
    tier = handoff_tier(spool_dir, memory=True)
    assert os.stat(tier).st_mode & 0o777 == 0o700
    assert tier.name.startswith(f"rolecall-{os.getuid()}-")


def test_a_tier_name_taken_by_someone_else_leaves_the_spool_on_disk(
    spool_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """/dev/shm is shared: a link or an open directory made first under the tier's name (it is
    predictable) must not receive records."""
    digest = hashlib.sha256(str(spool_dir.resolve()).encode()).hexdigest()[:16]
    name = MEMORY_ROOT / f"rolecall-{os.getuid()}-{digest}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    name.symlink_to(elsewhere)
    try:
        assert handoff_tier(spool_dir, memory=True) == spool_dir
        assert "not a private directory of ours" in caplog.text
        name.unlink()
        name.mkdir(mode=0o777)
        os.chmod(name, 0o777)
        assert handoff_tier(spool_dir, memory=True) == spool_dir
        assert list(elsewhere.iterdir()) == []
    finally:
        if name.is_symlink():
            name.unlink()
        elif name.is_dir():
            name.rmdir()


def test_a_full_memory_tier_moves_the_gateway_to_disk_and_nothing_is_lost(
    spool_dir: Path,
) -> None:
    """A real full filesystem, as the kernel reports it: the gateway process runs with a file
    size limit (RLIMIT_FSIZE), so its memory segment fails part-way through a line. It appends
    to the spool on disk from then on, the torn line is skipped, and every record is there."""
    tier = handoff_tier(spool_dir, memory=True)
    code = (
        "import json, resource, signal, sys\n"
        "from pathlib import Path\n"
        "from rolecall.storage.spool import Spool\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))\n"
        f"spool = Spool(Path({str(tier)!r}), max_bytes=1 << 20, root=Path({str(spool_dir)!r}))\n"
        "taken = [spool.append(b'[%03d]' % i + b' ' * 90) for i in range(60)]\n"
        "print(json.dumps({'taken': taken, 'failed': spool.failed, 'on': str(spool.directory)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"taken": [True] * 60, "failed": 0, "on": str(spool_dir)}
    assert out.stderr.count("cannot append in memory") == 1
    assert any(spool_dir.glob("*.spool"))  # some on disk
    assert any(tier.glob("*.spool"))  # the rest in memory
    reader = SpoolReader(spool_dir)
    parts = claim_all(reader)
    reader.close()
    assert sorted(p[:5] for p in parts) == [b"[%03d]" % i for i in range(60)]


def test_a_memory_tier_that_fails_from_the_start_leaves_the_gateway_on_disk(
    spool_dir: Path,
) -> None:
    """The tier cannot even be set up (no byte may be written: RLIMIT_FSIZE 0, as on a full
    tmpfs): the gateway starts anyway, appending on disk."""
    code = (
        "import resource, signal\n"
        "from pathlib import Path\n"
        "from rolecall.storage.spool import open_spool\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))\n"
        f"spool = open_spool(Path({str(spool_dir)!r}), memory=True, max_bytes=1 << 20)\n"
        "print(spool.directory, spool.root)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == [str(spool_dir), str(spool_dir)]
    assert "cannot append in memory" in out.stderr
