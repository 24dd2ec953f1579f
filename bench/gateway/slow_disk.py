"""``--slow-disk``: rolecall's data directory on an ext4 filesystem whose block device makes every
write wait, set up before rolecall starts and taken down at the end (on an error or SIGTERM too:
the caller enters it in the run's ExitStack).

The device is nbdkit's memory plugin behind its delay filter, exposed as a file by nbdfuse (FUSE),
attached to a loop device, formatted ext4 and mounted. dm-delay would be the direct way, but a
kernel without device-mapper, nbd or ublk still has FUSE and loop devices, so this one path is
used everywhere. nbdkit and nbdfuse run on the load core: the device's userspace half must not
take time from the gateway's core. Writes that only reach the page cache are not delayed; an
fsync (a SQLite commit) waits for the device.

Needs root (losetup, mount); nbdkit, nbdfuse and fusermount3 are installed with apt-get when
missing. Without them the run stops with a message naming what is missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from gateway.procs import BenchError, Proc, pin, start

# Room for a full run with the front doors (rolecall keeps every request); the memory plugin
# only takes RAM for what is written.
SIZE = "4G"
TOOLS = {  # command: the Debian package that has it
    "nbdkit": "nbdkit",
    "nbdfuse": "libnbd-bin",
    "fusermount3": "fuse3",
    "losetup": "mount",
    "mount": "mount",
    "umount": "mount",
    "mkfs.ext4": "e2fsprogs",
}
# /sys/block/<dev>/stat, in the kernel's order (Documentation/block/stat.rst)
STAT_FIELDS = (
    "reads",
    "read_merges",
    "read_sectors",
    "read_ms",
    "writes",
    "write_merges",
    "write_sectors",
    "write_ms",
    "in_flight",
    "busy_ms",
    "queue_ms",
    "discards",
    "discard_merges",
    "discard_sectors",
    "discard_ms",
    "flushes",
    "flush_ms",
)
SHOWN = ("writes", "write_sectors", "write_ms", "flushes", "flush_ms", "busy_ms")


@dataclass
class SlowDisk:
    mount: Path
    loop: str  # /dev/loopN
    delay_ms: int

    @property
    def description(self) -> str:
        return (
            f"data dir on ext4 over {self.loop} → nbdkit memory with "
            f"delay-write={self.delay_ms}ms (through nbdfuse), mounted at {self.mount}"
        )

    def io(self) -> dict[str, int]:
        """The device's block-layer counters now (older kernels have fewer fields)."""
        values = Path(f"/sys/block/{Path(self.loop).name}/stat").read_text().split()
        return {name: int(v) for name, v in zip(STAT_FIELDS, values, strict=False)}

    def used_kib(self) -> int:
        """What the filesystem holds: a long run must not fill it (a full disk fails requests)."""
        return shutil.disk_usage(self.mount).used // 1024


def io_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """What the device did between two readings, in the fields worth showing."""
    return {k: after[k] - before[k] for k in SHOWN if k in before and k in after}


def describe_io(io: dict[str, int]) -> str:
    # write_ms adds up every write's wait, so with writes in flight together it exceeds the
    # run's length; busy_ms is the time the device had any I/O at all.
    text = (
        f"{io.get('writes', 0):,} writes, {io.get('write_sectors', 0) * 512 / 2**20:.1f} MiB "
        f"written, {io.get('write_ms', 0):,} ms of write waits (summed)"
    )
    if "flushes" in io:
        text += f", {io['flushes']:,} flushes ({io.get('flush_ms', 0):,} ms)"
    text += f", device busy {io.get('busy_ms', 0):,} ms"
    if "used_kib" in io:
        text += f"; the filesystem holds {io['used_kib'] / 1024:,.1f} MiB of {SIZE}"
    return text


