"""The ports observation depends on: where records go and the stores profiles are built from.

Owns `Sink` (stores a `WriterMessage` and answers with the profiles that came due), `TaskQueue`
(runs calls in order off the request path), `SampleStore`, `ProfileStore` and `Aggregation` (which
record writer aggregates live profiles). The storage adapter
(`rolecall.storage`) implements every one of them. `TraceExport` (stored requests' traces on to a
tracing backend) is `rolecall.telemetry`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rolecall.profiles import Sample
from rolecall.protocol import ObservedPerformanceProfile

if TYPE_CHECKING:
    from rolecall.observe.loop_channel import LoopChannel
    from rolecall.observe.message import WriterMessage
    from rolecall.observe.observation import Observation
    from rolecall.observe.profile_refresh import RefreshResult

__all__ = [
    "Aggregation",
    "AggregationFactory",
    "Journal",
    "ProfileStore",
    "SampleStore",
    "Sink",
    "TaskQueue",
    "TraceExport",
    "TraceExportFactory",
]


class Journal(Protocol):
    """Local, crash-surviving storage for encoded observations until the sink has stored them
    (the sink reads it back: `rolecall.storage.spool`)."""

    def append(self, part: bytes) -> bool:
        """Keep ``part``; False when it could not be written (the caller keeps it instead)."""
        ...


class Sink(Protocol):
    """Where the recorder's messages are stored (a writer process, or this process)."""

    def write(self, message: WriterMessage) -> RefreshResult:
        """Store ``message`` (raise if it cannot be); return once it is committed, with the
        observed profiles that came due."""
        ...

    async def open_loop_channel(self) -> LoopChannel | None:
        """The running event loop's own connection to the writer (once); None when the sink
        has none (it stores in this process) or it was taken."""
        ...

    def hurry(self) -> None:
        """The gateway is stopping: store what is left without yielding to other work."""
        ...

    def close(self, timeout: float | None = None) -> None:
        """Release the sink; nothing written afterwards."""
        ...


class Aggregation(Protocol):
    """Whether this record writer aggregates live profiles now: one writer does, across every
    process on the database (`rolecall.cluster.aggregation`); the others only store."""

    def leading(self) -> bool:
        """Whether this writer aggregates now (re-checked at most about once a second)."""
        ...

    def gained(self) -> bool:
        """Whether leadership was taken since the last call (the windows held are stale)."""
        ...

    def stored_elsewhere(self) -> list[str]:
        """(The leader.) Endpoints whose samples other writers stored since the last call."""
        ...

    def stored_here(self, endpoint_ids: Iterable[str]) -> None:
        """(Not the leader.) Tell the leader this writer stored samples of these endpoints."""
        ...

    def close(self) -> None: ...


AggregationFactory = Callable[[str, Path | None], Aggregation]
"""Builds a writer's `Aggregation` inside the writer process from the database URL and the spool
directory (passed by reference to a module-level function, so a spawned process can get it)."""


class TraceExport(Protocol):
    """Sends the traces of requests just stored on to a tracing backend, from the record writer
    (never the request path): `rolecall.telemetry.otel`."""

    def export(
        self, observations: Sequence[Observation], traces: Sequence[Mapping[str, Any]]
    ) -> None:
        """Queue the traces of stored requests (``traces[i]``, a `RequestTrace` row, is
        ``observations[i]``'s); never waits on the backend, never raises."""
        ...

    def close(self) -> None:
        """Send what is queued (waiting a few seconds at most), then stop."""
        ...


TraceExportFactory = Callable[[], TraceExport]
"""Builds the exporter where the records are stored (in the writer process); picklable."""


class TaskQueue(Protocol):
    """Runs submitted calls one at a time, in order, on a thread of its own."""

    def submit(self, fn: Callable[..., object], *args: Any) -> bool:
        """Queue ``fn(*args)``; False when it was not accepted (closed, or full)."""
        ...

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far has run; False on timeout."""
        ...


class SampleStore(Protocol):
    """Benchmark and live samples, the input of profile aggregation."""

    def add(self, samples: Sequence[Sample]) -> None:
        """Append ``samples`` (all or none), in the caller's transaction if one is open."""
        ...

    def for_endpoint(
        self, endpoint_id: str, *, since_ms: int | None = None, source: str | None = None
    ) -> list[Sample]:
        """Samples of one endpoint, oldest first, at or after ``since_ms``, of ``source``."""
        ...

    def delete(self, endpoint_id: str | None = None, *, source: str | None = None) -> int:
        """Delete the samples of one endpoint (or all), of ``source`` (or any); how many went."""
        ...


class ProfileStore(Protocol):
    """The current observed performance profile of each endpoint."""

    def put(self, profile: ObservedPerformanceProfile) -> None:
        """Insert or replace the profile of ``profile.endpoint_id``."""
        ...
