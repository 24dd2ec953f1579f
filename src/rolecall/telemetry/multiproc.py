"""Metrics of several worker processes as one gateway's: prometheus-client's multiprocess mode.

With `rolecall serve --workers N` each worker keeps its metric values in files of its own in one
shared directory (``DATA_DIR/metrics``) and a scrape, whichever worker answers it, adds up every
process's files. The supervisor empties the directory before the workers start (`prepare`: a
previous run's numbers would add to this one's) and names it in ``PROMETHEUS_MULTIPROC_DIR``,
which the workers inherit and prometheus-client reads when it is first imported; `use_directory`
makes sure of it in a worker whatever was imported first. A worker that exits is marked dead
(`process_exited`): its counters stay in the sums, its live gauges go.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Final

from rolecall.files import private_dir

__all__ = ["ENV", "directory", "metrics_dir", "prepare", "process_exited", "use_directory"]

ENV: Final = "PROMETHEUS_MULTIPROC_DIR"


def metrics_dir(data_dir: Path) -> Path:
    return data_dir / "metrics"


def prepare(data_dir: Path) -> Path:
    """(The supervisor, before any worker starts.) An empty directory for this run's metric
    files, named in the environment the workers inherit."""
    path = metrics_dir(data_dir)
    shutil.rmtree(path, ignore_errors=True)
    private_dir(path)
    os.environ[ENV] = str(path)
    return path


def directory() -> Path | None:
    """The shared metrics directory this process writes to, or None (metrics of its own)."""
    value = os.environ.get(ENV)
    return Path(value) if value else None


def use_directory() -> None:
    """Before the first metric is made: keep values in the shared directory's files even if
    prometheus-client was imported before the environment named it."""
    from prometheus_client import values

    if directory() is not None and values.ValueClass is values.MutexValue:
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


def process_exited(pid: int) -> None:
    """(The supervisor.) A worker is gone: drop its live gauges from the sums."""
    path = directory()
    if path is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]