@contextlib.contextmanager
def slow_disk(workdir: Path, delay_ms: int, core: int | None) -> Iterator[SlowDisk]:
    """A mounted ext4 filesystem on a write-delayed device under ``workdir``; torn down on exit."""
    _require()
    fuse_dir, mount = workdir / "slow-disk-fuse", workdir / "slow-disk"
    fuse_dir.mkdir()
    mount.mkdir()
    # Each step registers its undo as soon as it is done, so a failure half-way (or SIGTERM)
    # takes down exactly what exists, in reverse order.
    with ExitStack() as undo:
        proc = _serve(fuse_dir, delay_ms, core, workdir)
        undo.callback(proc.stop)
        undo.callback(_unmount_fuse, fuse_dir)
        loop = _run(["losetup", "-f", "--show", str(fuse_dir / "disk")]).strip()
        undo.callback(_quiet, ["losetup", "-d", loop])
        # Inode tables and journal written now: lazy init would write them later, mid-run.
        _run(["mkfs.ext4", "-q", "-E", "nodiscard,lazy_itable_init=0,lazy_journal_init=0", loop])
        _run(["mount", loop, str(mount)])
        undo.callback(_unmount, mount)
        yield SlowDisk(mount, loop, delay_ms)


def _require() -> None:
    if os.geteuid() != 0:
        raise BenchError("--slow-disk needs root (it attaches a loop device and mounts it)")
    if not Path("/dev/fuse").exists():
        raise BenchError("--slow-disk needs FUSE: /dev/fuse is missing")
    missing = _missing()
    if missing and shutil.which("apt-get"):
        packages = sorted({TOOLS[t] for t in missing})
        print(
            f"--slow-disk: {', '.join(missing)} not found; apt-get install -y {' '.join(packages)}"
        )
        for argv in (["apt-get", "update"], ["apt-get", "install", "-y", *packages]):
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(argv, capture_output=True, timeout=600, check=False)
        missing = _missing()
    if missing:
        wanted = ", ".join(sorted({TOOLS[t] for t in missing}))
        raise BenchError(
            f"--slow-disk needs {', '.join(missing)} (Debian packages: {wanted}), not installed"
        )


def _missing() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def _serve(fuse_dir: Path, delay_ms: int, core: int | None, workdir: Path) -> Proc:
    """nbdfuse running nbdkit (memory plugin, delay filter); returns once its file exists."""
    delays = [f"delay-write={delay_ms}ms", f"delay-zero={delay_ms}ms"]
    nbdkit = ["nbdkit", "-s", "--filter=delay", "memory", f"size={SIZE}", *delays]
    argv = [*pin(core), "nbdfuse", str(fuse_dir / "disk"), "--command", *nbdkit]
    proc = start("slow-disk-nbdfuse", argv, workdir)
    ends = time.monotonic() + 15
    while not (fuse_dir / "disk").exists():
        if not proc.alive() or time.monotonic() > ends:
            proc.stop()
            raise BenchError(f"nbdfuse did not expose the disk; its output:\n{proc.tail()}")
        time.sleep(0.05)
    return proc


def _run(argv: list[str]) -> str:
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if out.returncode != 0:
        raise BenchError(f"--slow-disk: {' '.join(argv)} failed: {out.stderr.strip()[-500:]}")
    return out.stdout


def _quiet(argv: list[str]) -> bool:
    """A teardown step: its failure must not hide the run's own error, so it only returns."""
    try:
        return subprocess.run(argv, capture_output=True, timeout=60, check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _unmount(mount: Path) -> None:
    # A process that did not stop in time keeps the filesystem busy: detach it lazily rather
    # than leave a mount inside the work directory about to be deleted.
    if not _quiet(["umount", str(mount)]):
        _quiet(["umount", "-l", str(mount)])


def _unmount_fuse(fuse_dir: Path) -> None:
    # The loop device lets go of the file a moment after losetup -d returns.
    for _ in range(20):
        if _quiet(["fusermount3", "-u", str(fuse_dir)]):
            return
        time.sleep(0.1)
    _quiet(["fusermount3", "-u", "-z", str(fuse_dir)])
