"""Inventories and routing states for the operator tests: one local (unpriced) and one remote
(priced) endpoint, built through `configured_inventory` exactly as at startup."""

from __future__ import annotations

import copy
from typing import Any, Final

from rolecall.execution.cooldown import CooldownBook
from rolecall.execution.state import RoutingState
from rolecall.inventory.config import parse_inventory
from rolecall.inventory.inventory import Inventory, endpoint_version
from rolecall.inventory.load import configured_inventory
from rolecall.profiles import Sample, aggregate_profile
from rolecall.protocol import ObservedPerformanceProfile

NOW: Final = 1_700_000_000_000
UNREACHABLE: Final = "http://127.0.0.1:9/v1"


def config(**routing: Any) -> dict[str, Any]:
    """Two endpoints: ``local`` (loopback, no price) and ``remote`` (priced, not local)."""
    data: dict[str, Any] = {
        "providers": {
            "home": {"kind": "openai_compatible", "base_url": UNREACHABLE, "local": True},
            "cloud": {"kind": "openai_compatible", "base_url": UNREACHABLE, "local": False},
        },
        "endpoints": [
            {"provider": "home", "model": "small", "id": "local"},
            {
                "provider": "cloud",
                "model": "large",
                "id": "remote",
                "price": {"input_per_1m": 3.0, "output_per_1m": 15.0},
            },
        ],
    }
    if routing:
        data["routing"] = routing
    return copy.deepcopy(data)


def inventory(data: dict[str, Any] | None = None) -> Inventory:
    return configured_inventory(parse_inventory(data or config(), "test.yaml"))


def state(data: dict[str, Any] | None = None) -> RoutingState:
    return RoutingState(inventory(data), CooldownBook())


def profile_for(
    routing: RoutingState, endpoint_id: str, score: float
) -> ObservedPerformanceProfile:
    """An observed profile of ``endpoint_id`` whose judged quality is ``score``."""
    endpoint = routing.inventory.endpoints[endpoint_id]
    version = endpoint_version(endpoint.identity)
    samples = [
        Sample(
            endpoint_id=endpoint_id,
            endpoint_version=version,
            source="live_request",
            timestamp_ms=NOW - i,
            latency_ms=100.0,
            judge_score=score,
        )
        for i in range(20)
    ]
    aggregate = aggregate_profile(
        samples, endpoint_id=endpoint_id, endpoint_version=version, now_ms=NOW
    )
    assert aggregate is not None
    return aggregate.profile
