"""The live tail (``GET /api/console/requests/stream``) on a real gateway: Server-Sent Events
with each new request of the slice, once, as it is stored; a stream ends with where to resume."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.console import tail
from tests.integration.gateway.harness import ADMIN_TOKEN, Gateway

from .conftest import call, console_inventory
from .traffic import chat, upstreams


class Stream:
    """One open tail: reads its events as they come."""

    def __init__(self, gw: Gateway, query: str = "") -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
        headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
        self.connection.request("GET", f"/api/console/requests/stream{query}", headers=headers)
        self.response = self.connection.getresponse()

    def next_event(self, deadline_s: float = 8.0) -> tuple[str, Any]:
        """The next ``request`` or ``end`` event (comments and ``retry`` lines skipped)."""
        kind, data = "", ""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            line = self.response.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[len("event: ") :]
            elif line.startswith("data: "):
                data = line[len("data: ") :]
            elif line == "" and kind:
                return kind, json.loads(data)
        raise AssertionError("no event in time")

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def gw(db_url: str, tmp_path: Path) -> Iterator[Gateway]:
    with (
        upstreams() as (local, remote),
        Gateway(console_inventory(local, remote), db_url, tmp_path) as gateway,
    ):
        yield gateway


def test_the_tail_delivers_each_new_request_once(gw: Gateway) -> None:
    client = gw.client()
    _, before = chat(client)
    call(gw, "/api/console/requests")  # which waits for it to be stored: then it is not new
    stream = Stream(gw)
    try:
        assert stream.response.status == 200
        assert stream.response.getheader("content-type", "").startswith("text/event-stream")
        time.sleep(0.3)
        _, first = chat(client)
        _, second = chat(client, "default.decision-only")
        seen = [stream.next_event(), stream.next_event()]
    finally:
        stream.close()
    assert [kind for kind, _ in seen] == ["request", "request"]
    rows = [row for _, row in seen]
    assert [r["request_id"] for r in rows] == [
        first["x-rolecall-request-id"],
        second["x-rolecall-request-id"],
    ]
    assert before["x-rolecall-request-id"] not in {r["request_id"] for r in rows}
    assert [r["outcome"] for r in rows] == ["served", "decision_only"]
    # the ledger's row shape: the page renders both alike
    status, page = call(gw, "/api/console/requests?window=1h")
    assert status == 200
    assert page["data"][0].keys() == rows[0].keys()


def test_a_filtered_tail_ends_with_where_to_resume(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    # long enough that the refused request's row is stored and tailed before the stream ends,
    # on a loaded machine too (it reaches the database through the record writer)
    monkeypatch.setattr(tail, "LIFETIME_S", 5.0)
    client = gw.client()
    stream = Stream(gw, "?outcome=refused")
    try:
        time.sleep(0.3)
        chat(client)  # served: not in the slice
        _, refused = chat(client, "embedder")
        kind, row = stream.next_event()
        assert kind == "request", row
        assert row["request_id"] == refused["x-rolecall-request-id"]
        kind, end = stream.next_event()
        assert kind == "end"
        assert end["since_ms"] <= row["timestamp_ms"]
    finally:
        stream.close()
    # resuming from there sends what was stored since, the refusal again (the page drops it)
    resumed = Stream(gw, f"?outcome=refused&since_ms={end['since_ms']}")
    try:
        kind, again = resumed.next_event()
        assert (kind, again["request_id"]) == ("request", row["request_id"])
    finally:
        resumed.close()


def test_bad_tail_parameters_name_the_parameter(gw: Gateway) -> None:
    for query, param in (("?since_ms=soon", "since_ms"), ("?status=3xx", "status")):
        status, body = call(gw, f"/api/console/requests/stream{query}")
        assert status == 400, query
        assert body["error"]["param"] == param
    status, body = call(gw, "/api/console/requests/stream", token="wrong")
    assert status == 401
