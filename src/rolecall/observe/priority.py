"""CPU priority of the gateway's background work: records are stored when a core is free.

Under Linux's EEVDF scheduler a niced thread may still finish its slice (a few ms) before a woken
request handler runs; ``SCHED_IDLE`` work is preempted by any normal task at once. On Linux these
calls apply to the calling thread only (``pid`` 0). Only for a process of its own: a thread of the
gateway process at idle priority can be preempted while it holds the GIL, and the event loop then
waits for it behind every other idle task (a priority inversion measured as multi-ms stalls).
Elsewhere, or where not permitted, these calls do nothing.
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["background", "normal"]

NICENESS = 19


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
