"""What the routing controller and the classifier endpoint are shown (pure: no call is made)."""

from __future__ import annotations

from typing import Any

from rolecall.inventory.config import parse_inventory
from rolecall.inventory.load import configured_inventory
from rolecall.planning.ask import cut, estimate_tokens, message_text, request_text, response_format
from rolecall.planning.controller import PoolEntry, controller_messages
from rolecall.routing.controller import DIRECTIVES_SCHEMA
from rolecall.routing.request import RoutingRequest

CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "first question"},
    {"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]},
    {"role": "tool", "content": "42"},
    {"role": "user", "content": [{"type": "text", "text": "and now"}, {"type": "image_url"}]},
]


def test_the_request_text_is_a_summary_and_the_last_user_turn() -> None:
    text = request_text(CONVERSATION, 1000)
    assert text == (
        "Earlier turns: 1 assistant, 1 system, 1 tool, 1 user. "
        "Tools were used in this conversation.\nLast user turn:\nand now"
    )
    assert request_text([], 1000) == "Earlier turns: none.\nLast user turn:\n"


def test_the_request_text_is_cut_to_its_limit() -> None:
    long = [{"role": "user", "content": "x" * 10_000}]
    text = request_text(long, 300)
    assert len(text) == 300
    assert text.endswith(" […]")
    assert cut("short", 300) == "short"


def test_message_text_and_token_estimate() -> None:
    assert message_text(CONVERSATION[-1]) == "and now"
    assert message_text(CONVERSATION[2]) == ""
    assert estimate_tokens([{"role": "user", "content": "x" * 400}]) == 104


def test_the_controller_prompt_shows_pool_roles_tasks_and_request() -> None:
    config = {
        "providers": {"p": {"kind": "openai_compatible", "base_url": "http://127.0.0.1:9/v1"}},
        "endpoints": [{"provider": "p", "model": "m", "id": "e"}],
    }
    inventory = configured_inventory(parse_inventory(config, "t.yaml"))
    pool = [
        PoolEntry("e", True, "m", ("text.chat",), quality=0.825, latency_ms_p50=312.4),
        PoolEntry("far", False, "big"),
    ]
    request = RoutingRequest(request_id="r", requested_role_id="assistant")
    system, user = controller_messages(CONVERSATION, request, pool, inventory, 500)
    assert system["role"] == "system"
    assert "one JSON object" in system["content"]
    lines = user["content"].splitlines()
    assert lines[:3] == [
        "Pool:",
        "- e (local, model m); capabilities: text.chat; quality 0.82; p50 312 ms",
        "- far (remote, model big)",
    ]
    assert "Roles:" in lines
    assert any(line.startswith("Tasks: ") and "text.chat" in line for line in lines)
    assert "The request's task: text.chat; role assistant" in lines
    assert lines[-1] == "and now"


def test_response_format_is_strict_json_schema() -> None:
    shaped = response_format("routing_directives", DIRECTIVES_SCHEMA)
    assert shaped["type"] == "json_schema"
    assert shaped["json_schema"]["strict"] is True
    assert shaped["json_schema"]["name"] == "routing_directives"
    assert shaped["json_schema"]["schema"] == DIRECTIVES_SCHEMA
