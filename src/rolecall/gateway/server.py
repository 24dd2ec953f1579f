"""The one way to build the gateway's HTTP server: a uvicorn `Server` from `Settings`.

`rolecall serve`, `rolecall run`, the test harness and the benchmarks all serve through
`build_server`, so what is measured and tested is what runs: uvicorn with the `EdgeProtocol`
(`rolecall.gateway.edge`) as its HTTP protocol, the connection caps and client timeouts from
settings, and the file-descriptor budget below.

Descriptor budget: the soft RLIMIT_NOFILE is raised to the hard limit, then the connection cap
leaves room for one accept burst (the listen backlog: asyncio accepts up to that many sockets
before any protocol sees one), upstream sockets (a quarter of the limit: only connections with
a request in flight hold one), and the database, logs and spool (`FIXED_RESERVE`).
"""

from __future__ import annotations

import logging
import resource
from typing import Any, Final

import uvicorn

from rolecall.gateway.edge import EdgeLimits, EdgeState, edge_protocol
from rolecall.settings import Settings

__all__ = ["FIXED_RESERVE", "build_server", "connection_budget", "raise_fd_limit"]

log = logging.getLogger("rolecall.gateway")

FIXED_RESERVE: Final = 64
MAX_BACKLOG: Final = 2048  # uvicorn's default


def raise_fd_limit() -> int:
    """Raise the soft descriptor limit to the hard one (as Go's runtime does); the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):  # some containers refuse; the old limit stands
            log.info("could not raise RLIMIT_NOFILE from %d to %d", soft, target)
    return soft


def connection_budget(fd_limit: int, configured: int) -> tuple[int, int]:
    """(connection cap, listen backlog) for a process allowed ``fd_limit`` descriptors; a
    ``configured`` cap (0: none) is lowered to the budget, never raised."""
    backlog = max(16, min(MAX_BACKLOG, fd_limit // 8))
    budget = max(16, fd_limit - backlog - fd_limit // 4 - FIXED_RESERVE)
    if configured and configured < budget:
        return configured, backlog
    if configured:
        log.warning(
            "max_connections=%d is above what %d descriptors allow; capping at %d",
            configured,
            fd_limit,
            budget,
        )
    return budget, backlog


def build_server(
    app: Any, settings: Settings, **overrides: Any
) -> tuple[uvicorn.Server, EdgeState]:
    """The gateway's uvicorn server over ``app`` and its `EdgeState` (connection counts, shed
    connections); ``overrides`` go to `uvicorn.Config`."""
    max_connections, backlog = connection_budget(raise_fd_limit(), settings.max_connections)
    state = EdgeState(
        EdgeLimits(
            header_timeout_s=settings.client_header_timeout_s,
            body_timeout_s=settings.client_body_timeout_s,
            max_connections_per_client=settings.max_connections_per_client,
            max_connections=max_connections,
        )
    )
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,
        "lifespan": "on",
        "http": edge_protocol(state),
        "ws": "none",  # no route speaks WebSocket
        "backlog": backlog,
        # per-response work nobody here asked for: clients connect directly (no X-Forwarded-*
        # rewriting) and need no Server header
        "proxy_headers": False,
        "server_header": False,
        **overrides,
    }
    return uvicorn.Server(uvicorn.Config(app, **options)), state
