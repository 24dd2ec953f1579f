"""`Executor` over real `UpstreamClients` against scripted upstreams on loopback: the chosen
endpoint, one quick retry, fallbacks, terminal 4xx, cooldowns and streams.

Each test runs one event loop (``asyncio.run``): the scripted servers, the pooled aiohttp session
and the executor all live on it, and are all closed before it ends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

import pytest

from rolecall.execution.cooldown import CooldownBook
from rolecall.execution.executor import Executor, Outcome, now_ms
from rolecall.execution.state import RoutingState
from rolecall.inventory.config import parse_inventory
from rolecall.inventory.load import configured_inventory
from rolecall.providers.registry import UpstreamClients
from rolecall.providers.scripted import ScriptedUpstream
from rolecall.routing import Decision, RoutingRequest

BODY: Final = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 16}
OK: Final = {"answer": "fine", "latency_ms": 0}


def script(model: str, answer: str, fail: dict[str, Any] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"answer": answer, "latency_ms": 0}
    if fail is not None:
        entry["fail"] = fail
    return {"models": {model: entry}}


@dataclass
class Rig:
    primary: ScriptedUpstream
    backup: ScriptedUpstream
    routing: RoutingState
    cooldowns: CooldownBook
    executor: Executor

    def decide(self, request: RoutingRequest | None = None) -> Decision:
        inv = self.routing.inventory
        return self.routing.view.router.decide(
            request or RoutingRequest(request_id="t"),
            self.routing.candidates(now_ms()),
            inv.roles.values(),
            inv.tasks.values(),
            inv.bindings,
        )

    async def run(self, *, stream: bool = False) -> Outcome:
        decision = self.decide()
        assert decision.chosen_endpoint_id == "primary"
        assert decision.fallback_endpoint_ids == ("backup",)
        # the caller's body asks the upstream for a stream; ``stream=`` tells the executor to open one
        body = {**BODY, "stream": True} if stream else BODY
        return await self.executor.run(
            decision, body, self.routing.inventory.endpoints, stream=stream
        )


def inventory_for(primary: str, backup: str) -> dict[str, Any]:
    # primary is local and the posture prefers local: it is chosen, backup is the fallback
    return {
        "providers": {
            "one": {"kind": "openai_compatible", "base_url": primary, "local": True},
            "two": {"kind": "openai_compatible", "base_url": backup, "local": False},
        },
        "endpoints": [
            {"provider": "one", "model": "alpha", "id": "primary"},
            {"provider": "two", "model": "beta", "id": "backup"},
        ],
        "routing": {"compute_preference": "local"},
    }


@asynccontextmanager
async def rig(
    primary_fail: dict[str, Any] | None = None,
    backup_fail: dict[str, Any] | None = None,
    timeout_s: float = 5.0,
) -> AsyncIterator[Rig]:
    async with (
        ScriptedUpstream(script("alpha", "from primary", primary_fail)) as primary,
        ScriptedUpstream(script("beta", "from backup", backup_fail)) as backup,
    ):
        config = inventory_for(primary.base_url, backup.base_url)
        cooldowns = CooldownBook()
        routing = RoutingState(configured_inventory(parse_inventory(config, "t.yaml")), cooldowns)
        clients = UpstreamClients(timeout_s)
        await clients.open()
        try:
            yield Rig(primary, backup, routing, cooldowns, Executor(clients, cooldowns))
        finally:
            await clients.close()


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


def shape(outcome: Outcome) -> list[tuple[str, bool, str | None]]:
    return [
        (a.endpoint_id, a.retry, a.failure.failure if a.failure else None) for a in outcome.attempts
    ]


def answer(response: dict[str, Any] | None) -> str:
    assert response is not None
    return str(response["choices"][0]["message"]["content"])


def test_the_chosen_endpoint_answers() -> None:
    async def scenario() -> None:
        async with rig() as r:
            outcome = await r.run()
            assert outcome.ok
            assert outcome.endpoint is not None
            assert outcome.endpoint.endpoint_id == "primary"
            assert answer(outcome.response) == "from primary"
            assert shape(outcome) == [("primary", False, None)]
            attempt = outcome.attempts[0]
            assert attempt.started_ms <= attempt.ended_ms
            assert attempt.first_byte_ms is None  # set for streams only
            # the endpoint's model replaces whatever the body named
            assert r.primary.stats()["models"]["alpha"]["requests"] == 1
            assert r.backup.stats()["requests"] == 0
            assert r.cooldowns.all() == []

    run(scenario)


def test_a_5xx_is_retried_once_then_falls_back_and_cools_the_endpoint_down() -> None:
    async def scenario() -> None:
        async with rig(primary_fail={"kind": "status", "status": 503}) as r:
            outcome = await r.run()
            # two failures in a row are not yet enough for a cooldown (three are)
            assert r.cooldowns.active("primary", now_ms()) is None
            assert shape(outcome)[:2] == [
                ("primary", False, "upstream_5xx"),
                ("primary", True, "upstream_5xx"),
            ]
            outcome = await r.run()  # the third failure in a row: cooled, no retry
            assert shape(outcome) == [("primary", False, "upstream_5xx"), ("backup", False, None)]
            assert outcome.ok
            assert outcome.failure is None
            assert outcome.endpoint is not None
            assert outcome.endpoint.endpoint_id == "backup"
            assert answer(outcome.response) == "from backup"
            assert outcome.attempts[0].failure is not None
            assert outcome.attempts[0].failure.status == 503
            assert r.primary.stats()["requests"] == 3
            cooldown = r.cooldowns.active("primary", now_ms())
            assert cooldown is not None
            assert cooldown.reason == "upstream_5xx"
            assert cooldown.level == 0
            assert r.cooldowns.active("backup", now_ms()) is None
            # the next decision routes around the cooling endpoint
            excluded = {
                e["endpoint_id"]: [x["code"] for x in e["exclusions"]]
                for e in r.decide().to_artifact()["eligibility"]
                if not e["eligible"]
            }
            assert excluded == {"primary": ["PROVIDER_OFFLINE"]}

    run(scenario)


def test_a_400_is_terminal_no_fallback_no_cooldown() -> None:
    async def scenario() -> None:
        async with rig(primary_fail={"kind": "status", "status": 400}) as r:
            outcome = await r.run()
            assert not outcome.ok
            assert outcome.endpoint is None
            assert outcome.response is None
            assert outcome.failure is not None
            assert outcome.failure.failure == "invalid_request"
            assert outcome.failure.status == 400
            assert outcome.failure.body  # the upstream's error goes back to the client
            assert shape(outcome) == [("primary", False, "invalid_request")]
            assert r.backup.stats()["requests"] == 0
            assert r.cooldowns.all() == []

    run(scenario)


def test_an_auth_failure_falls_back_without_a_retry() -> None:
    async def scenario() -> None:
        async with rig(primary_fail={"kind": "status", "status": 401}) as r:
            outcome = await r.run()
            assert outcome.ok
            assert shape(outcome) == [("primary", False, "auth"), ("backup", False, None)]
            cooldown = r.cooldowns.active("primary", now_ms())
            assert cooldown is not None
            assert cooldown.reason == "auth"

    run(scenario)


def test_a_hanging_upstream_times_out_then_falls_back_without_a_retry() -> None:
    async def scenario() -> None:
        hang = {"kind": "timeout", "seconds": 1.0}
        async with rig(primary_fail=hang, timeout_s=0.15) as r:
            outcome = await r.run()
            assert outcome.ok
            # the upstream may still be working on it: a retry in place would do the work twice
            assert shape(outcome) == [("primary", False, "timeout"), ("backup", False, None)]
            first = outcome.attempts[0]
            assert first.failure is not None
            assert first.failure.in_flight
            assert first.ended_ms - first.started_ms >= 100
            assert r.cooldowns.active("primary", now_ms()) is None  # one failure is not enough

    run(scenario)


def test_when_every_endpoint_fails_the_last_failure_is_reported() -> None:
    async def scenario() -> None:
        async with rig(
            primary_fail={"kind": "status", "status": 500},
            backup_fail={"kind": "reset"},
        ) as r:
            outcome = await r.run()
            assert not outcome.ok
            assert outcome.endpoint is None
            assert outcome.failure is not None
            assert outcome.failure.failure == "network"
            assert shape(outcome) == [
                ("primary", False, "upstream_5xx"),
                ("primary", True, "upstream_5xx"),
                ("backup", False, "network"),
                ("backup", True, "network"),
            ]
            assert r.cooldowns.all() == []  # two failures each: not yet a cooldown

    run(scenario)


def test_a_success_clears_an_expired_cooldown_record() -> None:
    async def scenario() -> None:
        async with rig() as r:
            r.cooldowns.enter("primary", "timeout", now_ms() - 10 * 3_600_000)  # long over
            assert len(r.cooldowns.all()) == 1
            outcome = await r.run()
            assert outcome.ok
            assert r.cooldowns.all() == []

    run(scenario)


def test_a_stream_returns_an_open_stream_whose_first_chunk_is_read() -> None:
    async def scenario() -> None:
        async with rig() as r:
            outcome = await r.run(stream=True)
            assert outcome.ok
            assert outcome.response is None
            stream = outcome.stream
            assert stream is not None
            try:
                first = json.loads(stream.first)
                assert first["object"] == "chat.completion.chunk"
                text = "".join(
                    (c.get("delta") or {}).get("content") or ""
                    for raw in [stream.first, *[chunk async for chunk in stream.rest]]
                    for c in json.loads(raw).get("choices", [])
                )
            finally:
                await stream.close()
            assert text == "from primary"
            attempt = outcome.attempts[0]
            assert attempt.first_byte_ms is not None
            assert attempt.started_ms <= attempt.first_byte_ms <= attempt.ended_ms

    run(scenario)


def test_a_stream_failing_before_its_first_event_falls_back() -> None:
    async def scenario() -> None:
        async with rig(primary_fail={"kind": "status", "status": 502}) as r:
            outcome = await r.run(stream=True)
            assert outcome.ok
            assert outcome.endpoint is not None
            assert outcome.endpoint.endpoint_id == "backup"
            assert outcome.stream is not None
            await outcome.stream.close()
            assert [a.retry for a in outcome.attempts] == [False, True, False]
            assert outcome.attempts[0].first_byte_ms is None
            assert outcome.attempts[2].first_byte_ms is not None

    run(scenario)


def test_a_decision_without_an_endpoint_fails_cleanly() -> None:
    async def scenario() -> None:
        async with rig() as r:
            decision = r.decide(RoutingRequest(request_id="t", task_type="embeddings.text"))
            assert decision.chosen_endpoint_id == ""
            outcome = await r.executor.run(
                decision, BODY, r.routing.inventory.endpoints, stream=False
            )
            assert not outcome.ok
            assert outcome.failure is not None
            assert outcome.failure.message == "no eligible endpoint to execute on"
            assert outcome.attempts == []

    run(scenario)


def test_upstream_clients_refuse_adapters_unless_open() -> None:
    async def scenario() -> None:
        clients = UpstreamClients(timeout_s=1.0)
        with pytest.raises(RuntimeError, match="upstream clients: not open yet"):
            clients.adapter("openai_compatible")
        await clients.open()
        try:
            shared = clients.adapter("openai_compatible")
            assert clients.adapter("ollama") is shared
            assert clients.adapter("llamacpp") is shared
            assert clients.adapter("anthropic") is not shared
            with pytest.raises(RuntimeError, match="no adapter for 'grpc'"):
                clients.adapter("grpc")
        finally:
            await clients.close()
        with pytest.raises(RuntimeError, match="upstream clients: not open yet"):
            clients.adapter("openai_compatible")
        await clients.close()  # closing twice is harmless

    run(scenario)
