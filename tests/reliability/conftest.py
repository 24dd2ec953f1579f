"""Fixtures for the reliability suite: a gateway over a scripted upstream, and an upstream whose
replies a test writes byte for byte (for replies no well-behaved server sends)."""

from __future__ import annotations

import contextlib
import json
import random
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.conftest import (
    db_url,
    module_db_url,
    module_pg_url,
    pg_database_url,
    pg_url,
)
from tests.integration.gateway.harness import Gateway, openai_provider

# the integration suite's database fixtures
__all__ = ["db_url", "module_db_url", "module_pg_url", "pg_database_url", "pg_url"]


class CraftedUpstream:
    """A loopback OpenAI-compatible server answering every chat completion with ``reply`` (a
    JSON-able object, or a list of SSE payloads for streaming requests) and HTTP ``status``.
    With ``echo_headers`` it plays a provider that echoes the request's credentials: an error
    reply's message gets the ``authorization``/``x-api-key`` values appended, and a ``str`` reply
    (sent as text, not JSON) has ``{credentials}`` replaced by them.

    ``plan`` scripts the next requests, one fault each (popped in order; see `act`), and
    ``fail_rate`` fails that share of the others with a 500 at random. ``requests`` keeps every
    request body received, and ``usage`` is the usage chunk streamed when asked for."""

    def __init__(self) -> None:
        self.reply: Any = None
        self.stream: list[Any] = []
        self.status = 200
        self.echo_headers = False
        self.plan: list[dict[str, Any]] = []
        self.fail_rate = 0.0
        self.requests: list[dict[str, Any]] = []
        self.usage: dict[str, Any] | None = None
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                fault = upstream.next_fault(request)
                if fault is not None:
                    upstream.act(self, fault, request)
                    return
                if request.get("stream"):
                    events = [f"data: {json.dumps(e)}\n\n" for e in upstream.events(request)]
                    body = ("".join(events) + "data: [DONE]\n\n").encode()
                    kind = "text/event-stream"
                else:
                    body, kind = upstream.body_for(self.headers)
                self.send_response(upstream.status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def reset(self) -> None:
        """Back to a fresh upstream's script, for the next test of a module sharing it."""
        with self._lock:
            self.reply, self.stream, self.status = None, [], 200
            self.echo_headers, self.plan, self.fail_rate = False, [], 0.0
            self.requests.clear()
            self.usage = None

    def next_fault(self, request: dict[str, Any]) -> dict[str, Any] | None:
        with self._lock:
            self.requests.append(request)
            if self.plan:
                return self.plan.pop(0)
        if self.fail_rate and random.random() < self.fail_rate:
            return {"kind": "status", "status": 500}
        return None

    def events(self, request: dict[str, Any]) -> list[Any]:
        """The stream's events, with the usage chunk when the request asked for one."""
        options = request.get("stream_options") or {}
        if self.usage is not None and options.get("include_usage"):
            return [*self.stream, {"id": "c-1", "choices": [], "usage": self.usage}]
        return list(self.stream)

    def act(self, handler: BaseHTTPRequestHandler, fault: dict[str, Any], request: Any) -> None:
        """Play one fault: ``status`` (with ``headers``), ``reset`` (no answer), ``reset_body``
        (half the promised body, then a reset), ``garbage`` (a 200 that is not JSON), ``slow``
        (wait ``seconds``, then answer normally), or a stream: ``events`` (SSE payloads, raw
        strings sent as they are) sent ``gap`` seconds apart, then ``[DONE]`` unless ``cut``,
        after which the connection is reset."""
        kind = fault["kind"]
        out = handler.wfile
        if kind == "slow":
            time.sleep(fault["seconds"])
            fault = {"kind": "stream", "events": self.events(request)}
            if not request.get("stream"):
                body, _ = self.body_for(handler.headers)
                fault = {"kind": "status", "status": 200, "body": body.decode()}
            kind = fault["kind"]
        if kind == "status":
            body = fault.get("body") or json.dumps(
                {"error": {"message": f"crafted HTTP {fault['status']}", "type": "x"}}
            )
            head = [f"HTTP/1.1 {fault['status']} X", "content-type: application/json"]
            head += [f"{k}: {v}" for k, v in fault.get("headers", {}).items()]
            raw = body.encode()
            out.write(("\r\n".join([*head, f"content-length: {len(raw)}", "", ""])).encode() + raw)
        elif kind == "garbage":
            raw = b"<html>definitely not json"
            out.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
            out.write(b"content-length: %d\r\n\r\n" % len(raw) + raw)
        elif kind == "reset_body":
            out.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
            out.write(b'content-length: 500\r\n\r\n{"id": "c-1", "choices": [')
            _reset(handler)
        elif kind == "reset":
            _reset(handler)
        elif kind == "stream":
            self._stream(handler, fault)

    def _stream(self, handler: BaseHTTPRequestHandler, fault: dict[str, Any]) -> None:
        out = handler.wfile
        handler.close_connection = True
        try:
            out.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n")
            out.write(b"connection: close\r\n\r\n")
            out.flush()
            for event in fault["events"]:
                data = event if isinstance(event, str) else json.dumps(event)
                out.write(f"data: {data}\n\n".encode())
                out.flush()
                time.sleep(fault.get("gap", 0))
            if fault.get("cut"):
                _reset(handler)
                return
            time.sleep(fault.get("stall", 0))
            out.write(b"data: [DONE]\n\n")
            out.flush()
        except OSError:  # the gateway gave up on this stream (a timeout): nothing to answer
            pass

    def body_for(self, headers: Any) -> tuple[bytes, str]:
        """The reply's bytes and content type, credentials echoed in when ``echo_headers``."""
        echoed = " ".join(
            f"{name}: {headers.get(name)}"
            for name in ("authorization", "x-api-key")
            if name in headers
        )
        reply = self.reply
        if isinstance(reply, str):
            return reply.replace("{credentials}", echoed).encode(), "text/plain"
        if self.echo_headers and isinstance(reply, dict) and isinstance(reply.get("error"), dict):
            error = {**reply["error"], "request_headers": dict(headers.items())}
            error["message"] = f"{error.get('message', '')} (request had {echoed})"
            reply = {**reply, "error": error}
        return json.dumps(reply).encode(), "application/json"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Drop the connection with a TCP reset (no FIN, no answer)."""
    handler.wfile.flush()
    connection = handler.connection
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()
    handler.close_connection = True


@pytest.fixture
def crafted() -> Iterator[CraftedUpstream]:
    upstream = CraftedUpstream()
    yield upstream
    upstream.close()


def single_endpoint(base_url: str) -> dict[str, Any]:
    return {
        "providers": {"up": openai_provider(base_url, local=False)},
        "endpoints": [{"provider": "up", "model": "m", "id": "ep"}],
    }


@contextlib.contextmanager
def scripted_gateway(database_url: str | None = None) -> Iterator[Gateway]:
    """A gateway over a scripted upstream answering "ok" (SQLite in a scratch directory unless
    ``database_url``): what the long fuzz and schemathesis runs send their cases to."""
    from rolecall.providers.scripted import ScriptedUpstream

    upstream = ScriptedUpstream.start_in_thread({"models": {"m": {"answer": "ok"}}})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = database_url or f"sqlite:///{tmp}/rolecall.db"
            with Gateway(single_endpoint(upstream.base_url), url, Path(tmp)) as gw:
                yield gw
    finally:
        upstream.stop()


@pytest.fixture
def crafted_gateway(crafted: CraftedUpstream, db_url: str, tmp_path: Path) -> Iterator[Gateway]:
    with Gateway(single_endpoint(crafted.base_url), db_url, tmp_path) as gw:
        yield gw


@pytest.fixture
def gateway(db_url: str, tmp_path: Path) -> Iterator[Gateway]:
    upstream = ScriptedUpstream.start_in_thread({"models": {"m": {"answer": "ok"}}})
    try:
        with Gateway(single_endpoint(upstream.base_url), db_url, tmp_path) as gw:
            yield gw
    finally:
        upstream.stop()


def _module_home(database_url: str, factory: pytest.TempPathFactory) -> Path:
    """The gateway's folder: on SQLite the one holding the database's data directory (as with
    the function-scoped fixtures), else a new one."""
    sqlite = database_url.removeprefix("sqlite:///")
    return Path(sqlite).parents[1] if sqlite != database_url else factory.mktemp("gw")


@pytest.fixture(scope="module")
def shared_gateway(
    module_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """`gateway`, once per module and backend (a gateway costs seconds to build), for modules
    whose tests only send what changes nothing another test checks (refusals, say)."""
    upstream = ScriptedUpstream.start_in_thread({"models": {"m": {"answer": "ok"}}})
    home = _module_home(module_db_url, tmp_path_factory)
    try:
        with Gateway(single_endpoint(upstream.base_url), module_db_url, home) as gw:
            yield gw
    finally:
        upstream.stop()


@pytest.fixture(scope="module")
def shared_crafted() -> Iterator[CraftedUpstream]:
    upstream = CraftedUpstream()
    yield upstream
    upstream.close()


@pytest.fixture(scope="module")
def shared_crafted_gateway(
    shared_crafted: CraftedUpstream, module_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """`crafted_gateway`, once per module and backend; take `shared_crafted` with it (reset
    before each test) for the upstream."""
    home = _module_home(module_db_url, tmp_path_factory)
    with Gateway(single_endpoint(shared_crafted.base_url), module_db_url, home) as gw:
        yield gw
