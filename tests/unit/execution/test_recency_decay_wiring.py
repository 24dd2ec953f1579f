"""``routing.observed_data.recency_decay`` reaches the runtime's router: on, its decisions decay
measured metrics at the wall clock's time (or a time ``decide`` is given); off (the default),
they do not."""

from __future__ import annotations

from typing import Any

import pytest

from rolecall.execution.cooldown import CooldownBook
from rolecall.execution.state import RoutingState, recency_decay_of
from rolecall.inventory.config import parse_inventory
from rolecall.inventory.load import configured_inventory
from rolecall.routing import RecencyDecay, RoutingRequest
from rolecall.routing.metrics import NEUTRAL
from tests.unit.execution.test_throughput_sla import HOME, NOW, profile

LATENCY = 1  # index of the latency metric


def state(decay: dict[str, Any] | None) -> RoutingState:
    data: dict[str, Any] = {
        "providers": {"home": HOME},
        "endpoints": [{"provider": "home", "model": "m", "id": "m"}],
    }
    if decay is not None:
        data["routing"] = {"observed_data": {"recency_decay": decay}}
    routing = RoutingState(configured_inventory(parse_inventory(data, "t.yaml")), CooldownBook())
    assert routing.publish_profile(profile(routing, "m", tps=30.0))
    return routing


def latency(routing: RoutingState, now_ms: int | None = None) -> float:
    view = routing.view
    decision = view.router.decide(
        RoutingRequest(request_id="r"), view.candidates(NOW), now_ms=now_ms
    )
    return decision.ranked[0].values[LATENCY]


def test_the_settings_become_the_routers_half_lives() -> None:
    assert recency_decay_of(state(None).inventory) is None
    assert recency_decay_of(state({"enabled": False, "latency_s": 60}).inventory) is None
    on = recency_decay_of(state({"enabled": True, "latency_s": 60}).inventory)
    assert on == RecencyDecay(latency_s=60)


def test_on_the_wall_clock_decays_old_evidence_off_it_does_not() -> None:
    observed = latency(state(None))
    assert observed != pytest.approx(NEUTRAL)
    routing = state({"enabled": True, "latency_s": 60})
    assert latency(routing) == pytest.approx(NEUTRAL)  # NOW is years before the wall clock
    assert latency(routing, now_ms=NOW) == pytest.approx(observed)
    assert latency(routing, now_ms=NOW + 60_000) == pytest.approx(
        NEUTRAL + 0.5 * (observed - NEUTRAL)
    )
    # a what-if router (the console's preview) decays the same way
    what_if = routing.view.router.with_policy(routing.inventory.policy)  # type: ignore[arg-type]
    decision = what_if.decide(
        RoutingRequest(request_id="r"), routing.view.candidates(NOW), now_ms=NOW + 60_000
    )
    assert decision.ranked[0].values[LATENCY] == pytest.approx(latency(routing, NOW + 60_000))
