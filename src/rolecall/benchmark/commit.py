"""Committing a graded case: result and sample in one transaction on the storage writer thread.

The runner awaits each commit before the case counts as done, so a case is either stored with its
sample or not at all; this is what lets a cancelled or killed run keep exactly what it reported.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager

from rolecall.benchmark.ports import BenchmarkStore
from rolecall.benchmark.results import BenchResultRecord
from rolecall.benchmark.runner import Commit
from rolecall.errors import RolecallError
from rolecall.observe.evidence import EvidenceIntake
from rolecall.observe.ports import TaskQueue
from rolecall.profiles import Sample

__all__ = ["WriterClosedError", "settle", "writer_commit"]


class WriterClosedError(RolecallError):
    """The storage writer stopped: nothing more can be committed; the run fails with this."""


def settle(future: asyncio.Future[bool], value: bool | None, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(bool(value))


def writer_commit(
    store: BenchmarkStore,
    evidence: EvidenceIntake,
    writer: TaskQueue,
    batch: Callable[[], AbstractContextManager[None]],
) -> Commit:
    """Commit a result and its sample in one transaction (``batch``) on the writer thread."""

    async def commit(result: BenchResultRecord, sample: Sample | None) -> bool:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()

        def write() -> None:
            try:
                with batch():
                    new = store.put_result(result)
                    if new and sample is not None:
                        evidence.add([sample])
            except Exception as exc:  # reported to the runner, which stops the run
                loop.call_soon_threadsafe(settle, future, None, exc)
            else:
                loop.call_soon_threadsafe(settle, future, new, None)

        if not writer.submit(write):
            raise WriterClosedError("the storage writer is closed")
        return await future

    return commit
