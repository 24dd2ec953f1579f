"""One gateway over one scripted upstream for a test module of real clients (SQLite), and the
checks that a request left the records a chat completion leaves.

ep-a is the cheapest (the cost strategy picks it) and takes images; ep-b is text-only; ep-claude,
the dearest, is the same upstream's Anthropic route, so a request can cross chat and come back out
as Anthropic Messages. A test module makes module-scoped fixtures of `pool_upstream` and
`pool_gateway`, and puts the plain answers back before each test (`plain_script`); each test
scripts the upstream for what it asks (`script`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from rolecall.protocol.validation import validate_artifact
from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.gateway.harness import Gateway, openai_provider

ANSWER = {"answer": "fast answer", "latency_ms": 2}
HELLO = [{"role": "user", "content": "hello"}]


MODELS: Final = ("model-a", "model-b", "claude-x")


@contextlib.contextmanager
def pool_upstream() -> Iterator[Any]:
    """The scripted upstream answering every model of `MODELS` (OpenAI and Anthropic routes)."""
    handle = ScriptedUpstream.start_in_thread({"models": dict.fromkeys(MODELS, ANSWER)})
    try:
        yield handle
    finally:
        handle.stop()


@contextlib.contextmanager
def pool_gateway(upstream: Any, tmp: Path) -> Iterator[Gateway]:
    """A gateway (SQLite in ``tmp``) routing to ep-a, ep-b and ep-claude on ``upstream``."""
    provider = openai_provider(upstream.base_url, local=False)
    anthropic_provider = {
        "kind": "anthropic",
        "base_url": upstream.base_url,
        "api_key": "${TEST_ANTHROPIC_KEY}",
    }
    inventory = {
        "providers": {"up": provider, "claude": anthropic_provider},
        "endpoints": [
            {
                "provider": "up",
                "model": "model-a",
                "id": "ep-a",
                "tools": True,
                "modalities": ["text", "image"],
                "price": {"input_per_1m": 1.0, "output_per_1m": 2.0},
            },
            {
                "provider": "up",
                "model": "model-b",
                "id": "ep-b",
                "tools": True,
                "modalities": ["text"],
                "price": {"input_per_1m": 3.0, "output_per_1m": 6.0},
            },
            {
                "provider": "claude",
                "model": "claude-x",
                "id": "ep-claude",
                "tools": True,
                "price": {"input_per_1m": 9.0, "output_per_1m": 18.0},
            },
        ],
        "routing": {"strategy": "cost"},
    }
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TEST_ANTHROPIC_KEY", "sk-ant-test")
        with Gateway(inventory, f"sqlite:///{tmp / 'rolecall.db'}", tmp) as gw:
            yield gw


def plain_script(upstream: Any) -> None:
    upstream.set_script({"models": dict.fromkeys(MODELS, ANSWER)})


def script(upstream: Any, model: str = "model-a", **script: Any) -> None:
    upstream.set_script({"models": {**dict.fromkeys(MODELS, ANSWER), model: {**ANSWER, **script}}})


def sent_upstream(upstream: Any, model: str = "model-a") -> dict[str, Any]:
    body: dict[str, Any] = upstream.stats()["models"][model]["last_body"]
    return body


def check_records(gateway: Gateway, headers: Any, endpoint: str = "ep-a") -> dict[str, Any]:
    """The request's decision and usage event, stored as a chat completion's are."""
    decision_id = check_usage(gateway, headers["x-rolecall-request-id"], endpoint)
    assert decision_id == headers["x-rolecall-decision-id"]
    status, decision = gateway.admin(f"/api/decisions/{decision_id}")
    assert status == 200
    validate_artifact("router-decision", decision)
    assert decision["chosen_endpoint_id"] == endpoint
    return decision


def check_usage(gateway: Gateway, request_id: str, endpoint: str = "ep-a") -> str:
    """The request's usage event (validated); its decision's id."""
    status, record = gateway.admin(f"/api/requests/{request_id}")
    assert status == 200, record
    [usage] = record["usage"]
    validate_artifact("usage-event", usage)
    assert usage["endpoint_id"] == endpoint
    assert usage["tokens_in"] > 0
    assert usage["tokens_out"] > 0
    assert usage["cost_actual"] > 0
    decision_id: str = usage["routing_decision_id"]
    return decision_id
