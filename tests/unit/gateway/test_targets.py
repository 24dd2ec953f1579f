"""What a request's ``model`` resolves to (precedence), and how hints narrow an alias's posture."""

from __future__ import annotations

from typing import Any

import pytest

from rolecall.gateway.targets import Target, resolve_target, routing_request
from rolecall.gateway.wire import WireError, chat_request
from rolecall.inventory.config import parse_inventory
from rolecall.inventory.inventory import Inventory, build_inventory

CONFIG: dict[str, Any] = {
    "providers": {
        "remote": {"kind": "openai_compatible", "base_url": "https://api.example.com/v1"},
        "local": {"kind": "llamacpp", "base_url": "http://127.0.0.1:9/v1"},
    },
    "endpoints": [
        {"provider": "remote", "model": "gpt-4o-mini", "id": "mini"},
        {"provider": "remote", "model": "gpt-4o", "id": "big"},
        {"provider": "local", "model": "qwen2.5-coder-1.5b", "id": "coder-a"},
        {"provider": "remote", "model": "qwen2.5-coder-1.5b", "id": "coder-b"},
        # an endpoint whose model name is another endpoint's id
        {"provider": "remote", "model": "mini", "id": "odd"},
    ],
    "aliases": {
        "gpt-4o": {
            "role": "coder.patch",
            "strategy": "quality",
            "execution_scope": "remote_only",
            "endpoints": ["qwen2.5-coder-1.5b", "mini"],
            "budget": 0.05,
        },
        "general.chat": {"strategy": "cost"},  # shadows the role of that name
    },
}


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return build_inventory(parse_inventory(CONFIG))


def test_a_configured_alias_wins_and_resolves_its_endpoints_by_id_or_model(
    inventory: Inventory,
) -> None:
    target = resolve_target("gpt-4o", inventory)  # also an upstream model name: the alias wins
    assert (target.kind, target.role_id, target.strategy) == ("alias", "coder.patch", "quality")
    assert target.scope == "remote_only"
    assert set(target.endpoint_ids or ()) == {"coder-a", "coder-b", "mini", "odd"}
    assert resolve_target("general.chat", inventory).kind == "alias"


@pytest.mark.parametrize(
    ("model", "kind", "scope", "endpoints"),
    [
        ("default", "posture", "hybrid", None),
        ("baseline.local-only", "posture", "local_only", None),
        ("rolecall/default.decision-only", "posture", "decision_only", None),
        ("mini", "endpoint", "hybrid", ("mini",)),  # an endpoint id before a model name
        ("coder.patch", "role", "hybrid", None),
        ("qwen2.5-coder-1.5b", "model", "hybrid", ("coder-a", "coder-b")),
        ("role-model/gpt-4o-mini", "model", "hybrid", ("mini",)),
    ],
)
def test_precedence_after_aliases(
    inventory: Inventory, model: str, kind: str, scope: str, endpoints: Any
) -> None:
    target = resolve_target(model, inventory)
    assert (target.kind, target.scope, target.endpoint_ids) == (kind, scope, endpoints)


@pytest.mark.parametrize("model", ["learned", "learned.hybrid", "nope", "default.sideways"])
def test_unknown_names_are_404_naming_model(inventory: Inventory, model: str) -> None:
    with pytest.raises(WireError) as caught:
        resolve_target(model, inventory)
    assert (caught.value.status, caught.value.param) == (404, "model")


def _request(inventory: Inventory, target: Target, **extension: Any) -> Any:
    body: dict[str, Any] = {"model": "x", "messages": [{"role": "user", "content": "hi"}]}
    if extension:
        body["rolecall"] = extension
    request, _ = routing_request(chat_request(body, {}), target, inventory, "r1", "app")
    return request


def test_the_alias_posture_becomes_the_routing_request(inventory: Inventory) -> None:
    request = _request(inventory, resolve_target("gpt-4o", inventory))
    assert request.requested_role_id == "coder.patch"
    assert request.task_type == "code.edit"
    assert request.strategy == "quality"
    assert request.budget_limit == 0.05
    assert set(request.allow_endpoints) == {"coder-a", "coder-b", "mini", "odd"}
    assert request.deny_endpoints == ("coder-a",)  # remote only: the local endpoint is denied


def test_hints_narrow_but_never_widen_the_alias(inventory: Inventory) -> None:
    target = resolve_target("gpt-4o", inventory)
    wider = _request(inventory, target, budget=5.0, strategy="cost")
    assert wider.budget_limit == 0.05  # the alias's budget holds
    assert wider.strategy == "cost"  # a soft preference the request may change
    narrower = _request(inventory, target, budget=0.01, deny_remote=True, role="coder.review")
    assert narrower.budget_limit == 0.01
    assert narrower.deny_remote is True
    assert narrower.requested_role_id == "coder.review"
    assert set(narrower.allow_endpoints) == set(target.endpoint_ids or ())


def test_an_alias_whose_endpoints_are_gone_routes_nowhere(inventory: Inventory) -> None:
    target = Target("hybrid", endpoint_ids=(), kind="alias", name="ghost")
    request = _request(inventory, target)
    assert request.allow_endpoints
    assert not set(request.allow_endpoints) & set(inventory.endpoints)


def test_learned_postures_exist_once_a_trained_router_is_configured() -> None:
    learned = {"artifact": "router.npz", "models": {"mini": "gpt-4o-mini"}}
    config = {**CONFIG, "routing": {"learned": learned}}
    inventory = build_inventory(parse_inventory(config))
    target = resolve_target("learned.local-only", inventory)
    assert (target.kind, target.mode, target.scope) == ("posture", "learned", "local_only")
    assert resolve_target("baseline", inventory).mode == "baseline"
    assert resolve_target("default", inventory).mode is None  # the inventory's own mode
