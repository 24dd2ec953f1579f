"""role-model's advisory ``role_model.intent``: typed checks (400 naming the field), unknown values
ignored with diagnostics, known ones used only where the request and its alias left room."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rolecall.gateway.targets import resolve_target, routing_request
from rolecall.gateway.wire import WireError, chat_request
from rolecall.inventory.config import parse_inventory
from rolecall.inventory.inventory import Inventory, build_inventory

CONFIG: dict[str, Any] = {
    "providers": {"up": {"kind": "openai_compatible", "base_url": "https://api.example.com/v1"}},
    "endpoints": [{"provider": "up", "model": "m", "id": "ep", "tools": True}],
    "aliases": {"reviewer": {"role": "coder.review"}},
}
HELLO = [{"role": "user", "content": "fix the bug"}]


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return build_inventory(parse_inventory(CONFIG))


def _route(
    inventory: Inventory,
    intent: Any,
    model: str = "default",
    headers: dict[str, str] | None = None,
    **extension: Any,
) -> tuple[Any, Any, dict[str, Any]]:
    body: dict[str, Any] = {"model": model, "messages": HELLO}
    if intent is not None:
        body["role_model"] = {"contract_version": 1, "intent": intent}
    if extension:
        body["rolecall"] = extension
    chat = chat_request(body, headers or {})
    request, used = routing_request(chat, resolve_target(model, inventory), inventory, "r", "a")
    return request, used, chat.body


def test_a_known_role_and_task_become_routing_hints_and_leave_the_body(
    inventory: Inventory,
) -> None:
    request, used, body = _route(inventory, {"role": "coder.patch", "task": "code.edit"})
    assert (request.requested_role_id, request.task_type) == ("coder.patch", "code.edit")
    assert "role_model" not in body  # never forwarded upstream
    assert json.loads(used.header())["used"] == {"role": "coder.patch", "task": "code.edit"}


def test_the_classifiers_spelling_and_its_alternatives_are_read(inventory: Inventory) -> None:
    intent = {
        "role_hint_id": "coder",  # a role-model taxonomy role this inventory does not have
        "task_type": "coder.edit",
        "alternatives": [{"role_hint_id": "coder.patch", "task_type": "code.edit"}],
        "preferred_capabilities": ["code.edit", "code.write"],
        "taxonomy_version": "1.0.0-alpha.1",
        "colour": "blue",
    }
    request, used, _ = _route(inventory, intent)
    assert request.requested_role_id == "coder.patch"  # the first usable alternative
    assert request.preferred_capabilities == ("code.edit",)
    ignored = {(n["field"], n["reason"]) for n in json.loads(used.header())["ignored"]}
    assert ("role_model.intent.role", "unknown role") in ignored
    assert ("role_model.intent.task", "unknown task") in ignored
    assert ("role_model.intent.colour", "unknown field") in ignored
    assert ("role_model.intent.capabilities", "no endpoint declares it") in ignored


def test_the_request_and_the_alias_win_over_the_intent(inventory: Inventory) -> None:
    request, used, _ = _route(inventory, {"role": "general.chat"}, role="tool.agent")
    assert request.requested_role_id == "tool.agent"
    assert used.role is None
    request, used, _ = _route(inventory, {"role": "general.chat"}, model="reviewer")
    assert request.requested_role_id == "coder.review"
    assert "sets the role" in used.header()


def test_a_task_the_role_does_not_perform_is_not_used(inventory: Inventory) -> None:
    request, used, _ = _route(inventory, {"task": "text.chat"}, model="reviewer")
    assert request.task_type == "code.edit"  # coder.review's own task; advice never breaks it
    assert "does not perform" in used.header()


def test_the_header_carries_an_intent_and_the_body_wins(inventory: Inventory) -> None:
    header = {"x-role-model-intent": json.dumps({"role": "tool.agent"})}
    request, _, _ = _route(inventory, None, headers=header)
    assert request.requested_role_id == "tool.agent"
    request, _, _ = _route(inventory, {"role": "coder.patch"}, headers=header)
    assert request.requested_role_id == "coder.patch"


def test_the_diagnostics_header_is_ascii_whatever_the_client_sent(inventory: Inventory) -> None:
    _, used, _ = _route(inventory, {"role": "c\u00f6der\r\nx-evil: 1" + "x" * 500})
    header = used.header()
    assert header.isascii()
    assert "\n" not in header
    assert len(header) < 1000


@pytest.mark.parametrize(
    ("role_model", "param"),
    [
        ("coder", "role_model"),
        ({"intent": "coder"}, "role_model.intent"),
        ({"intent": {"role": 3}}, "role_model.intent.role"),
        ({"intent": {"task_type": ["a"]}}, "role_model.intent.task_type"),
        ({"intent": {"capabilities": [1]}}, "role_model.intent.capabilities"),
        ({"intent": {"confidence": 1.5}}, "role_model.intent.confidence"),
        ({"intent": {"confidence": True}}, "role_model.intent.confidence"),
        ({"intent": {"alternatives": [1]}}, "role_model.intent.alternatives[0]"),
        ({"intent": {"alternatives": [{"task": 1}]}}, "role_model.intent.alternatives[0].task"),
        ({"contract_version": True}, "role_model.contract_version"),
    ],
)
def test_a_wrongly_typed_value_is_a_400_naming_it(role_model: Any, param: str) -> None:
    with pytest.raises(WireError) as caught:
        chat_request({"model": "default", "messages": HELLO, "role_model": role_model}, {})
    assert (caught.value.status, caught.value.param) == (400, param)


def test_a_header_that_is_not_json_is_a_400_naming_it() -> None:
    with pytest.raises(WireError) as caught:
        chat_request({"model": "default", "messages": HELLO}, {"x-role-model-intent": "{"})
    assert caught.value.param == "x-role-model-intent"


def test_no_intent_costs_nothing(inventory: Inventory) -> None:
    _, used, _ = _route(inventory, None)
    assert used is None
