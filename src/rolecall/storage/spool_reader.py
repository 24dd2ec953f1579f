"""The record writer's side of the spool (`rolecall.storage.spool`): claim, store, commit.

`SpoolReader.claim` reads what a tier holds beyond its stored positions — the durable tier first,
then the hand-off tier in memory — and the claim is committed once the database has its parts
(or released, for the next claim). When the database cannot take them, what waits in memory
moves to the durable tier (`SpoolReader.spill`), so a long outage is kept on disk, not in memory.
`backlog` tells any process how much waits, without a lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final

import orjson

from rolecall.files import private_dir, write_private
from rolecall.storage.spool import (
    HANDOFF,
    SUFFIX,
    Spool,
    alive,
    appending,
    now_ms,
    remove_tier,
    tiers,
)

__all__ = ["Claim", "SpoolReader", "backlog"]

CLAIM_BYTES: Final = 4 * 1024 * 1024  # at most this much per transaction of the writer
LOCK_WAIT_S: Final = 2.0  # a reader waits this long for another reader, then tries later
POSITIONS: Final = "positions.json"
UNBOUNDED: Final = 1 << 62
READ_CHUNK: Final = 64 * 1024  # the most one read of the spool copies (`_read_chunked`)


@dataclass(slots=True)
class Claim:
    """Records read from one tier, held under the reader lock until committed or released."""

    tier: Path
    parts: list[bytes]
    stamps: list[int]  # when each part was appended (epoch ms)
    more: bool  # the spool held more than this claim
    corrupt: int  # unreadable lines skipped
    _reader: SpoolReader
    _positions: dict[str, int] = field(default_factory=dict)
    _finished: list[str] = field(default_factory=list)  # consumed segments nobody appends to

    @property
    def oldest_ms(self) -> int | None:
        """When the oldest of the parts was appended."""
        return self.stamps[0] if self.stamps else None

    def commit(self) -> None:
        """The parts are stored: move the positions on, delete finished segments, unlock."""
        try:
            self._reader.save(self.tier, self._positions, self._finished)
        finally:
            self._reader.unlock()

    def release(self) -> None:
        """The parts could not be stored: leave them for the next claim."""
        self._reader.unlock()


class SpoolReader:
    """Claims what the spool in ``directory`` holds beyond the stored positions."""

    def __init__(self, directory: Path, *, claim_bytes: int = CLAIM_BYTES) -> None:
        self.directory = private_dir(directory)
        self._claim_bytes = claim_bytes
        self._lock_fd = -1
        self._durable: Spool | None = None  # this process's appends to the durable tier
        self.lag_s = 0.0  # how long the oldest record of the last claim had waited

    def claim(self) -> Claim | None:
        """The next records to store, from one tier (None when no other reader let go within
        `LOCK_WAIT_S`); the claim must be committed or released."""
        if not self._lock():
            return None
        try:
            claim = self._first_claim()
        except BaseException:
            self.unlock()
            raise
        oldest = claim.oldest_ms
        self.lag_s = 0.0 if oldest is None else max(0.0, (now_ms() - oldest) / 1000)
        return claim

    def _first_claim(self) -> Claim:
        """The first tier with anything to claim (or to tidy); an empty claim when none has."""
        found = tiers(self.directory)
        for index, tier in enumerate(found):
            claim = self._read(tier, _positions(tier))
            if claim.parts or claim._finished or claim.corrupt:
                claim.more = claim.more or index + 1 < len(found)
                return claim
        return Claim(self.directory, [], [], False, 0, self)

    def _read(self, tier: Path, positions: dict[str, int]) -> Claim:
        claim = Claim(tier, [], [], False, 0, self)
        budget = self._claim_bytes
        for segment, sealed in _segments(tier):
            start = positions.get(segment.name, 0)
            data, at_end = _read_from(segment, start, budget)
            end = data.rfind(b"\n") + 1
            for line in data[:end].splitlines():
                _take(line, claim)
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

    def spill(self) -> int:
        """Move what the hand-off tier holds to the durable tier, synced (the database cannot
        take it now: an outage is kept on disk, not in memory); how many parts moved. A full
        disk leaves the rest in memory."""
        found = tiers(self.directory)
        if len(found) < 2 or not self._lock():
            return 0
        moved = 0
        try:
            while True:
                claim = self._read(found[1], _positions(found[1]))
                if not self._moved(claim):
                    break
                self.save(found[1], claim._positions, claim._finished)
                moved += len(claim.parts)
                if not claim.more:
                    break
        finally:
            self.unlock()
        return moved

    def _moved(self, claim: Claim) -> bool:
        """Whether the claim's parts are in the durable tier now, synced (none: nothing to do)."""
        if not claim.parts:
            return bool(claim._finished)
        if self._durable is None:  # the gateways' appends bound the spool: not this one
            self._durable = Spool(self.directory, max_bytes=UNBOUNDED)
        into = self._durable
        appended = all(into.append(p, s) for p, s in zip(claim.parts, claim.stamps, strict=True))
        return appended and into.sync()

    def save(self, tier: Path, positions: dict[str, int], finished: list[str]) -> None:
        """Store a tier's positions (atomically: a reader killed meanwhile reads the old ones),
        then delete the finished segments and the lock files of writers that left nothing."""
        merged = {**_positions(tier), **positions}
        for name in finished:
            merged.pop(name, None)
        write_private(tier / POSITIONS, orjson.dumps(merged).decode())
        for name in finished:
            with contextlib.suppress(FileNotFoundError):
                (tier / name).unlink()
        _forget_dead_writers(tier)

    def tidy(self) -> None:
        """Remove the hand-off tier once nothing is left in it and nobody appends to it (the
        last writer of a spool, stopping), so memory holds no empty tiers of spools long gone.
        A gateway starting meanwhile makes a new one."""
        found = tiers(self.directory)
        if len(found) < 2 or not self._lock():
            return
        try:
            tier = found[1]
            if appending(tier):
                return
            left = self._read(tier, _positions(tier))
            if left.parts:
                return
            self.save(tier, left._positions, left._finished)  # sealed and read: deleted
            if any(tier.glob(f"*{SUFFIX}")):
                return
            remove_tier(tier)
            (self.directory / HANDOFF).unlink()
        except OSError:  # something appeared meanwhile: it stays
            return
        finally:
            self.unlock()

    def _lock(self) -> bool:
        if self._lock_fd < 0:
            self._lock_fd = os.open(self.directory / "reader.lock", os.O_WRONLY | os.O_CREAT, 0o600)
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
        if self._durable is not None:
            self._durable.close()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1


