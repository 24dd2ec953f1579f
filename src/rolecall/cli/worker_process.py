"""Inside one worker of `rolecall serve --workers N`: its own services, the shared port.

The supervisor (`rolecall.cli.workers`) spawns each worker as a fresh interpreter and passes it
what it cannot make alone: its listening socket (one of the port's ``SO_REUSEPORT`` group) and its
channel to the one record writer. The worker builds its own `Services` — its own event loop,
database engine and upstream session, nothing shared with another process — and serves exactly
as `rolecall serve` does with one process; what the other workers change reaches it through the
change notices of `rolecall.cluster`, as between replicas. It tells the supervisor once it serves,
and stops cleanly (SIGTERM) when the supervisor dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from multiprocessing.connection import Connection
from socket import socket
from typing import Any, Final

from rolecall.errors import RolecallError
from rolecall.settings import Settings
from rolecall.storage.record_writer import WriterLink
from rolecall.storage.writer_process import name_process

__all__ = ["READY", "serve_worker"]

READY: Final = b"serving"
PR_SET_PDEATHSIG: Final = 1  # linux/prctl.h
CONFIG_ERROR_EXIT: Final = 2


def serve_worker(
    settings: Settings,
    listener: socket,
    link: WriterLink | None,
    ready: Connection,
    supervisor: int,
    extra_inventory: dict[str, Any] | None = None,
) -> None:
    """(A worker process's target.) Serve on ``listener`` until stopped; ``ready`` gets `READY`
    once requests are being served."""
    _stop_with(supervisor)
    name_process("rolecall-worker")
    from rolecall.bootstrap import build_services
    from rolecall.cli.serve import serve_services, start_logging

    start_logging(settings)

    try:
        services = build_services(settings, extra_inventory=extra_inventory, writer_link=link)
    except RolecallError as exc:  # checked by the supervisor already; changed on disk since
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(CONFIG_ERROR_EXIT)

    async def serving() -> None:
        with contextlib.suppress(OSError):  # the supervisor is gone: it stops us anyway
            ready.send_bytes(READY)
        ready.close()

    serve_services(services, sockets=[listener], on_serving=serving)


def _stop_with(supervisor: int) -> None:
    """A worker never outlives its supervisor: when it dies (even by kill -9) the kernel sends
    this process SIGTERM, which stops it cleanly (Linux; elsewhere the supervisor's own stop)."""
    with contextlib.suppress(AttributeError, OSError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != supervisor:  # it died before the request took effect
        sys.exit(0)
