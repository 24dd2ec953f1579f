"""The record spool: answered requests' records kept outside the process until the database has them.

The gateway appends each encoded observation part to a segment file (`Spool.append`: one ``write``
on an ``O_APPEND`` descriptor, no fsync: what is written survives a killed process). The record
writer reads what is new (`rolecall.storage.spool_reader`), stores it in one transaction, and only
then moves its read positions on; a writer or gateway killed in between leaves the records in the
spool, and the next reader stores them again, where the database's request ids make the second
store a no-op. So an answered request's record survives a killed gateway, a killed writer and a
database outage.

Two tiers, so that the request path never waits on a disk. Gateways append to the *hand-off* tier:
a private directory in memory (tmpfs, ``/dev/shm``) linked from the spool directory as `HANDOFF`.
On a filesystem with a journal, an append that changes a file's size or times can wait for the
journal's commit: milliseconds on a slow disk, while the writer's own commits keep the journal
busy (docs/performance.md §Records off the request path). A tmpfs append is a copy into memory.
What the writer cannot store (the database is down) it moves to the *durable* tier, the spool
directory itself on disk, with an fsync (`Spool.sync`), so a long outage neither fills memory
nor is lost with the machine. Without a usable tmpfs, or with ``ROLECALL_SPOOL_MEMORY=false``,
gateways append to the durable tier directly.

Layout of a tier: per appending process ``<writer>.lock`` (held locked for the process's life, so
a reader can tell a dead writer's last segment is complete) and segments ``<writer>.<seq>.spool``,
each line ``<append ms> <part>``; ``positions.json`` holds how far the readers got in each
segment. ``reader.lock`` in the spool directory serialises readers. A consumed segment that no
process appends to any more is deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import stat
import threading
import time
from pathlib import Path
from typing import Final

from rolecall.files import private_dir, write_private

__all__ = [
    "HANDOFF",
    "Spool",
    "appending",
    "handoff_tier",
    "is_tmpfs",
    "now_ms",
    "open_spool",
    "remove_tier",
    "tiers",
]

log = logging.getLogger("rolecall.observe")

SEGMENT_BYTES: Final = 8 * 1024 * 1024  # a segment is closed for appends past this size
RESCAN_S: Final = 1.0  # how often a spool over its bound looks again at what is left on disk
WARN_EVERY_S: Final = 10.0  # a full spool says so at most this often
SUFFIX: Final = ".spool"
HANDOFF: Final = "handoff"  # the spool directory's link to its hand-off tier in memory
MEMORY_ROOT: Final = Path("/dev/shm")
ORIGIN: Final = "origin"  # in a hand-off tier: the spool directory it belongs to
_TIER_PREFIX: Final = f"rolecall-{os.getuid()}-"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Spool:
    """One process's appends to one tier (thread-safe).

    ``max_bytes`` bounds the whole spool, both tiers: past it, while the database is down for
    long, new records are dropped with an error in the log rather than filling the disk.
    """

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int,
        segment_bytes: int = SEGMENT_BYTES,
        root: Path | None = None,
    ) -> None:
        """Append to the tier ``directory`` of the spool ``root`` (default: the same)."""
        self.directory = private_dir(directory)
        self.root = self.directory if root is None else root
        self._max_bytes = max_bytes
        self._segment_bytes = segment_bytes
        self._writer = f"{now_ms():013d}-{os.getpid()}"
        self._lock = threading.Lock()
        self._lock_fd = os.open(self.directory / f"{self._writer}.lock", _CREATE, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)  # released by the kernel when we die
        self._seq = 0
        self._fd = -1
        self._size = 0
        self._new_segment = False  # created since the last `sync`: the directory needs one too
        self._used = self._spooled()  # bytes in the spool at the last look, plus ours
        self._looked = time.monotonic()
        self._warned = 0.0
        self._failed_logged = -WARN_EVERY_S
        self.dropped = 0
        self.failed = 0  # appends that could not be written anywhere (kept in memory)
        self._closed = False
        self._open_segment()

    def append(self, part: bytes, stamp_ms: int | None = None) -> bool:
        """Spool one part (appended now, or at ``stamp_ms`` when it moves from another tier);
        True when the spool took charge of it (written, or dropped because the spool is full),
        False when it could not be written (the caller keeps it)."""
        line = b"%d %s\n" % (now_ms() if stamp_ms is None else stamp_ms, part)
        with self._lock:
            if self._closed:
                return False
            if self._used + len(line) > self._max_bytes and not self._room(len(line)):
                self._drop()
                return True
            failure = self._write(line)
            if failure is not None and self.directory != self.root and self._to_disk(failure):
                failure = self._write(line)  # memory is full: the durable tier takes the rest
            if failure is not None:
                return self._failed(failure)
            return True

    def _write(self, line: bytes) -> str | None:
        """Append one line to the current segment (a new one past `segment_bytes`); why not,
        when it could not."""
        try:
            if self._fd < 0 or (self._size and self._size + len(line) > self._segment_bytes):
                self._open_segment()
            written = os.write(self._fd, line)
        except OSError as exc:
            return f"{type(exc).__name__}: {exc}"
        if written != len(line):  # full: the torn line stays at the end of its segment
            return "short write (full?)"
        self._size += written
        self._used += written
        return None

    def _to_disk(self, why: str) -> bool:
        """Append to the durable tier from now on (the hand-off tier's filesystem is full or
        failing); False when that cannot be set up either. The hand-off segment is sealed: a
        line torn there is skipped by the reader, and written again here."""
        log.warning(
            "record spool: cannot append in memory (%s); appending to %s on disk from now on",
            why,
            self.root,
        )
        try:
            lock = os.open(private_dir(self.root) / f"{self._writer}.lock", _CREATE, 0o600)
            fcntl.flock(lock, fcntl.LOCK_EX)
        except OSError as exc:
            log.error("record spool: cannot append on disk either (%s)", exc)
            return False
        self.directory = self.root
        os.close(self._lock_fd)  # unlocks the hand-off tier: its last segment is complete
        self._lock_fd = lock
        with contextlib.suppress(OSError):  # else the next append tries again
            self._open_segment()
        return True

    def sync(self) -> bool:
        """Make what was appended survive the machine (the writer, off the request path)."""
        with self._lock:
            try:
                if self._fd >= 0:
                    os.fsync(self._fd)
                if self._new_segment:
                    _sync_dir(self.directory)
                    self._new_segment = False
            except OSError as exc:
                log.error("cannot sync the record spool (%s: %s)", type(exc).__name__, exc)
                return False
            return True

    def close(self) -> None:
        """Stop appending; what was written stays for the reader."""
        with self._lock:
            self._closed = True
            if self._fd >= 0:
                os.close(self._fd)
            self._fd = -1
            if self._lock_fd >= 0:
                os.close(self._lock_fd)  # unlocks: the last segment is complete
            self._lock_fd = -1

    def _open_segment(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._seq += 1
        path = self.directory / f"{self._writer}.{self._seq:06d}{SUFFIX}"
        self._fd = os.open(path, _APPEND, 0o600)
        self._size = 0
        self._new_segment = True

    def _failed(self, why: str) -> bool:
        self.failed += 1
        now = time.monotonic()
        if now - self._failed_logged >= WARN_EVERY_S:  # not a line per request
            self._failed_logged = now
            log.error(
                "cannot append to the record spool (%s); records are kept in memory "
                "(%d appends failed so far)",
                why,
                self.failed,
            )
        with contextlib.suppress(OSError):
            self._open_segment()  # a new segment, so a torn line is never followed by another
        return False

    def _room(self, needed: int) -> bool:
        """Whether the reader has freed enough since the last look (looked at once a second)."""
        now = time.monotonic()
        if now - self._looked >= RESCAN_S:
            self._used = self._spooled()
            self._looked = now
        return self._used + needed <= self._max_bytes

    def _spooled(self) -> int:
        """What the spool holds: this tier and, appending to the hand-off tier, the durable one
        (what the writer moved there during an outage)."""
        durable = 0 if self.root == self.directory else _spool_bytes(self.root)
        return _spool_bytes(self.directory) + durable

    def _drop(self) -> None:
        self.dropped += 1
        now = time.monotonic()
        if now - self._warned >= WARN_EVERY_S:
            self._warned = now
            log.error(
                "record spool full (%d bytes, limit %d): %d answered requests' records dropped "
                "so far; is the database down? raise ROLECALL_SPOOL_MAX_BYTES to hold more",
                self._used,
                self._max_bytes,
                self.dropped,
            )


_CREATE: Final = os.O_WRONLY | os.O_CREAT
_APPEND: Final = os.O_WRONLY | os.O_CREAT | os.O_APPEND


def open_spool(directory: Path, *, memory: bool, max_bytes: int) -> Spool:
    """A gateway's appends to the spool in ``directory``: to its hand-off tier in memory when
    ``memory`` and the machine allows (`handoff_tier`), else, or when memory fails from the
    start (a full tmpfs), to ``directory`` on disk."""
    try:
        tier = handoff_tier(directory, memory=memory)
        return Spool(tier, max_bytes=max_bytes, root=directory)
    except OSError as exc:
        log.warning("record spool: cannot append in memory (%s); appending on disk", exc)
        return Spool(directory, max_bytes=max_bytes)


def handoff_tier(directory: Path, *, memory: bool, root: Path = MEMORY_ROOT) -> Path:
    """Where gateways append the records of the spool in ``directory``: its hand-off tier in
    memory when ``memory`` and ``root`` is a tmpfs this process may write, else ``directory``.

    The tier is ``root/rolecall-<uid>-<hash of the directory>``, linked from ``directory`` as
    `HANDOFF` (every process of one spool finds the same one; readers follow the link). A link
    left by an earlier run is kept while its tier exists, even when ``memory`` is now off, so
    what it holds is still stored; one whose tier is gone (a reboot) is replaced."""
    directory = private_dir(directory)
    found = tiers(directory)
    if len(found) > 1:
        return found[1]
    if not memory or not is_tmpfs(root):
        return directory
    _sweep(root)
    origin = str(directory.resolve())
    digest = hashlib.sha256(origin.encode()).hexdigest()[:16]
    tier = root / f"{_TIER_PREFIX}{digest}"
    try:
        tier.mkdir(mode=0o700)
    except FileExistsError:
        pass
    except OSError as exc:  # full, read-only: the disk tier it is
        log.warning("record spool: cannot use %s (%s); appending on disk", root, exc)
        return directory
    if not _ours(tier):  # a shared directory: anyone could have made that name first
        log.warning("record spool: %s is not a private directory of ours; appending on disk", tier)
        return directory
    try:
        write_private(tier / ORIGIN, origin)
    except OSError:
        with contextlib.suppress(OSError):
            tier.rmdir()  # nothing in it yet: not left behind for the sweep to puzzle over
        raise
    link = directory / HANDOFF
    with contextlib.suppress(FileNotFoundError):
        link.unlink()  # dangling: its tier went with a reboot
    with contextlib.suppress(FileExistsError):  # another worker of this spool made it first
        link.symlink_to(tier, target_is_directory=True)
    return link.resolve()


def _ours(tier: Path) -> bool:
    """Whether ``tier`` is a real directory (not a link) of this user that only it can enter."""
    try:
        info = os.lstat(tier)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and info.st_mode & 0o077 == 0


def _sweep(root: Path) -> None:
    """Remove this user's hand-off tiers whose spool directory is gone (deleted with what it
    held: nothing can store them any more) and that nobody appends to."""
    for tier in root.glob(f"{_TIER_PREFIX}*"):
        if not _ours(tier):
            continue
        try:
            origin = Path((tier / ORIGIN).read_text())
            if origin.is_dir() or appending(tier):
                continue
            remove_tier(tier)
        except OSError:  # not ours, or changing meanwhile: left alone
            continue


def appending(tier: Path) -> bool:
    """Whether a live process appends to ``tier`` (holds one of its lock files)."""
    return any(alive(lock) for lock in tier.glob("*.lock"))


def remove_tier(tier: Path) -> None:
    """Delete a hand-off tier and what is left in it (OSError when something is in use or
    appears meanwhile: the caller leaves it)."""
    for path in tier.iterdir():
        path.unlink()
    tier.rmdir()


def tiers(directory: Path) -> list[Path]:
    """The spool's tiers in the order they are read: the durable one (``directory``: what was
    moved there is the oldest) and then the hand-off tier in memory, when there is one."""
    link = directory / HANDOFF
    return [directory, link.resolve()] if link.is_dir() else [directory]


def is_tmpfs(root: Path) -> bool:
    """Whether ``root`` is a mounted tmpfs that this process may write to."""
    if not os.access(root, os.W_OK | os.X_OK):
        return False
    try:
        mounts = Path("/proc/self/mounts").read_text()
    except OSError:
        return False
    target = str(root.resolve())
    return any(
        fields[1] == target and fields[2] == "tmpfs"
        for fields in (line.split() for line in mounts.splitlines())
        if len(fields) > 2
    )


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def alive(lock: Path) -> bool:
    """Whether a process holds ``lock`` (a writer that may still append)."""
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _spool_bytes(directory: Path) -> int:
    total = 0
    for path in directory.glob(f"*{SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            total += path.stat().st_size
    return total
