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

import errno
import logging
import resource
import socket
from typing import Any, Final

import uvicorn

from rolecall.errors import RolecallError
from rolecall.gateway.edge import EdgeLimits, EdgeState, edge_protocol
from rolecall.settings import Settings

__all__ = [
    "FIXED_RESERVE",
    "ListenError",
    "build_server",
    "connection_budget",
    "listening_sockets",
    "raise_fd_limit",
]

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
        "log_config": None,  # its loggers go to the process's handler (rolecall.telemetry.logs)
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


class ListenError(RolecallError):
    """The gateway's address cannot be listened on; the message says why and what to do."""


def listening_sockets(settings: Settings, count: int) -> list[socket.socket]:
    """``count`` sockets listening on the gateway's address, bound before anything else starts
    so that an address in use is one clear error. Several (one per worker process) share the
    port through ``SO_REUSEPORT``: the kernel spreads new connections over them, and one whose
    worker is being replaced keeps its queued connections for the replacement."""
    _, backlog = connection_budget(raise_fd_limit(), settings.max_connections)
    family, address = _address(settings.host, settings.port)
    # SO_REUSEPORT lets any process of this user join the port: first make sure that nobody
    # (another rolecall, say) listens there already, with a socket that does not share
    probe = _bind(family, address, reuse_port=False)
    address = (address[0], probe.getsockname()[1], *address[2:])  # port 0: the one given
    probe.close()
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = _bind(family, address, reuse_port=count > 1, backlog=backlog)
            sockets.append(sock)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _address(host: str, port: int) -> tuple[socket.AddressFamily, tuple[Any, ...]]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ListenError(
            f"cannot listen on {host!r}: {exc.strerror}; set ROLECALL_HOST (--host) to an "
            "address of this machine, such as 127.0.0.1 or 0.0.0.0"
        ) from None
    family, _, _, _, address = infos[0]
    return family, address


def _bind(
    family: socket.AddressFamily,
    address: tuple[Any, ...],
    *,
    reuse_port: bool,
    backlog: int | None = None,
) -> socket.socket:
    """A TCP socket bound to ``address``, listening when ``backlog`` is given."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: past TIME_WAIT
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        if backlog is not None:
            sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise ListenError(_why(address, exc)) from None
    return sock


def _why(address: tuple[Any, ...], exc: OSError) -> str:
    where = f"{address[0]}:{address[1]}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {where}: the address is in use (another rolecall or another "
            "server); stop it, or choose another port with --port or ROLECALL_PORT"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"cannot listen on {where}: no such address on this machine; set ROLECALL_HOST "
            "(--host) to one of its addresses, such as 127.0.0.1 or 0.0.0.0"
        )
    return f"cannot listen on {where}: {exc.strerror or exc}"
