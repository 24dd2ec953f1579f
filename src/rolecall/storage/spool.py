"""The record spool: answered requests' records on local disk until the database has them.

The gateway appends each encoded observation part to a segment file (`Spool.append`: one ``write``
on an ``O_APPEND`` descriptor, no fsync: the page cache survives a killed process, and a machine
crash is not what this guards against). The record writer reads what is new (`SpoolReader.claim`),
stores it in one transaction, and only then moves its read positions on (`Claim.commit`); a writer
or gateway killed in between leaves the records in the spool, and the next reader stores them
again, where the database's request ids make the second store a no-op. So an answered request's
record survives a killed gateway, a killed writer and a database outage.

Layout of ``DATA_DIR/spool/``: per gateway process ``<writer>.lock`` (held locked for the process's
life, so a reader can tell a dead writer's last segment is complete) and segments
``<writer>.<seq>.spool``, each line ``<append ms> <part>``; ``positions.json`` holds how far the
readers got in each segment and ``reader.lock`` serialises readers. A consumed segment that no
writer appends to any more is deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import orjson

from rolecall.files import private_dir, write_private

__all__ = ["Claim", "Spool", "SpoolReader", "backlog"]

log = logging.getLogger("rolecall.observe")

SEGMENT_BYTES: Final = 8 * 1024 * 1024  # a segment is closed for appends past this size
CLAIM_BYTES: Final = 4 * 1024 * 1024  # at most this much per transaction of the writer
RESCAN_S: Final = 1.0  # how often a spool over its bound looks again at what is left on disk
WARN_EVERY_S: Final = 10.0  # a full spool says so at most this often
LOCK_WAIT_S: Final = 2.0  # a reader waits this long for another reader, then tries later
SUFFIX: Final = ".spool"
POSITIONS: Final = "positions.json"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Spool:
    """The gateway's side: appends parts to this process's current segment (thread-safe).

    ``max_bytes`` bounds the whole directory: past it, while the database is down for long,
    new records are dropped with an error in the log rather than filling the disk.
    """

    def __init__(
        self, directory: Path, *, max_bytes: int, segment_bytes: int = SEGMENT_BYTES
    ) -> None:
        self.directory = private_dir(directory)
        self._max_bytes = max_bytes
        self._segment_bytes = segment_bytes
        self._writer = f"{_now_ms():013d}-{os.getpid()}"
        self._lock = threading.Lock()
        self._lock_fd = os.open(self.directory / f"{self._writer}.lock", _CREATE, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)  # released by the kernel when we die
        self._seq = 0
        self._fd = -1
        self._size = 0
        self._used = _spool_bytes(self.directory)  # bytes on disk at the last look, plus ours
        self._looked = time.monotonic()
        self._warned = 0.0
        self.dropped = 0
        self._open_segment()

    def append(self, part: bytes) -> bool:
        """Spool one part; True when the spool took charge of it (written, or dropped because
        the spool is full), False when it could not be written (the caller keeps it)."""
        line = b"%d %s\n" % (_now_ms(), part)
        with self._lock:
            if self._fd < 0:
                return False
            if self._used + len(line) > self._max_bytes and not self._room(len(line)):
                self._drop()
                return True
            if self._size and self._size + len(line) > self._segment_bytes:
                self._open_segment()
            try:
                written = os.write(self._fd, line)
            except OSError as exc:
                return self._failed(f"{type(exc).__name__}: {exc}")
            if written != len(line):  # disk full: the torn line stays at the end of its segment
                return self._failed("short write (disk full?)")
            self._size += written
            self._used += written
            return True

    def close(self) -> None:
        """Stop appending; what was written stays for the reader."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
            self._fd = -1
            if self._lock_fd >= 0:
                os.close(self._lock_fd)  # unlocks: the last segment is complete
            self._lock_fd = -1

    def _open_segment(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._seq += 1
        path = self.directory / f"{self._writer}.{self._seq:06d}{SUFFIX}"
        self._fd = os.open(path, _APPEND, 0o600)
        self._size = 0

    def _failed(self, why: str) -> bool:
        log.error("cannot append to the record spool (%s); records are kept in memory", why)
        with contextlib.suppress(OSError):
            self._open_segment()  # a new segment, so a torn line is never followed by another
        return False

    def _room(self, needed: int) -> bool:
        """Whether the reader has freed enough since the last look (looked at once a second)."""
        now = time.monotonic()
        if now - self._looked >= RESCAN_S:
            self._used = _spool_bytes(self.directory)
            self._looked = now
        return self._used + needed <= self._max_bytes

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


@dataclass(slots=True)
class Claim:
    """Records read from the spool, held under the reader lock until committed or released."""

    parts: list[bytes]
    oldest_ms: int | None  # when the oldest of them was appended
    more: bool  # the spool held more than one claim's worth
    corrupt: int  # unreadable lines skipped
    _reader: SpoolReader
    _positions: dict[str, int] = field(default_factory=dict)
    _finished: list[str] = field(default_factory=list)  # consumed segments nobody appends to

    def commit(self) -> None:
        """The parts are stored: move the positions on, delete finished segments, unlock."""
        try:
            self._reader.save(self._positions, self._finished)
        finally:
            self._reader.unlock()

    def release(self) -> None:
        """The parts could not be stored: leave them for the next claim."""
        self._reader.unlock()


class SpoolReader:
    """The record writer's side: claims what the spool holds beyond the stored positions."""

    def __init__(self, directory: Path, *, claim_bytes: int = CLAIM_BYTES) -> None:
        self.directory = private_dir(directory)
        self._claim_bytes = claim_bytes
        self._lock_fd = -1
        self.lag_s = 0.0  # how long the oldest record of the last claim had waited

    def claim(self) -> Claim | None:
        """The next records to store (None when no other reader let go within `LOCK_WAIT_S`);
        the claim must be committed or released."""
        if not self._lock():
            return None
        try:
            claim = self._read(self._load())
        except BaseException:
            self.unlock()
            raise
        oldest = claim.oldest_ms
        self.lag_s = 0.0 if oldest is None else max(0.0, (_now_ms() - oldest) / 1000)
        return claim

    def _read(self, positions: dict[str, int]) -> Claim:
        claim = Claim([], None, False, 0, self)
        budget = self._claim_bytes
        for segment, sealed in self._segments():
            start = positions.get(segment.name, 0)
            data, at_end = _read_from(segment, start, budget)
            end = data.rfind(b"\n") + 1
            for line in data[:end].splitlines():
                self._take(line, claim)
            claim._positions[segment.name] = start + end
            budget -= end
            if sealed and at_end:  # nobody appends to it any more and all of it was read
                claim._finished.append(segment.name)
                if data[end:]:  # a line torn by a failed write: unreadable, dropped with it
                    claim.corrupt += 1
            if budget <= 0:
                claim.more = True
                break
        return claim

    @staticmethod
    def _take(line: bytes, claim: Claim) -> None:
        stamp, _, part = line.partition(b" ")
        if not stamp.isdigit() or not part:
            claim.corrupt += 1
            return
        claim.parts.append(part)
        if claim.oldest_ms is None:
            claim.oldest_ms = int(stamp)

    def _segments(self) -> Iterator[tuple[Path, bool]]:
        """Segments in append order, each with whether its writer will never append to it again."""
        paths = sorted(self.directory.glob(f"*{SUFFIX}"))
        for index, path in enumerate(paths):
            writer = path.name.split(".", 1)[0]
            later = index + 1 < len(paths) and paths[index + 1].name.startswith(writer + ".")
            yield path, later or not _alive(self.directory / f"{writer}.lock")

    def _load(self) -> dict[str, int]:
        return _positions(self.directory)

    def save(self, positions: dict[str, int], finished: list[str]) -> None:
        """Store positions (atomically: a reader killed meanwhile reads the old ones), then
        delete the finished segments and the lock files of writers that left nothing."""
        merged = {**self._load(), **positions}
        for name in finished:
            merged.pop(name, None)
        write_private(self.directory / POSITIONS, orjson.dumps(merged).decode())
        for name in finished:
            with contextlib.suppress(FileNotFoundError):
                (self.directory / name).unlink()
        self._forget_dead_writers()

    def _forget_dead_writers(self) -> None:
        writers = {p.name.split(".", 1)[0] for p in self.directory.glob(f"*{SUFFIX}")}
        for lock in self.directory.glob("*.lock"):
            if lock.stem not in writers and lock.name != "reader.lock" and not _alive(lock):
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()

    def _lock(self) -> bool:
        if self._lock_fd < 0:
            self._lock_fd = os.open(self.directory / "reader.lock", _CREATE, 0o600)
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.01)
            else:
                return True

    def unlock(self) -> None:
        if self._lock_fd >= 0:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1


