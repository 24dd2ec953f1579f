"""`RoutingState`: one view per request, one serialised way to change it, evidence kept current."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest

from rolecall.errors import ConfigError
from rolecall.execution.cooldown import CooldownBook
from rolecall.execution.state import RoutingState, RoutingView
from rolecall.inventory.config import parse_inventory
from rolecall.inventory.inventory import Inventory
from rolecall.inventory.load import configured_inventory
from rolecall.operator.posture import Posture, with_binding, with_posture
from rolecall.routing import RoutingRequest
from tests.unit.operator.builders import NOW, profile_for

CONFIG: dict[str, Any] = {
    "providers": {
        "home": {"kind": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "local": True},
        "cloud": {"kind": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "local": False},
    },
    "endpoints": [
        {"provider": "home", "model": "small", "id": "a"},
        {"provider": "cloud", "model": "large", "id": "b"},
    ],
}


def inventory(config: dict[str, Any] = CONFIG) -> Inventory:
    return configured_inventory(parse_inventory(config, "test.yaml"))


def state() -> RoutingState:
    return RoutingState(inventory(), CooldownBook())


def strategy_of(view: RoutingView) -> str:
    """The strategy the view's router actually decides with (from a decision's policy snapshot)."""
    decision = view.router.decide(RoutingRequest(request_id="probe"), view.candidates(NOW))
    return str(decision.to_artifact()["policy_snapshot"]["strategy"])


def test_a_view_keeps_its_inventory_and_router_while_the_state_moves_on() -> None:
    routing = state()
    before = routing.view
    posture = Posture("cost", "hybrid", "auto")
    after = routing.update(lambda inv: with_posture(inv, inv.policy, posture))
    assert routing.view is after
    assert after.version == before.version + 1
    assert before.inventory.policy is not None
    assert after.inventory.policy is not None
    assert before.inventory.policy.strategy == "balanced"
    assert after.inventory.policy.strategy == "cost"
    assert strategy_of(before) == "balanced"
    assert strategy_of(after) == "cost"


def test_a_refused_change_leaves_the_view() -> None:
    routing = state()
    before = routing.view
    with pytest.raises(ConfigError):
        routing.update(lambda inv: with_binding(inv, "no-such-role", "a", "active"))
    assert routing.view is before


def test_an_unchanged_inventory_publishes_no_new_view() -> None:
    routing = state()
    before = routing.view
    assert routing.update(lambda inv: inv) is before


def test_concurrent_edits_all_land() -> None:
    routing = state()
    roles = list(routing.inventory.roles)[:4]
    barrier = threading.Barrier(len(roles))

    def edit(role_id: str) -> None:
        barrier.wait()
        for endpoint_id in ("a", "b") * 10:
            routing.update(lambda inv, e=endpoint_id: with_binding(inv, role_id, e, "disabled"))

    threads = [threading.Thread(target=edit, args=(r,)) for r in roles]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bound = {(b.role_id, b.endpoint_id) for b in routing.inventory.bindings}
    assert {(r, e) for r in roles for e in ("a", "b")} <= bound


def test_readers_never_see_a_router_of_another_inventory() -> None:
    routing = state()
    stop = threading.Event()
    mismatches: list[int] = []

    def read() -> None:
        while not stop.is_set():
            view = routing.view
            assert view.inventory.policy is not None
            if strategy_of(view) != view.inventory.policy.strategy:
                mismatches.append(view.version)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(200):
            strategy = ("cost", "quality", "latency", "balanced")[i % 4]
            posture = Posture(strategy, "hybrid", "auto")
            routing.update(lambda inv, p=posture: with_posture(inv, inv.policy, p))
    finally:
        stop.set()
        reader.join()
    assert mismatches == []
    assert routing.view.version == 200


def test_a_published_profile_reaches_the_candidates_of_every_later_view() -> None:
    routing = state()
    cached = {c.endpoint_id: c for c in routing.candidates(NOW)}
    assert cached["a"].evidence is None
    assert routing.publish_profile(profile_for(routing, "a", 0.9))
    fresh = {c.endpoint_id: c for c in routing.candidates(NOW)}
    assert fresh["a"] is not cached["a"]  # rebuilt with the evidence
    assert fresh["a"].evidence is not None
    assert fresh["b"] is cached["b"]  # untouched candidates keep their caches
    assert routing.profiles["a"].endpoint_id == "a"


def test_a_profile_of_a_gone_or_changed_endpoint_is_not_routed_on() -> None:
    routing = state()
    stale = profile_for(routing, "a", 0.9)
    routing.swap(inventory({**CONFIG, "endpoints": CONFIG["endpoints"][1:]}))
    assert not routing.publish_profile(stale)
    assert "a" not in routing.profiles
    moved = profile_for(routing, "b", 0.5)
    changed = dataclasses.replace(
        routing.inventory.endpoints["b"],
        identity=routing.inventory.endpoints["b"].identity.model_copy(
            update={"endpoint_version": "v2"}
        ),
    )
    routing.swap(dataclasses.replace(routing.inventory, endpoints={"b": changed}))
    assert not routing.publish_profile(moved)


def test_a_swap_rebuilds_candidates_from_the_new_inventory() -> None:
    routing = state()
    before = {c.endpoint_id: c for c in routing.candidates(NOW)}
    priced = {
        **CONFIG,
        "endpoints": [
            CONFIG["endpoints"][0],
            {**CONFIG["endpoints"][1], "price": {"input_per_1m": 2.0, "output_per_1m": 4.0}},
        ],
    }
    routing.swap(inventory(priced))
    after = {c.endpoint_id: c for c in routing.candidates(NOW)}
    assert after["b"] is not before["b"]
    assert after["b"].catalog_cost_per_1k_tokens == pytest.approx((0.75 * 2.0 + 0.25 * 4.0) / 1000)


def test_offline_and_cooling_endpoints_get_their_status() -> None:
    routing = state()
    routing.set_offline("a", True)
    routing.cooldowns.enter("b", "timeout", NOW)
    status = {c.endpoint_id: c.status for c in routing.candidates(NOW)}
    assert status == {"a": "offline", "b": "cooldown"}
    routing.set_offline("a", False)
    routing.cooldowns.succeeded("b")
    assert {c.status for c in routing.candidates(NOW)} == {"active"}


def test_endpoint_facts_follow_the_inventory() -> None:
    routing = state()
    facts = routing.all_endpoint_facts()
    assert set(facts) == {"a", "b"}
    assert routing.all_endpoint_facts() is facts  # same mapping until the inventory changes
    routing.swap(inventory({**CONFIG, "endpoints": CONFIG["endpoints"][:1]}))
    assert set(routing.all_endpoint_facts()) == {"a"}
    assert routing.endpoint_facts("b") is None
