"""The HTTP edge on a real socket: malformed HTTP gets a JSON 400, slow clients are timed out, and
connection caps keep a flood from one address (or many) from starving everyone else."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.gateway.edge import MAX_HEAD_BYTES
from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.gateway.harness import Gateway
from tests.reliability.conftest import single_endpoint
from tests.reliability.flood import probe

TIMEOUT_S = 0.5
PER_CLIENT = 20


@pytest.fixture
def upstream() -> Iterator[ScriptedUpstream]:
    server = ScriptedUpstream.start_in_thread({"models": {"m": {"answer": "ok"}}})
    yield server
    server.stop()


def _edge_gateway(upstream: ScriptedUpstream, tmp_path: Path, **settings: Any) -> Gateway:
    return Gateway(
        single_endpoint(upstream.base_url),
        f"sqlite:///{tmp_path / 'data' / 'rolecall.db'}",
        tmp_path,
        **{
            "client_header_timeout_s": TIMEOUT_S,
            "client_body_timeout_s": TIMEOUT_S,
            "max_connections_per_client": PER_CLIENT,
            **settings,
        },
    )


@pytest.fixture
def gw(upstream: ScriptedUpstream, tmp_path: Path) -> Iterator[Gateway]:
    with _edge_gateway(upstream, tmp_path) as gateway:
        yield gateway


def _connect(gw: Gateway, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket()
    sock.bind((source, 0))
    sock.settimeout(5)
    sock.connect(("127.0.0.1", gw.port))
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _response(raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return status, headers, json.loads(body)


def _exchange(gw: Gateway, data: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    with _connect(gw) as sock:
        sock.sendall(data)
        return _response(_read_all(sock))


def _chat_head(gw: Gateway, extra: str) -> bytes:
    return (
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\n"
        f"authorization: Bearer {gw.api_key}\r\ncontent-type: application/json\r\n{extra}\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b"G@T /healthz HTTP/1.1\r\nhost: gw\r\n\r\n", "method"),
        (b"GET /healthz HTTP/1.1\r\nhost: gw\r\nbad header: x\r\n\r\n", "header"),
        (b"GET /healthz HTTP/1.1\r\nhost: gw\r\nx-a: b\x01c\r\n\r\n", "header value"),
        (b"GET /healthz HTTP/9.Z\r\n\r\n", "version"),
    ],
)
def test_malformed_request_gets_json_400(gw: Gateway, data: bytes, named: str) -> None:
    status, headers, body = _exchange(gw, data)
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    error = body["error"]
    assert error["code"] == "malformed_http"
    assert error["type"] == "invalid_request_error"
    assert error["param"] is None
    assert named in error["message"].lower()


def test_invalid_chunked_body_gets_json_400(gw: Gateway) -> None:
    data = _chat_head(gw, "transfer-encoding: chunked\r\n") + b"zz\r\nhello\r\n0\r\n\r\n"
    status, _, body = _exchange(gw, data)
    assert status == 400
    assert body["error"]["code"] == "malformed_http"
    assert "chunk" in body["error"]["message"]


def test_oversized_head_gets_json_400(gw: Gateway) -> None:
    big = b"x" * (MAX_HEAD_BYTES + 10)
    status, _, body = _exchange(gw, b"GET /healthz HTTP/1.1\r\nx-big: " + big + b"\r\n\r\n")
    assert status == 400
    assert f"over {MAX_HEAD_BYTES} bytes" in body["error"]["message"]


def test_half_sent_head_is_closed_with_408(gw: Gateway) -> None:
    with _connect(gw) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: gw\r\n")
        status, headers, body = _response(_read_all(sock))
        waited = time.monotonic() - started
    assert status == 408
    assert headers["connection"] == "close"
    assert body["error"]["code"] == "request_timeout"
    assert TIMEOUT_S * 0.8 < waited < TIMEOUT_S + 2
    assert gw.edge.header_timeouts == 1


def test_trickled_head_does_not_extend_the_deadline(gw: Gateway) -> None:
    with _connect(gw) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        for _ in range(8):  # a byte every 0.15 s: a slow loris
            time.sleep(TIMEOUT_S / 4)
            try:
                sock.sendall(b"x")
            except OSError:
                break
        raw = _read_all(sock)
    assert _response(raw)[0] == 408
    assert time.monotonic() - started < TIMEOUT_S * 4


def test_idle_connection_is_closed_without_an_answer(gw: Gateway) -> None:
    with _connect(gw) as sock:
        assert _read_all(sock) == b""


def test_stalled_body_is_closed_with_408(gw: Gateway) -> None:
    with _connect(gw) as sock:
        sock.sendall(_chat_head(gw, "content-length: 200\r\n") + b'{"model": "default"')
        status, _, body = _response(_read_all(sock))
    assert status == 408
    assert "body stalled" in body["error"]["message"]
    assert gw.edge.body_timeouts == 1


def test_slow_but_moving_body_is_served(gw: Gateway) -> None:
    payload = json.dumps({"model": "default", "messages": [{"role": "user", "content": "hi"}]})
    with _connect(gw) as sock:
        sock.sendall(_chat_head(gw, f"content-length: {len(payload)}\r\nconnection: close\r\n"))
        for i in range(0, len(payload), 10):  # the whole body takes ~3 x the timeout
            time.sleep(TIMEOUT_S / 3)
            sock.sendall(payload[i : i + 10].encode())
        status, _, body = _response(_read_all(sock))
    assert status == 200, body
    assert body["choices"][0]["message"]["content"] == "ok"


def test_keep_alive_serves_many_requests_on_one_connection(gw: Gateway) -> None:
    with _connect(gw) as sock:
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: gw\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            time.sleep(TIMEOUT_S * 0.6)  # under the head timeout each time, over it in total


def test_per_address_cap_sheds_only_that_address(gw: Gateway) -> None:
    extra = 5
    flood = [_connect(gw, "127.0.0.2") for _ in range(PER_CLIENT + extra)]
    try:
        refused = 0
        for sock in flood[PER_CLIENT:]:
            status, headers, body = _response(_read_all(sock))
            assert (status, headers["retry-after"]) == (503, "1")
            assert body["error"]["code"] == "connection_limit"
            refused += 1
        assert refused == extra
        assert gw.edge.refused_per_client == extra
        assert probe(gw.port, gw.api_key, "healthz")
        assert probe(gw.port, gw.api_key, "chat")
    finally:
        for sock in flood:
            sock.close()


def test_slow_flood_from_many_addresses_leaves_the_gateway_answering(
    upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    sources = [f"127.0.1.{i}" for i in range(1, 21)]
    with _edge_gateway(
        upstream, tmp_path, max_connections=500, max_connections_per_client=200
    ) as gw:
        flood = []
        try:
            for i in range(2000):
                sock = socket.socket()
                sock.bind((sources[i % len(sources)], 0))
                sock.setblocking(False)
                sock.connect_ex(("127.0.0.1", gw.port))
                flood.append(sock)
                if i % 100 == 0:
                    with_flood = (
                        probe(gw.port, gw.api_key, "healthz"),
                        probe(gw.port, gw.api_key, "chat"),
                    )
                    assert with_flood == (True, True), f"after {i} flood connections"
            time.sleep(0.2)
            assert probe(gw.port, gw.api_key, "healthz")
            assert probe(gw.port, gw.api_key, "chat")
            stats = gw.edge.stats()
            assert stats["open"] <= 500
            assert stats["evicted"] + stats["refused_total"] >= 2000 - 500 - 50
        finally:
            for sock in flood:
                sock.close()