def _positions(directory: Path) -> dict[str, int]:
    """How far the readers got in each segment, as last saved."""
    try:
        loaded = orjson.loads((directory / POSITIONS).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {str(k): v for k, v in loaded.items() if isinstance(v, int) and v >= 0}


def backlog(directory: Path) -> tuple[int, int | None]:
    """What the spool holds that is not stored yet: (bytes, when the oldest of it was appended,
    in epoch ms; None when nothing waits or its line is unreadable). Read-only and lock-free, so
    any process may ask (readiness): positions as last saved, so a claim being stored counts."""
    positions = _positions(directory)
    pending, oldest = 0, None
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        try:
            size = path.stat().st_size
        except FileNotFoundError:  # stored and deleted meanwhile
            continue
        start = positions.get(path.name, 0)
        if size > start:
            pending += size - start
            oldest = oldest if oldest is not None else _stamp_at(path, start)
    return pending, oldest


def _stamp_at(path: Path, start: int) -> int | None:
    """The append time of the line at ``start``."""
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            stamp = handle.read(20).partition(b" ")[0]
    except OSError:
        return None
    return int(stamp) if stamp.isdigit() else None


def _read_from(path: Path, start: int, budget: int) -> tuple[bytes, bool]:
    """Up to ``budget`` bytes from ``start`` (at least one whole line even when it alone is
    longer), and whether that reached the end of the file."""
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            data = handle.read(max(budget, 0))
            if b"\n" not in data:
                data += handle.readline()
            return data, handle.read(1) == b""
    except FileNotFoundError:
        return b"", True


def _alive(lock: Path) -> bool:
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
