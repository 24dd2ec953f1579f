"""The routing controller and the difficulty classifier endpoint over real HTTP: a scripted
upstream answers valid directives, garbage, too late, a 500, or directives that try to loosen
the request's limits; each becomes its outcome, and nothing fails the request.

Each test runs one event loop (``asyncio.run``): the scripted server, the pooled session and the
planner all live on it and are closed before it ends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

from rolecall.execution.cooldown import CooldownBook
from rolecall.execution.state import RoutingState
from rolecall.inventory.config import parse_inventory
from rolecall.inventory.inventory import Inventory
from rolecall.inventory.load import configured_inventory
from rolecall.inventory.modes import ControllerConfig, DifficultyConfig
from rolecall.planning.classifier import DifficultyEndpointClassifier
from rolecall.planning.controller import (
    ControllerOutcome,
    PoolEntry,
    RoutingController,
    pool_entries,
)
from rolecall.providers.registry import UpstreamClients
from rolecall.providers.scripted import ScriptedUpstream
from rolecall.routing.candidate import Candidate
from rolecall.routing.controller import bound_directives
from rolecall.routing.request import RoutingRequest

MESSAGES: Final = [
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "Write a Python function that merges two sorted lists."},
]
VALID: Final = json.dumps(
    {
        "role": None,
        "task": None,
        "difficulty": "medium",
        "prefer_endpoints": ["worker-local", "worker-remote"],
        "deny_endpoints": None,
        "strategy": "quality",
        "rationale": "a small coding task",
    }
)
LOOSEN: Final = json.dumps(
    {
        "prefer_endpoints": ["worker-remote"],
        "deny_endpoints": ["worker-local"],
        "strategy": "quality",
        "role": "nobody",
    }
)
SLOW_MS: Final = 1500.0
# the pool is in the prompt: the good controller answers only when it was shown
SHOWN: Final = "- worker-local (local, model small)"
SCRIPT: Final = {
    "models": {
        "ctl": {"answer": "I would pick the local one."},
        "ctl-fenced": {"answer": f"```json\n{VALID}\n```"},
        "ctl-garbage": {"answer": '{"role": "coder", "budget_usd": 5}'},
        "ctl-slow": {"answer": VALID, "latency_ms": SLOW_MS},
        "ctl-500": {"answer": VALID, "fail": {"kind": "status", "status": 500}},
        "ctl-loosen": {"answer": LOOSEN},
        "cls": {"answer": '{"difficulty": "hard"}'},
        "cls-garbage": {"answer": "hard, I reckon"},
        "small": {"answer": "ok"},
        "big": {"answer": "ok"},
    },
    "rules": [{"model": "ctl", "prompt_contains": SHOWN, "answer": VALID}],
}


def inventory_for(base_url: str) -> Inventory:
    cheap = {"input_per_1m": 0.1, "output_per_1m": 0.2}
    dear = {"input_per_1m": 500.0, "output_per_1m": 500.0}
    local = [
        {"provider": "local", "model": m, "id": m}
        for m in ("ctl", "ctl-fenced", "ctl-garbage", "ctl-slow", "ctl-500", "ctl-loosen")
    ]
    config = {
        "providers": {
            "local": {"kind": "openai_compatible", "base_url": base_url, "local": True},
            "cloud": {"kind": "openai_compatible", "base_url": base_url, "local": False},
        },
        "endpoints": [
            *local,
            {"provider": "local", "model": "cls", "id": "cls"},
            {"provider": "local", "model": "cls-garbage", "id": "cls-garbage"},
            {"provider": "local", "model": "small", "id": "worker-local"},
            {"provider": "cloud", "model": "big", "id": "worker-remote", "price": cheap},
            {"provider": "cloud", "model": "ctl", "id": "ctl-dear", "price": dear},
            {"provider": "cloud", "model": "ctl", "id": "ctl-unpriced"},
        ],
    }
    return configured_inventory(parse_inventory(config, "t.yaml"))


@dataclass
class Rig:
    upstream: ScriptedUpstream
    clients: UpstreamClients
    inventory: Inventory

    @property
    def candidates(self) -> dict[str, Candidate]:
        state = RoutingState(self.inventory, CooldownBook())
        workers = ("worker-local", "worker-remote")
        return {c.endpoint_id: c for c in state.candidates(0) if c.endpoint_id in workers}

    @property
    def pool(self) -> list[PoolEntry]:
        return pool_entries(self.candidates.values(), self.inventory.endpoints)

    async def ask(
        self, endpoint_id: str, *, pool: list[PoolEntry] | None = None, **config: Any
    ) -> ControllerOutcome:
        settings = ControllerConfig(endpoint_id=endpoint_id, **config)
        controller = RoutingController(settings, self.clients)
        req = RoutingRequest(request_id="r1")
        shown = self.pool if pool is None else pool
        return await controller.ask(MESSAGES, req, shown, self.inventory)


@asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    async with ScriptedUpstream(SCRIPT) as upstream:
        clients = UpstreamClients(timeout_s=10.0)
        await clients.open()
        try:
            yield Rig(upstream, clients, inventory_for(upstream.base_url))
        finally:
            await clients.close()


def run(scenario: Callable[[Rig], Awaitable[None]]) -> None:
    async def main() -> None:
        async with rig() as r:
            await scenario(r)

    asyncio.run(main())


def test_valid_directives_come_back_and_are_bounded() -> None:
    async def scenario(r: Rig) -> None:
        outcome = await r.ask("ctl")
        assert outcome.status == "ok", outcome.detail
        assert outcome.directives is not None
        assert outcome.directives.prefer_endpoints == ["worker-local", "worker-remote"]
        assert outcome.cost_usd == 0.0  # an unpriced local endpoint
        assert outcome.to_json()["directives"]["strategy"] == "quality"
        req = RoutingRequest(request_id="r1")
        bounded = bound_directives(
            outcome.directives,
            req,
            endpoints=r.candidates,
            roles=r.inventory.roles,
            tasks=r.inventory.tasks,
        )
        assert bounded.request.preferred_endpoints == ("worker-local", "worker-remote")
        assert bounded.request.strategy == "quality"
        assert bounded.difficulty == "medium"

    run(scenario)


def test_a_fenced_answer_is_read() -> None:
    async def scenario(r: Rig) -> None:
        outcome = await r.ask("ctl-fenced")
        assert outcome.status == "ok"
        assert outcome.directives is not None
        assert outcome.directives.difficulty == "medium"

    run(scenario)


def test_prose_and_unknown_fields_are_invalid_with_the_field() -> None:
    async def scenario(r: Rig) -> None:
        # without the pool in its prompt the scripted controller answers prose
        prose = await r.ask("ctl", pool=[])
        assert (prose.status, prose.field) == ("invalid", "$")
        assert prose.detail.startswith("invalid: not JSON")
        garbage = await r.ask("ctl-garbage")
        assert (garbage.status, garbage.field) == ("invalid", "budget_usd")
        assert garbage.directives is None
        assert "not a directive" in garbage.detail
        assert garbage.to_json()["field"] == "budget_usd"

    run(scenario)


def test_an_answer_after_the_timeout_is_a_timeout() -> None:
    async def scenario(r: Rig) -> None:
        outcome = await r.ask("ctl-slow", timeout_ms=200)
        assert outcome.status == "timeout"
        assert outcome.directives is None
        assert 150 <= outcome.latency_ms < SLOW_MS
        assert "200 ms" in outcome.detail

    run(scenario)


def test_an_upstream_500_is_an_upstream_error() -> None:
    async def scenario(r: Rig) -> None:
        outcome = await r.ask("ctl-500")
        assert outcome.status == "upstream_error"
        assert outcome.detail.startswith("upstream_5xx: upstream returned HTTP 500")
        assert outcome.directives is None

    run(scenario)


def test_an_unknown_or_too_dear_controller_is_skipped_without_a_call() -> None:
    async def scenario(r: Rig) -> None:
        missing = await r.ask("nowhere")
        assert (missing.status, missing.cost_usd) == ("skipped", None)
        assert missing.detail.startswith("not configured")
        dear = await r.ask("ctl-dear", budget_usd=0.001)
        assert dear.status == "skipped"
        assert dear.detail.startswith("budget: the call would cost")
        unpriced = await r.ask("ctl-unpriced")
        assert unpriced.status == "skipped"
        assert "no price" in unpriced.detail
        assert r.upstream.stats()["requests"] == 0

    run(scenario)


def test_directives_that_try_to_loosen_the_limits_are_rejected_and_recorded() -> None:
    async def scenario(r: Rig) -> None:
        outcome = await r.ask("ctl-loosen")
        assert outcome.status == "ok"
        assert outcome.directives is not None
        req = RoutingRequest(request_id="r1", deny_remote=True, strategy="cost")
        bounded = bound_directives(
            outcome.directives,
            req,
            endpoints=r.candidates,
            roles=r.inventory.roles,
            tasks=r.inventory.tasks,
        )
        assert bounded.request == req
        assert dict(bounded.rejected) == {
            "prefer_endpoints": "'worker-remote': it is remote and the request denies remote endpoints",
            "deny_endpoints": "would deny every endpoint the request may use (worker-local)",
            "strategy": "the request sets strategy 'cost'",
            "role": "unknown role 'nobody'",
        }

    run(scenario)


def classifier(endpoint_id: str, r: Rig, timeout_ms: int = 800) -> DifficultyEndpointClassifier:
    config = DifficultyConfig(
        classifier="endpoint",
        endpoint_id=endpoint_id,
        timeout_ms=timeout_ms,
        fallback_difficulty="easy",
    )
    return DifficultyEndpointClassifier(config, r.clients)


def test_the_classifier_endpoint_answers_a_difficulty() -> None:
    async def scenario(r: Rig) -> None:
        found = await classifier("cls", r).classify(MESSAGES, r.inventory)
        assert (found.difficulty, found.status, found.fell_back) == ("hard", "ok", False)

    run(scenario)


def test_the_classifier_falls_back_with_the_reason() -> None:
    async def scenario(r: Rig) -> None:
        cases = {
            "cls-garbage": ("invalid", "not JSON"),
            "ctl-slow": ("timeout", "within 200 ms"),
            "ctl-500": ("upstream_error", "upstream_5xx: upstream returned HTTP 500"),
            "ctl-loosen": ("invalid", "difficulty: expected one of easy, medium, hard, got None"),
            "gone": ("not_configured", "not in the inventory"),
        }
        for endpoint_id, (status, why) in cases.items():
            found = await classifier(endpoint_id, r, timeout_ms=200).classify(MESSAGES, r.inventory)
            assert (found.difficulty, found.status) == ("easy", status), endpoint_id
            assert why in found.detail
            assert found.detail.endswith("fell back to easy")
            assert found.to_json()["source"] == "endpoint"

    run(scenario)
