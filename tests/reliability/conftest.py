"""Fixtures for the reliability suite: a gateway over a scripted upstream, and an upstream whose
replies a test writes byte for byte (for replies no well-behaved server sends)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.conftest import db_url, pg_database_url, pg_url
from tests.integration.gateway.harness import Gateway, openai_provider

__all__ = ["db_url", "pg_database_url", "pg_url"]  # the integration suite's database fixtures


class CraftedUpstream:
    """A loopback OpenAI-compatible server answering every chat completion with ``reply`` (a
    JSON-able object, or a list of SSE payloads for streaming requests) and HTTP ``status``.
    With ``echo_headers`` it plays a provider that echoes the request's credentials: an error
    reply's message gets the ``authorization``/``x-api-key`` values appended, and a ``str`` reply
    (sent as text, not JSON) has ``{credentials}`` replaced by them."""

    def __init__(self) -> None:
        self.reply: Any = None
        self.stream: list[Any] = []
        self.status = 200
        self.echo_headers = False
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                if request.get("stream"):
                    events = [f"data: {json.dumps(e)}\n\n" for e in upstream.stream]
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