def _take(line: bytes, claim: Claim) -> None:
    stamp, _, part = line.partition(b" ")
    if not stamp.isdigit() or not part:
        claim.corrupt += 1
        return
    claim.parts.append(part)
    claim.stamps.append(int(stamp))


def _segments(tier: Path) -> Iterator[tuple[Path, bool]]:
    """A tier's segments in append order, each with whether its writer will never append to it
    again."""
    paths = sorted(tier.glob(f"*{SUFFIX}"))
    for index, path in enumerate(paths):
        writer = path.name.split(".", 1)[0]
        later = index + 1 < len(paths) and paths[index + 1].name.startswith(writer + ".")
        yield path, later or not alive(tier / f"{writer}.lock")


def _forget_dead_writers(tier: Path) -> None:
    writers = {p.name.split(".", 1)[0] for p in tier.glob(f"*{SUFFIX}")}
    for lock in tier.glob("*.lock"):
        if lock.stem not in writers and lock.name != "reader.lock" and not alive(lock):
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()


def _positions(tier: Path) -> dict[str, int]:
    """How far the readers got in each segment of a tier, as last saved."""
    try:
        loaded = orjson.loads((tier / POSITIONS).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {str(k): v for k, v in loaded.items() if isinstance(v, int) and v >= 0}


def backlog(directory: Path) -> tuple[int, int | None]:
    """What the spool in ``directory`` holds that is not stored yet, in both tiers: (bytes, when
    the oldest of it was appended, in epoch ms; None when nothing waits or its line is
    unreadable). Read-only and lock-free, so any process may ask (readiness): positions as last
    saved, so a claim being stored counts."""
    pending, oldest = 0, None
    for tier in tiers(directory):
        positions = _positions(tier)
        for path in sorted(tier.glob(f"*{SUFFIX}")):
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
            data = _read_chunked(handle, max(budget, 0))
            if b"\n" not in data:
                data += handle.readline()
            return data, handle.read(1) == b""
    except FileNotFoundError:
        return b"", True


def _read_chunked(handle: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes, `READ_CHUNK` per system call: on a kernel built without preemption
    (PREEMPT_NONE, common on servers) nothing else runs on this core until a call returns, so
    the writer's calls stay short whatever its priority."""
    chunks = []
    while size > 0:
        chunk = handle.read(min(size, READ_CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
