"""Benchmarks run chat cases: an embeddings-only endpoint is left out of the default endpoints and
the judge, left out of a list that names it with others, and a list of only embedders is refused."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from rolecall.benchmark.errors import BenchError
from rolecall.benchmark.planner import chat_endpoints
from rolecall.benchmark.service import BenchHub, default_judge
from rolecall.inventory.config import parse_inventory
from rolecall.inventory.inventory import Inventory, build_inventory


def _inventory() -> Inventory:
    local = {"kind": "llamacpp", "base_url": "http://127.0.0.1:9/v1"}
    remote = {"kind": "openai_compatible", "base_url": "https://api.example/v1"}
    return build_inventory(
        parse_inventory(
            {
                "providers": {"local": local, "remote": remote},
                "endpoints": [
                    {
                        "provider": "remote",
                        "model": "text-embedding-3-small",
                        "id": "embed",
                        "capabilities": ["embeddings.text"],
                    },
                    {"provider": "local", "model": "big-local", "id": "chat"},
                ],
            }
        )
    )


def test_embeddings_only_endpoints_are_not_benchmarked_nor_judges() -> None:
    inventory = _inventory()
    assert chat_endpoints(inventory) == ["chat"]
    # the only remote endpoint embeds: it does not judge; the local chat model does when big
    assert default_judge(inventory, {"big-local": 10**10}) == "chat"


def test_a_plan_leaves_embedders_out_and_refuses_only_embedders() -> None:
    hub: Any = SimpleNamespace(routing=SimpleNamespace(inventory=_inventory()), store=None)
    # what the console sends: every id (fixed: an adaptive plan also reads the store)
    plan = BenchHub.plan(hub, "quick", ["embed", "chat"], adaptive=False)
    assert plan.endpoint_ids == ("chat",)
    assert BenchHub.plan(hub, "full", adaptive=False).endpoint_ids == ("chat",)
    with pytest.raises(BenchError, match="serve embeddings only") as caught:
        BenchHub.plan(hub, "quick", ["embed"])
    assert caught.value.param == "endpoints"
