"""Shared by the cluster tests: a scripted upstream, an inventory of three endpoints, Redis, and
small HTTP helpers for talking to gateway processes."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from tests.reliability.chaos import GatewayProcess

ADMIN = {"authorization": "Bearer rca-test"}
WITHIN_S = 1.0
REDIS_URL = "redis://127.0.0.1:6379/0"
SCRIPT = {
    "models": {
        "fast": {"answer": "negative", "latency_ms": 1},
        "strong": {"answer": "positive", "latency_ms": 1},
        "locked": {"answer": "-", "fail": {"kind": "status", "status": 401}},
    }
}


def inventory(upstream_url: str) -> dict[str, Any]:
    provider = {"kind": "openai_compatible", "base_url": upstream_url}
    return {
        "providers": {"near": {**provider, "local": True}, "far": {**provider, "local": False}},
        "endpoints": [
            {"provider": "near", "model": "fast", "id": "ep-a"},
            {"provider": "far", "model": "strong", "id": "ep-b"},
            {"provider": "far", "model": "locked", "id": "ep-locked"},
        ],
    }


@pytest.fixture(scope="module")
def redis_up() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def upstream() -> Iterator[Any]:
    from rolecall.providers.scripted import ScriptedUpstream

    handle = ScriptedUpstream.start_in_thread(SCRIPT)
    try:
        yield handle
    finally:
        handle.stop()


class Reply:
    def __init__(self, status: int, raw: bytes) -> None:
        self.status_code = status
        self.text = raw.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.text)


def call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, method=method, headers=headers or {})
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return Reply(exc.code, exc.read())


def within(check: Callable[[], bool], seconds: float = WITHIN_S) -> float:
    """Seconds until ``check()`` held; fails when it did not within ``seconds``."""
    start = time.monotonic()
    while True:
        if check():
            return time.monotonic() - start
        if time.monotonic() - start > seconds:
            pytest.fail(f"not within {seconds} s")
        time.sleep(0.02)


def chat(replica: GatewayProcess, model: str, key: str | None = None) -> Reply:
    headers = {} if key is None else {"authorization": f"Bearer {key}"}
    body = {"model": model, "messages": [{"role": "user", "content": "Sentiment of 'great'?"}]}
    return call("POST", f"{replica.base_url}/v1/chat/completions", body, headers)


def cooling(replica: GatewayProcess) -> set[str]:
    reply = call("GET", f"{replica.base_url}/api/cooldowns", headers=ADMIN)
    assert reply.status_code == 200, reply.text
    return {c["endpoint_id"] for c in reply.json()["data"] if c["active"]}
