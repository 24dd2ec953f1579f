"""The HTTP edge: uvicorn's httptools protocol with the defences a server facing the network needs.

`EdgeProtocol` is passed to uvicorn as its ``http`` protocol class (the server's own extension
point), so requests that pass are served exactly as before; it adds, per connection:

- malformed HTTP (request line, header, chunked framing, a head over `MAX_HEAD_BYTES`) gets a 400
  whose body is an OpenAI-style error (``code: malformed_http``) instead of uvicorn's plain text;
- the request head must arrive within ``header_timeout_s`` of the connection (or of the previous
  response on keep-alive), and the body must keep arriving (no gap over ``body_timeout_s``);
  otherwise the connection is closed, after a 408 if the client had started a request and nothing
  has been answered yet;
- `EdgeState` caps open connections per client address and in total (below the descriptor
  limit); over the per-address cap a new connection is answered 503 and closed at once; at the
  total cap the oldest connection still waiting for its request head makes room (a slow flood
  fills the table with exactly those), else the new one is refused. Every shed connection is
  counted (`EdgeState.stats`) and logged, at most once per `WARN_EVERY_S`.

While a request is with the application (its body fully read) no edge timer runs: LLM answers
take as long as they take, and the upstream timeouts bound them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, Final

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from rolecall.gateway.wire import error_body

__all__ = ["MAX_HEAD_BYTES", "EdgeLimits", "EdgeProtocol", "EdgeState", "edge_protocol"]

log = logging.getLogger("rolecall.gateway.edge")

# nginx's default (4 x 8 KiB buffers) is 32 KiB, Node's 16 KiB; an OpenAI client sends < 1 KiB
MAX_HEAD_BYTES: Final = 64 * 1024
HEAD_TOO_LARGE: Final = f"request head over {MAX_HEAD_BYTES} bytes; send smaller headers"
WARN_EVERY_S: Final = 10.0
# at the total cap, look this far into the oldest connections for one still waiting for its head
EVICTION_SCAN: Final = 64


class Phase(Enum):
    HEAD = "head"  # waiting for (the rest of) a request head
    BODY = "body"  # head read, body still arriving
    APP = "app"  # request complete, the application is answering


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    header_timeout_s: float
    body_timeout_s: float
    max_connections_per_client: int  # 0: no per-address cap
    max_connections: int


class EdgeState:
    """Connection bookkeeping shared by every connection of one server: who is open, what was shed."""

    def __init__(self, limits: EdgeLimits) -> None:
        self.limits = limits
        self.open: dict[EdgeProtocol, str] = {}  # insertion order: oldest first
        self.per_client: dict[str, int] = {}
        self.refused_per_client = 0
        self.refused_total = 0
        self.evicted = 0
        self.header_timeouts = 0
        self.body_timeouts = 0
        self.malformed = 0
        self._warned_at = 0.0
        self._shed_since_warning = 0

    @property
    def shed(self) -> int:
        """Connections closed by a cap (refused or evicted), since the server started."""
        return self.refused_per_client + self.refused_total + self.evicted

    def stats(self) -> dict[str, int]:
        return {
            "open": len(self.open),
            "shed": self.shed,
            "refused_per_client": self.refused_per_client,
            "refused_total": self.refused_total,
            "evicted": self.evicted,
            "header_timeouts": self.header_timeouts,
            "body_timeouts": self.body_timeouts,
            "malformed": self.malformed,
        }

    def admit(self, conn: EdgeProtocol, host: str) -> bool:
        """Take ``conn`` into the table, making room if needed; False if it must be refused."""
        cap = self.limits.max_connections_per_client
        if cap and self.per_client.get(host, 0) >= cap:
            self.refused_per_client += 1
            self._warn()
            return False
        if len(self.open) >= self.limits.max_connections:
            victim = self._oldest_waiting()
            if victim is None:
                self.refused_total += 1
                self._warn()
                return False
            self.release(victim)
            victim.transport.close()
            self.evicted += 1
            self._warn()
        self.open[conn] = host
        self.per_client[host] = self.per_client.get(host, 0) + 1
        return True

    def release(self, conn: EdgeProtocol) -> None:
        host = self.open.pop(conn, None)
        if host is None:
            return
        left = self.per_client[host] - 1
        if left:
            self.per_client[host] = left
        else:
            del self.per_client[host]

    def _oldest_waiting(self) -> EdgeProtocol | None:
        for scanned, conn in enumerate(self.open):
            if scanned >= EVICTION_SCAN:
                return None
            if conn.phase is Phase.HEAD:
                return conn
        return None

    def _warn(self) -> None:
        self._shed_since_warning += 1
        now = time.monotonic()
        if now - self._warned_at < WARN_EVERY_S:
            return
        log.warning(
            "shed %d connections (per-address cap %d, total cap %d; %d open): %s",
            self._shed_since_warning,
            self.limits.max_connections_per_client,
            self.limits.max_connections,
            len(self.open),
            self.stats(),
        )
        self._warned_at = now
        self._shed_since_warning = 0


def edge_protocol(state: EdgeState) -> type[EdgeProtocol]:
    """An `EdgeProtocol` class bound to one server's ``state`` (uvicorn builds protocols itself)."""
    return type("BoundEdgeProtocol", (EdgeProtocol,), {"edge": state})


