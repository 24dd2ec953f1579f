"""Where and how eagerly the gateway's background work runs: records are stored when a core is free.

``SCHED_IDLE`` work is preempted by any normal task at once (a niced thread may first finish its
slice). On Linux these calls apply to the calling thread only (``pid`` 0), and only for a process
of its own: a gateway thread at idle priority could be preempted while holding the GIL
(docs/performance.md). The record writer also moves to CPUs the gateway does not run on, when
there are any (`run_apart`), and lowers its disk priority, so that its SQL, its syncs and their
page faults never take the gateway's core at the wrong moment. Elsewhere, or where not
permitted, these calls do nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
from collections.abc import Collection
from typing import Final

from rolecall.settings import Placement

__all__ = [
    "CATCH_UP_NICENESS",
    "background",
    "in_background",
    "io_priority",
    "lower",
    "normal",
    "run_apart",
]

NICENESS = 19
# Background work that fell behind runs at normal scheduling but this much nicer than the
# gateway: about a tenth of a contended core (CFS weight 110 vs 1024), enough to catch up at
# sustained load without taking half the gateway's core when it is saturated.
CATCH_UP_NICENESS = 10


# ioprio_set(2), ioprio_get(2): their system call numbers, and the classes and levels used here
# (linux/ioprio.h)
_IOPRIO_SET: Final = {"x86_64": 251, "aarch64": 30}.get(platform.machine())
_IOPRIO_GET: Final = {"x86_64": 252, "aarch64": 31}.get(platform.machine())
_IOPRIO_WHO_PROCESS: Final = 1
_IOPRIO_CLASS_SHIFT: Final = 13
_IOPRIO_CLASS_BE: Final = 2
# the lowest best-effort level, not the idle class: idle I/O can wait forever behind a busy
# disk, and the writer must still store within about a second (`writer_process.BEHIND_S`)
_IO_BACKGROUND: Final = (_IOPRIO_CLASS_BE << _IOPRIO_CLASS_SHIFT) | 7
_IO_NORMAL: Final = (_IOPRIO_CLASS_BE << _IOPRIO_CLASS_SHIFT) | 4


def lower(niceness: int) -> None:
    """Make the calling process ``niceness`` nicer (once, at start: an unprivileged process
    cannot undo it)."""
    with contextlib.suppress(AttributeError, OSError):
        os.nice(niceness)


def background() -> None:
    """Run the calling thread only when nothing else wants the core."""
    _io_priority(0, _IO_BACKGROUND)
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or not permitted
        with contextlib.suppress(AttributeError, OSError):
            os.nice(NICENESS)


def normal(pid: int = 0) -> bool:
    """Back to normal scheduling (so background work that fell behind catches up), for the calling
    thread or process ``pid``; False when not permitted."""
    _io_priority(pid, _IO_NORMAL)
    try:
        os.sched_setscheduler(pid, os.SCHED_OTHER, os.sched_param(0))
    except (AttributeError, OSError):
        return False
    return True


def _io_priority(pid: int, value: int) -> None:
    """Set the disk priority of the thread or process ``pid`` (0: the calling thread); the
    scheduler of the device decides what it means (mq-deadline and BFQ honour it)."""
    if _IOPRIO_SET is None:
        return
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None, use_errno=True).syscall(_IOPRIO_SET, _IOPRIO_WHO_PROCESS, pid, value)


def io_priority(pid: int = 0) -> int | None:
    """The disk priority of ``pid`` as ioprio_get(2) gives it (None where it cannot be read)."""
    if _IOPRIO_GET is None:
        return None
    try:
        value = ctypes.CDLL(None, use_errno=True).syscall(_IOPRIO_GET, _IOPRIO_WHO_PROCESS, pid)
    except (AttributeError, OSError):
        return None
    return None if value < 0 else int(value)


def run_apart(placement: Placement = "auto") -> frozenset[int] | None:
    """Move the calling process off the gateway's CPUs; returns the CPUs it now runs on (None:
    unchanged). It must still run on the gateway's CPUs when called (a child inherits them).

    ``auto``: every CPU this process may use that the gateway's affinity leaves out (its own core
    when there is one; a gateway free to run anywhere leaves none, and then idle priority alone
    keeps the writer out of its way). ``shared``: stay. A CPU list: those CPUs, where allowed.
    """
    if placement == "shared" or not hasattr(os, "sched_setaffinity"):
        return None
    try:
        gateway = os.sched_getaffinity(0)
        if isinstance(placement, frozenset):
            wanted: Collection[int] = placement
        else:
            wanted = _allowed() - gateway
        if not wanted:
            return None
        os.sched_setaffinity(0, wanted)
        return frozenset(os.sched_getaffinity(0))
    except OSError:  # none of them exists or is allowed here: stay where the gateway is
        return None


def _allowed() -> set[int]:
    """Every CPU this process may run on (its cpuset), found by asking for all of them: the
    kernel keeps those allowed. The affinity is restored before returning."""
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
        return set(os.sched_getaffinity(0))
    finally:
        os.sched_setaffinity(0, before)


def in_background() -> bool:
    """Whether the calling thread runs at idle priority now (True where that cannot be told)."""
    try:
        return os.sched_getscheduler(0) == os.SCHED_IDLE
    except (AttributeError, OSError):
        return True
