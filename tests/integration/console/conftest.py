"""Fixtures for the console suites: two scripted upstreams (one local, one remote) and a gateway."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.gateway.harness import ADMIN_TOKEN, Gateway, openai_provider

LOCAL = {"answer": "local answer", "latency_ms": 5}
REMOTE = {"answer": "remote answer", "latency_ms": 30}


def console_inventory(local: Any, remote: Any) -> dict[str, Any]:
    return {
        "providers": {
            "home": openai_provider(local.base_url, local=True),
            "cloud": openai_provider(remote.base_url, local=False),
        },
        "endpoints": [
            {"provider": "home", "model": "small", "id": "local-small", "tools": True},
            {
                "provider": "cloud",
                "model": "large",
                "id": "cloud-large",
                "tools": True,
                "price": {"input_per_1m": 3.0, "output_per_1m": 15.0},
            },
        ],
        "routing": {"strategy": "balanced"},
    }


@pytest.fixture
def upstreams() -> Iterator[tuple[Any, Any]]:
    local = ScriptedUpstream.start_in_thread({"models": {"small": LOCAL}})
    remote = ScriptedUpstream.start_in_thread({"models": {"large": REMOTE}})
    yield local, remote
    local.stop()
    remote.stop()


@pytest.fixture
def console(upstreams: tuple[Any, Any], db_url: str, tmp_path: Path) -> Iterator[Gateway]:
    with Gateway(console_inventory(*upstreams), db_url, tmp_path) as gw:
        yield gw


def call(
    gw: Gateway, path: str, body: Any = None, *, method: str | None = None, token: str = ADMIN_TOKEN
) -> tuple[int, Any]:
    """An admin API call with a JSON body; returns (status, parsed JSON)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{gw.port}{path}",
        data=data,
        method=method or ("POST" if body is not None else "GET"),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        with exc:  # the error holds the response and its socket
            return exc.code, json.loads(exc.read() or b"null")
