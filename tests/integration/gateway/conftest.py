"""Fixtures for the gateway suites: scripted upstreams and a gateway over them, on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.providers.scripted import ScriptedUpstream

from .harness import Gateway, openai_provider

FAST = {"answer": "fast answer", "latency_ms": 5}
SLOW = {"answer": "slow answer", "latency_ms": 40}


@pytest.fixture
def upstream_a() -> Iterator[Any]:
    handle = ScriptedUpstream.start_in_thread({"models": {"model-a": FAST, "model-c": SLOW}})
    yield handle
    handle.stop()


@pytest.fixture
def upstream_b() -> Iterator[Any]:
    handle = ScriptedUpstream.start_in_thread({"models": {"model-b": SLOW}})
    yield handle
    handle.stop()


def inventory(a: Any, b: Any, **routing: Any) -> dict[str, Any]:
    return {
        "providers": {
            "a": openai_provider(a.base_url, local=False),
            "b": openai_provider(b.base_url, local=False),
        },
        "endpoints": [
            {
                "provider": "a",
                "model": "model-a",
                "id": "ep-a",
                "tools": True,
                "price": {"input_per_1m": 1.0, "output_per_1m": 2.0},
            },
            {
                "provider": "b",
                "model": "model-b",
                "id": "ep-b",
                "tools": True,
                "price": {"input_per_1m": 3.0, "output_per_1m": 6.0},
            },
        ],
        "routing": {"strategy": "cost", **routing},
    }


@pytest.fixture
def gateway(upstream_a: Any, upstream_b: Any, db_url: str, tmp_path: Path) -> Iterator[Gateway]:
    # a failed attempt and its failed retry eject the endpoint, so one request shows a cooldown
    with Gateway(
        inventory(upstream_a, upstream_b), db_url, tmp_path, cooldown_consecutive_failures=2
    ) as gw:
        yield gw


@pytest.fixture(scope="module")
def shared_gateway(
    module_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """`gateway`, started once per module and backend (a gateway costs seconds to build: its
    migrated database, its record writer process). Only for tests that send what leaves
    nothing another test of the module checks: refusals, lookups of their own records."""
    a = ScriptedUpstream.start_in_thread({"models": {"model-a": FAST, "model-c": SLOW}})
    b = ScriptedUpstream.start_in_thread({"models": {"model-b": SLOW}})
    # on SQLite the database sits in the gateway's data directory, as with `gateway`
    sqlite = module_db_url.removeprefix("sqlite:///")
    home = Path(sqlite).parents[1] if sqlite != module_db_url else tmp_path_factory.mktemp("gw")
    try:
        with Gateway(inventory(a, b), module_db_url, home, cooldown_consecutive_failures=2) as gw:
            yield gw
    finally:
        a.stop()
        b.stop()
