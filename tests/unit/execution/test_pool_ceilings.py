"""Difficulty ceilings on the pool's candidates: declared in the inventory, else derived."""

from __future__ import annotations

from typing import Any

import pytest

from rolecall.execution.cooldown import CooldownBook
from rolecall.execution.state import RoutingState
from rolecall.inventory.config import parse_inventory
from rolecall.inventory.load import configured_inventory
from rolecall.routing import RoutingRequest
from tests.unit.operator.builders import NOW

CONFIG: dict[str, Any] = {
    "providers": {
        "home": {"kind": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "local": True},
    },
    "endpoints": [
        {"provider": "home", "model": "small", "id": "a", "max_difficulty": "easy"},
        {"provider": "home", "model": "large", "id": "b"},
        {"provider": "home", "model": "mid", "id": "c"},
    ],
}


def _state() -> RoutingState:
    return RoutingState(configured_inventory(parse_inventory(CONFIG, "test.yaml")), CooldownBook())


def _ceilings(routing: RoutingState) -> dict[str, tuple[str | None, str | None]]:
    return {c.endpoint_id: (c.max_difficulty, c.ceiling_source) for c in routing.candidates(NOW)}


def test_declared_ceiling_reaches_the_candidate() -> None:
    assert _ceilings(_state()) == {
        "a": ("easy", "declared"),
        "b": (None, None),
        "c": (None, None),
    }


def test_derived_ceilings_apply_where_none_is_declared() -> None:
    routing = _state()
    before = {c.endpoint_id: c for c in routing.candidates(NOW)}
    routing.set_ceilings({"a": "hard", "b": "medium"})
    after = {c.endpoint_id: c for c in routing.candidates(NOW)}
    assert _ceilings(routing) == {
        "a": ("easy", "declared"),  # the operator's word wins
        "b": ("medium", "derived"),
        "c": (None, None),
    }
    assert after["c"] is before["c"]  # unchanged candidates stay built (router caches survive)
    assert after["b"] is not before["b"]


def test_clearing_and_keeping_ceilings() -> None:
    routing = _state()
    routing.set_ceilings({"b": "medium", "c": "easy"})
    routing.set_ceilings({"b": None})
    assert _ceilings(routing)["b"] == (None, None)
    assert _ceilings(routing)["c"] == ("easy", "derived")
    routing.swap(routing.inventory)  # an inventory change keeps the derived ceilings
    assert _ceilings(routing)["c"] == ("easy", "derived")


def test_the_router_excludes_on_derived_ceilings() -> None:
    routing = _state()
    routing.set_ceilings({"b": "medium"})
    view = routing.view
    decision = view.router.decide(
        RoutingRequest(request_id="r", difficulty="hard"), view.candidates(NOW)
    )
    excluded = {eid for eid, ex in decision.eligibility if ex}
    assert excluded == {"a", "b"}
    assert decision.chosen_endpoint_id == "c"


def test_a_bad_ceiling_names_the_endpoint_and_changes_nothing() -> None:
    routing = _state()
    with pytest.raises(ValueError, match=r"ceilings\.c: expected one of"):
        routing.set_ceilings({"b": "medium", "c": "extreme"})
    assert _ceilings(routing)["b"] == (None, None)