class EdgeProtocol(HttpToolsProtocol):
    edge: ClassVar[EdgeState]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.phase = Phase.HEAD
        self._head_bytes = 0  # bytes of a request head not yet complete
        self._deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._admitted = False
        self._measure_head = False
        self._head_too_large = False

    # connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        if not self.edge.admit(self, host):
            self.transport = transport
            self._answer(503, "too many connections; retry later", "connection_limit")
            return
        self._admitted = True
        super().connection_made(transport)
        self._set_deadline(self.edge.limits.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._admitted:
            return  # refused before uvicorn knew of it
        self.edge.release(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self.phase is Phase.HEAD and self._head_bytes + len(data) > MAX_HEAD_BYTES:
            self._measure_head = True  # this chunk may complete a head that is too large
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as exc:
            reason = HEAD_TOO_LARGE if self._head_too_large else _reason(exc)
            self._malformed(reason)
            return
        if self.phase is Phase.BODY:
            self._set_deadline(self.edge.limits.body_timeout_s)
        elif self.phase is Phase.HEAD:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._malformed(HEAD_TOO_LARGE)

    def _malformed(self, reason: str) -> None:
        self.edge.malformed += 1
        self._answer(400, f"malformed HTTP request: {reason}", "malformed_http")

    # parser callbacks (the request's phase)

    def on_headers_complete(self) -> None:
        if self._measure_head:
            self._measure_head = False
            size = len(self.url) + sum(len(k) + len(v) + 4 for k, v in self.headers)
            if size > MAX_HEAD_BYTES:
                self._head_too_large = True
                raise ValueError(HEAD_TOO_LARGE)  # httptools stops parsing: data_received answers
        super().on_headers_complete()
        self.phase = Phase.BODY
        self._head_bytes = 0

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if self.cycle is not None and self.cycle.response_complete:
            # answered before its body was read (a refusal): the next request may follow
            self._await_head()
        else:
            self.phase = Phase.APP
            self._deadline = None

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)
        super().on_response_complete()
        if self.phase is Phase.APP and not pipelined:
            self._await_head()

    # timers

    def _await_head(self) -> None:
        self.phase = Phase.HEAD
        self._set_deadline(self.edge.limits.header_timeout_s)

    def _set_deadline(self, delay: float) -> None:
        # one timer per connection, moved only when the new deadline is earlier: a request's
        # phases set a deadline each, and the timer re-arms itself when it fires early
        deadline = self.loop.time() + delay
        self._deadline = deadline
        timer = self._timer
        if timer is None or timer.when() > deadline:
            if timer is not None:
                timer.cancel()
            self._timer = self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None or self.transport.is_closing():
            return
        now = self.loop.time()
        if self.phase is Phase.BODY and self.flow.read_paused:
            deadline = now + self.edge.limits.body_timeout_s  # the app is not reading: not idle
            self._deadline = deadline
        if now < deadline:
            self._timer = self.loop.call_at(deadline, self._on_timer)
            return
        self._expire()

    def _expire(self) -> None:
        if self.phase is Phase.BODY:
            self.edge.body_timeouts += 1
            limit = self.edge.limits.body_timeout_s
            self._answer(408, f"request body stalled for more than {limit:g} s", "request_timeout")
        elif self._head_bytes:
            self.edge.header_timeouts += 1
            limit = self.edge.limits.header_timeout_s
            message = f"request head not received within {limit:g} s"
            self._answer(408, message, "request_timeout")
        else:
            self.transport.close()  # idle, no request begun: nothing to answer

    # answers written by the edge itself

    def _answer(self, status: int, message: str, code: str) -> None:
        """Write an OpenAI-style error and close, unless a response is already under way."""
        cycle = self.cycle
        if cycle is None or not cycle.response_started or cycle.response_complete:
            body = error_body(message, "invalid_request_error", None, code)
            head = [STATUS_LINE[status]]
            for name, value in self.server_state.default_headers:
                head += [name, b": ", value, b"\r\n"]
            head += [
                b"content-type: application/json\r\ncontent-length: ",
                str(len(body)).encode(),
                b"\r\nconnection: close\r\n",
                b"retry-after: 1\r\n" if status == 503 else b"",
                b"\r\n",
                body,
            ]
            self.transport.write(b"".join(head))
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        self._answer(400, f"malformed HTTP request: {msg}", "malformed_http")


def _reason(exc: Exception) -> str:
    """httptools' message for a parse error ("Invalid header value char"), lower-cased."""
    text = str(exc).strip().rstrip(".") or type(exc).__name__
    return text[:1].lower() + text[1:200]
