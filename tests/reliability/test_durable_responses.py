"""Stored responses (``POST /v1/responses``, ``store`` by default) are as durable as the request's
records: answered while the database is down, they are stored once it is back and read and
continued from a new gateway process; a gateway killed with kill -9 right after answering leaves
them in the spool for the next start. A read the database cannot answer is a 503 that names it.

A real `rolecall serve` process over the scripted upstream (tests/reliability/chaos.py), on
SQLite (the test holds the database's write lock) and PostgreSQL (behind a TCP proxy the test
cuts)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.storage import open_storage
from tests.reliability.chaos import GatewayProcess, count_records, scripted_upstream
from tests.reliability.tcp_proxy import TcpProxy

pytestmark = pytest.mark.slow

ANSWER = "hello there"  # what the scripted upstream says


class Outage:
    """The database as the gateway reaches it (``url``), and a way to take it away: SQLite's
    write lock held by the test (reads still work), or PostgreSQL's proxy cut (nothing works)."""

    def __init__(self, db_url: str, proxy: TcpProxy) -> None:
        self.direct = db_url  # what the test checks the rows with
        self.sqlite = db_url.startswith("sqlite")
        self.url = db_url if self.sqlite else db_url.replace(":5432/", f":{proxy.port}/")
        self._proxy = proxy
        self._lock: sqlite3.Connection | None = None

    def cut(self) -> None:
        if self.sqlite:
            self._lock = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
            self._lock.execute("BEGIN EXCLUSIVE")
        else:
            self._proxy.cut()

    def restore(self) -> None:
        if self._lock is not None:
            self._lock.execute("ROLLBACK")
            self._lock.close()
            self._lock = None
        if not self.sqlite:
            self._proxy.restore()


@pytest.fixture
def outage(db_url: str) -> Iterator[Outage]:
    with TcpProxy() as proxy:
        down = Outage(db_url, proxy)
        try:
            yield down
        finally:
            down.restore()


def _call(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, bytes, str]:
    """(status, body, ``x-rolecall-request-id``) of one request."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.read(), reply.headers.get("x-rolecall-request-id", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), ""


def _create(gateway: GatewayProcess, text: str, **fields: Any) -> tuple[str, str]:
    """A stored response to ``text``: (its id, its request's id); streamed with ``stream``."""
    body = {"model": "ep-fast", "input": text, **fields}
    status, raw, request_id = _call("POST", f"{gateway.base_url}/v1/responses", body)
    assert status == 200, raw[:500]
    if not fields.get("stream"):
        response = json.loads(raw)
    else:
        events = [json.loads(block.split(b"data: ", 1)[1]) for block in raw.split(b"\n\n")[:-1]]
        assert events[-1]["type"] == "response.completed", events[-1]
        response = events[-1]["response"]
    assert response["output"][0]["content"][0]["text"] == ANSWER
    return str(response["id"]), request_id


def _get(gateway: GatewayProcess, response_id: str) -> tuple[int, dict[str, Any]]:
    status, raw, _ = _call("GET", f"{gateway.base_url}/v1/responses/{response_id}")
    return status, json.loads(raw)


def _stored(url: str, response_ids: list[str]) -> set[str]:
    storage = open_storage(url, migrate=False)
    try:
        return {rid for rid in response_ids if storage.responses.get(rid) is not None}
    finally:
        storage.close()


def _eventually(check: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.2)


def _continues(gateway: GatewayProcess, upstream: Any, response_id: str, first: str) -> None:
    """A new turn on ``response_id`` is answered, and the upstream saw the conversation from
    its ``first`` input on."""
    _create(gateway, "what was my first message?", previous_response_id=response_id)
    messages = upstream.stats()["models"]["fast"]["last_body"]["messages"]
    assert messages[0]["content"] == first, messages


@contextlib.contextmanager
def _running(gateway: GatewayProcess) -> Iterator[GatewayProcess]:
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()


def test_answered_during_an_outage_is_stored_after_it(tmp_path: Path, outage: Outage) -> None:
    with scripted_upstream() as upstream:
        first = GatewayProcess(tmp_path, upstream.base_url, outage.url)
        with _running(first):
            outage.cut()
            plain, _ = _create(first, "my name is Ada")
            streamed, _ = _create(first, "my name is Bob", stream=True)
            # this process remembers them: read and continued while the database is down
            assert _get(first, plain)[0] == 200
            assert _get(first, streamed)[0] == 200
            _continues(first, upstream, plain, "my name is Ada")
            outage.restore()
            _eventually(lambda: _stored(outage.direct, [plain, streamed]) == {plain, streamed})
        with _running(GatewayProcess(tmp_path, upstream.base_url, outage.url)) as second:
            for response_id in (plain, streamed):
                status, body = _get(second, response_id)
                assert status == 200, body
                assert body["output"][0]["content"][0]["text"] == ANSWER
            _continues(second, upstream, plain, "my name is Ada")
            _continues(second, upstream, streamed, "my name is Bob")


def test_kill_minus_nine_after_answering_loses_no_stored_response(
    tmp_path: Path, outage: Outage
) -> None:
    """The database is held down while answering, so the rows can only be in the spool when
    the gateway and its record writer are killed."""
    with scripted_upstream() as upstream:
        gateway = GatewayProcess(tmp_path, upstream.base_url, outage.url).start()
        try:
            outage.cut()
            plain, plain_request = _create(gateway, "my name is Ada")
            streamed, streamed_request = _create(gateway, "my name is Bob", stream=True)
            gateway.kill(group=True)
        finally:
            gateway.stop()
        outage.restore()
        ids = [plain, streamed]
        assert _stored(outage.direct, ids) == set()
        with _running(GatewayProcess(tmp_path, upstream.base_url, outage.url)) as second:
            _eventually(lambda: _stored(outage.direct, ids) == set(ids))  # the spool replayed
            assert _get(second, streamed)[0] == 200
            _continues(second, upstream, plain, "my name is Ada")
        counted = count_records(outage.direct, [plain_request, streamed_request])
    assert (counted.stored, counted.duplicated) == (2, 0)


def test_a_read_while_the_database_is_down_is_a_503_naming_it(tmp_path: Path, pg_url: str) -> None:
    """PostgreSQL only: SQLite's readers are not stopped by a held write lock."""
    with TcpProxy() as proxy, scripted_upstream() as upstream:
        down = Outage(pg_url, proxy)
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        answering = GatewayProcess(tmp_path / "a", upstream.base_url, down.url)
        other = GatewayProcess(tmp_path / "b", upstream.base_url, down.url)
        with _running(answering), _running(other):
            response_id, _ = _create(answering, "my name is Ada")
            _eventually(lambda: _stored(pg_url, [response_id]) == {response_id})
            down.cut()
            try:
                status, body = _get(other, response_id)  # not in that process's cache
                assert status == 503, body
                assert "database" in body["error"]["message"], body
                status, raw, _ = _call("DELETE", f"{other.base_url}/v1/responses/{response_id}")
                assert status == 503, raw
                assert _get(answering, response_id)[0] == 200  # this one remembers it
                status, raw, _ = _call("DELETE", f"{answering.base_url}/v1/responses/{response_id}")
                assert status == 503, raw  # not deleted while the database is down
                assert "database" in json.loads(raw)["error"]["message"]
            finally:
                down.restore()
            status, raw, _ = _call("DELETE", f"{answering.base_url}/v1/responses/{response_id}")
            assert status == 200, raw
            assert _get(other, response_id)[0] == 404
