"""`Executor` over `UpstreamClients` on an Anthropic provider (the scripted upstream's Messages
route): the key comes from the environment variable the inventory names, answers come back in the
OpenAI shape, and a missing key is an auth failure that falls back."""

from __future__ import annotations

import asyncio
from typing import Any, Final

import pytest

from rolecall.execution.cooldown import CooldownBook
from rolecall.execution.executor import Executor, Outcome, now_ms
from rolecall.execution.state import RoutingState
from rolecall.inventory.config import parse_inventory
from rolecall.inventory.load import configured_inventory
from rolecall.providers.registry import UpstreamClients
from rolecall.providers.scripted import ScriptedUpstream
from rolecall.routing import RoutingRequest

KEY_VAR: Final = "ROLECALL_TEST_ANTHROPIC_KEY"
KEY: Final = "sk-ant-scripted"
BODY: Final = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 32}


def inventory(claude: str, backup: str) -> dict[str, Any]:
    return {
        "providers": {
            "claude": {
                "kind": "anthropic",
                "base_url": claude,
                "api_key": f"${{{KEY_VAR}}}",
                "local": False,
            },
            "spare": {"kind": "openai_compatible", "base_url": backup, "local": True},
        },
        "endpoints": [
            {"provider": "claude", "model": "sonnet", "id": "claude"},
            {"provider": "spare", "model": "spare", "id": "spare"},
        ],
        # the posture prefers remote: the Anthropic endpoint is chosen, the spare is the fallback
        "routing": {"compute_preference": "remote"},
    }


async def execute() -> tuple[Outcome, CooldownBook, dict[str, Any]]:
    auth = {"models": {"sonnet": {"answer": "from claude"}}, "require_auth": KEY}
    async with (
        ScriptedUpstream(auth) as claude,
        ScriptedUpstream({"models": {"spare": {"answer": "from spare"}}}) as spare,
    ):
        config = inventory(claude.base_url, spare.base_url)
        cooldowns = CooldownBook()
        routing = RoutingState(configured_inventory(parse_inventory(config, "t.yaml")), cooldowns)
        decision = routing.view.router.decide(
            RoutingRequest(request_id="a"), routing.candidates(now_ms())
        )
        assert decision.chosen_endpoint_id == "claude"
        clients = UpstreamClients(5.0)
        await clients.open()
        try:
            outcome = await Executor(clients, cooldowns).run(
                decision, BODY, routing.inventory.endpoints, stream=False
            )
        finally:
            await clients.close()
        return outcome, cooldowns, claude.stats()


def test_an_anthropic_endpoint_answers_in_the_openai_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VAR, KEY)
    outcome, cooldowns, stats = asyncio.run(execute())
    assert outcome.ok
    assert outcome.endpoint is not None
    assert outcome.endpoint.endpoint_id == "claude"
    assert outcome.response is not None
    assert outcome.response["choices"][0]["message"]["content"] == "from claude"
    assert stats["requests"] == 1
    assert cooldowns.all() == []


def test_a_missing_key_is_an_auth_failure_that_falls_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEY_VAR, raising=False)
    outcome, cooldowns, _ = asyncio.run(execute())
    assert outcome.ok
    assert outcome.endpoint is not None
    assert outcome.endpoint.endpoint_id == "spare"
    assert [
        (a.endpoint_id, a.failure.failure if a.failure else None) for a in outcome.attempts
    ] == [
        ("claude", "auth"),
        ("spare", None),
    ]
    assert [c.reason for c in cooldowns.all()] == ["auth"]
