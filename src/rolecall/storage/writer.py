"""`BackgroundWriter`: storage writes off the request path, batched on one daemon thread.

Owns the write queue and its thread. `submit` never blocks and never raises a storage error: it
queues ``fn(*args)`` (normally a bound storage method) and returns. The thread takes whatever is
queued (up to ``max_batch`` calls, waiting at most ``max_delay_s`` for more once one arrives),
merges consecutive calls of the same batch method (``samples.add``, ``traces.add_spans``, ...) into one
call, i.e. one transaction, and runs them in submission order. A call that fails is retried once;
a merged call that fails is retried as the separate calls it was made of, so one bad record loses
only its own submission. Failures are logged (exception type and message, never arguments) and
counted in `stats`. `close` drains everything queued before it returns.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["BackgroundWriter", "WriterStats"]

log = logging.getLogger(__name__)

MERGEABLE: Final = frozenset({"add", "add_spans", "add_events"})
"""Store methods that append one sequence argument (``samples.add``, ``usage.add``, ...): consecutive
calls to the same store can be concatenated."""

_STOP: Final = object()


@dataclass(frozen=True, slots=True)
class _Call:
    fn: Callable[..., object]
    args: tuple[Any, ...]
    parts: tuple[_Call, ...] = ()
    """The separate submissions a merged call was made of (empty when not merged)."""

    @property
    def name(self) -> str:
        return getattr(self.fn, "__qualname__", None) or repr(self.fn)

    @property
    def count(self) -> int:
        return len(self.parts) or 1


@dataclass(slots=True)
class WriterStats:
    """Counters since the writer started; ``submitted = written + failed + dropped + queued``."""

    submitted: int = 0
    written: int = 0
    failed: int = 0
    dropped: int = 0
    retried: int = 0
    batches: int = 0
    last_error: str | None = field(default=None)


def _mergeable(call: _Call) -> bool:
    return (
        getattr(call.fn, "__name__", None) in MERGEABLE
        and len(call.args) == 1
        and isinstance(call.args[0], Sequence)
    )


def _same_target(a: _Call, b: _Call) -> bool:
    return a.fn == b.fn and _mergeable(a) and _mergeable(b)


def _merge_calls(calls: Sequence[_Call]) -> list[_Call]:
    """Concatenate runs of consecutive mergeable calls to the same method, keeping order."""
    runs: list[list[_Call]] = []
    for call in calls:
        if runs and _same_target(runs[-1][-1], call):
            runs[-1].append(call)
        else:
            runs.append([call])
    return [_merged(run) for run in runs]


def _merged(run: list[_Call]) -> _Call:
    if len(run) == 1:
        return run[0]
    items = [item for call in run for item in call.args[0]]
    return _Call(run[0].fn, (items,), parts=tuple(run))


def _describe(exc: BaseException) -> str:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first_line[:200]}"


class BackgroundWriter:
    """Runs storage writes on a daemon thread so callers never wait on the database.

    ``storage`` is the store the submitted calls usually target (kept for callers' convenience;
    the writer never closes it). Use as a context manager, or call `close` at shutdown.
    """

    def __init__(
        self,
        storage: object = None,
        *,
        max_batch: int = 256,
        max_delay_s: float = 0.005,
        max_queue: int = 100_000,
        retry_delay_s: float = 0.05,
    ) -> None:
        if max_batch < 1 or max_queue < 1:
            raise ValueError("max_batch and max_queue must be at least 1")
        self.storage = storage
        self._max_batch = max_batch
        self._max_delay_s = max_delay_s
        self._retry_delay_s = retry_delay_s
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._changed = threading.Condition()
        self._stats = WriterStats()
        self._accepted = 0
        self._settled = 0
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, name="rolecall-storage-writer", daemon=True
        )
        self._thread.start()

    # --- caller side ------------------------------------------------------------------------

    def submit(self, fn: Callable[..., object], *args: Any) -> bool:
        """Queue ``fn(*args)``; False (and counted as dropped) if closed or the queue is full."""
        with self._changed:
            self._stats.submitted += 1
            if not self._closed:
                try:
                    self._queue.put_nowait(_Call(fn, args))
                except queue.Full:
                    pass
                else:
                    self._accepted += 1
                    return True
            self._stats.dropped += 1
            dropped = self._stats.dropped
        if dropped == 1 or dropped % 1000 == 0:  # don't flood the log while overloaded
            name = _Call(fn, ()).name
            log.warning("storage write %s dropped (%d so far): closed or queue full", name, dropped)
        return False

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far is written (or failed); False on timeout."""
        with self._changed:
            target = self._accepted
            return self._changed.wait_for(lambda: self._settled >= target, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting writes, write everything already queued, and stop the thread."""
        with self._changed:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)

    @property
    def stats(self) -> WriterStats:
        """A snapshot of the counters."""
        with self._changed:
            return dataclasses.replace(self._stats)

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = self._collect(self._queue.get())
            for call in _merge_calls(batch):
                self._execute(call)
            with self._changed:
                self._stats.batches += 1 if batch else 0

    def _collect(self, first: object) -> tuple[list[_Call], bool]:
        """``first`` and whatever else arrives within the batch window; and whether to stop."""
        if first is _STOP:
            return [], True
        assert isinstance(first, _Call)
        batch = [first]
        deadline = time.monotonic() + self._max_delay_s
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            assert isinstance(item, _Call)
            batch.append(item)
        return batch, False

    def _execute(self, call: _Call) -> None:
        try:
            call.fn(*call.args)
        except Exception as exc:
            log.warning("storage write %s failed, retrying once: %s", call.name, _describe(exc))
            with self._changed:
                self._stats.retried += 1
            time.sleep(self._retry_delay_s)
            for part in call.parts or (call,):
                self._attempt_last(part)
        else:
            self._settle(written=call.count)

    def _attempt_last(self, call: _Call) -> None:
        try:
            call.fn(*call.args)
        except Exception as exc:
            described = _describe(exc)
            log.error("storage write %s failed after a retry: %s", call.name, described)
            self._settle(failed=call.count, error=f"{call.name}: {described}")
        else:
            self._settle(written=call.count)

    def _settle(self, *, written: int = 0, failed: int = 0, error: str | None = None) -> None:
        with self._changed:
            self._stats.written += written
            self._stats.failed += failed
            if error is not None:
                self._stats.last_error = error
            self._settled += written + failed
            self._changed.notify_all()
