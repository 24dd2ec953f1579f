"""CPU priority of the gateway's background work: records are stored when a core is free.

``SCHED_IDLE`` work is preempted by any normal task at once (a niced thread may first finish its
slice). On Linux these calls apply to the calling thread only (``pid`` 0), and only for a process
of its own: a gateway thread at idle priority could be preempted while holding the GIL
(docs/performance.md). Elsewhere, or where not permitted, these calls do nothing.
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["CATCH_UP_NICENESS", "background", "in_background", "lower", "normal"]

NICENESS = 19
# Background work that fell behind runs at normal scheduling but this much nicer than the
# gateway: about a tenth of a contended core (CFS weight 110 vs 1024), enough to catch up at
# sustained load without taking half the gateway's core when it is saturated.
CATCH_UP_NICENESS = 10


def lower(niceness: int) -> None:
    """Make the calling process ``niceness`` nicer (once, at start: an unprivileged process
    cannot undo it)."""
    with contextlib.suppress(AttributeError, OSError):
        os.nice(niceness)


def background() -> None:
    """Run the calling thread only when nothing else wants the core."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or not permitted
        with contextlib.suppress(AttributeError, OSError):
            os.nice(NICENESS)


def normal(pid: int = 0) -> bool:
    """Back to normal scheduling (so background work that fell behind catches up), for the calling
    thread or process ``pid``; False when not permitted."""
    try:
        os.sched_setscheduler(pid, os.SCHED_OTHER, os.sched_param(0))
    except (AttributeError, OSError):
        return False
    return True


def in_background() -> bool:
    """Whether the calling thread runs at idle priority now (True where that cannot be told)."""
    try:
        return os.sched_getscheduler(0) == os.SCHED_IDLE
    except (AttributeError, OSError):
        return True
