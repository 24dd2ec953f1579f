"""The ports observation depends on: where records go and the stores profiles are built from.

Owns `Sink` (stores a `WriterMessage` and answers with the profiles that came due), `TaskQueue`
(runs calls in order off the request path), `SampleStore` and `ProfileStore`. The storage adapter
(`rolecall.storage`) implements every one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from rolecall.profiles import Sample
from rolecall.protocol import ObservedPerformanceProfile

if TYPE_CHECKING:
    from rolecall.observe.loop_channel import LoopChannel
    from rolecall.observe.message import WriterMessage
    from rolecall.observe.profile_refresh import RefreshResult

__all__ = ["Journal", "ProfileStore", "SampleStore", "Sink", "TaskQueue"]


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
