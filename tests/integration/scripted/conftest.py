"""Fixtures for the scripted-upstream suite: a server on its own thread, an openai SDK client on
it, and small HTTP helpers for the control and Anthropic routes (plain urllib)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from typing import Any

import openai
import pytest

from rolecall.providers.scripted import ScriptedUpstream, UpstreamHandle

HELLO: Any = [{"role": "user", "content": "hello there"}]
SCRIPT: dict[str, Any] = {"models": {"m": {"answer": "one two three four"}}}


@pytest.fixture
def upstream() -> Iterator[UpstreamHandle]:
    with ScriptedUpstream.start_in_thread(SCRIPT) as handle:
        yield handle


@pytest.fixture
def client(upstream: UpstreamHandle) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=upstream.base_url, api_key="sk-test", max_retries=0) as sdk:
        yield sdk


def http(
    url: str, body: Any = None, *, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers (lower-case names), raw body)``; HTTP errors are returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, _lower(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, _lower(exc.headers.items()), exc.read()


def http_json(url: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
    status, _, raw = http(url, body, **kwargs)
    return status, json.loads(raw)


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in items}
