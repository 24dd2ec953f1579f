"""The what-if preview (`rolecall.operator.preview`): stored requests replayed under the current
and a proposed posture on the same candidates."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from rolecall.execution.state import RoutingState
from rolecall.inventory.baseline import DEFAULT_TASK
from rolecall.operator.posture import Posture, current_posture
from rolecall.operator.preview import (
    DEFAULT_TOKENS,
    MODE_NOTES,
    case_replays,
    compare,
    preview,
    replays_from,
)
from tests.unit.operator.builders import NOW, config, profile_for, state

BALANCED = Posture("balanced", "hybrid", "auto")
COST = Posture("cost", "hybrid", "auto")


def test_a_row_with_only_an_id_gets_the_defaults() -> None:
    [replay] = replays_from([{"request_id": "r1"}])
    request = replay.request
    assert request.request_id == "whatif-r1"
    assert request.task_type == DEFAULT_TASK
    assert request.requested_role_id is None
    assert request.required_capabilities == ()
    assert request.required_modalities == ("text",)
    assert request.needs_tools is False
    assert request.allow_endpoints == ()
    assert request.deny_endpoints == ()
    assert replay.tokens == DEFAULT_TOKENS


@pytest.mark.parametrize(
    "row",
    [
        {"request_id": 7, "task_type": None, "role_id": None, "policy_snapshot": None},
        {"request_id": 7, "task_type": "", "tokens_in": None, "tokens_out": None},
        {"request_id": 7, "tokens_in": 0, "tokens_out": 0, "policy_snapshot": {}},
        {
            "request_id": 7,
            "policy_snapshot": {
                "required_capabilities": None,
                "required_modalities": [],
                "allow_endpoints": None,
                "require_tools": None,
            },
        },
    ],
)
def test_null_and_empty_fields_fall_back_to_the_defaults(row: dict[str, Any]) -> None:
    [replay] = replays_from([row])
    assert replay.request.request_id == "whatif-7"
    assert replay.request.task_type == DEFAULT_TASK
    assert replay.request.required_modalities == ("text",)
    assert replay.request.required_capabilities == ()
    assert replay.request.needs_tools is False
    assert replay.tokens == DEFAULT_TOKENS


def test_the_policy_snapshot_and_tokens_are_carried_over() -> None:
    row = {
        "request_id": "r2",
        "task_type": "code.edit",
        "role_id": "coder.patch",
        "tokens_in": "1200",  # a driver may hand numbers back as strings
        "tokens_out": 0,
        "policy_snapshot": {
            "required_capabilities": ["code.edit"],
            "required_modalities": ["text", "image"],
            "require_tools": 1,
            "allow_endpoints": ["local", "remote"],
            "deny_endpoints": ["remote"],
            "strategy": "cost",  # not a per-request constraint: not replayed
        },
    }
    [replay] = replays_from([row])
    request = replay.request
    assert request.task_type == "code.edit"
    assert request.requested_role_id == "coder.patch"
    assert request.required_capabilities == ("code.edit",)
    assert request.required_modalities == ("text", "image")
    assert request.needs_tools is True
    assert request.allow_endpoints == ("local", "remote")
    assert request.deny_endpoints == ("remote",)
    assert request.strategy is None
    assert replay.tokens == (1200, 0)  # one known count is enough: no defaults


def remote_better_but_priced() -> RoutingState:
    """Remote judged clearly better (wins balanced); local unpriced (wins when cost dominates)."""
    routing = state()
    assert routing.publish_profile(profile_for(routing, "remote", 0.8))
    assert routing.publish_profile(profile_for(routing, "local", 0.6))
    return routing


def test_balanced_to_cost_moves_traffic_from_the_priced_remote_to_the_local() -> None:
    routing = remote_better_but_priced()
    inv = routing.inventory
    rows = [{"request_id": f"r{i}", "tokens_in": 1000, "tokens_out": 100} for i in range(3)]
    body = compare(inv, replays_from(rows), inv.policy, BALANCED, COST, routing.candidates(NOW))
    assert body["replayed"] == 3
    assert body["moved"] == 3
    assert body["moves"] == [{"from": "remote", "to": "local", "count": 3}]
    assert body["current"]["by_endpoint"] == {"remote": 3}
    assert body["proposed"]["by_endpoint"] == {"local": 3}
    # 3 x (1000 x 3.0 + 100 x 15.0) / 1e6 on the remote; the local has no price
    assert body["current"]["cost_usd"] == pytest.approx(3 * 0.0045)
    assert body["proposed"]["cost_usd"] == 0.0
    assert body["delta"]["cost_usd"] == pytest.approx(-3 * 0.0045)
    assert body["delta"]["quality"] < 0
    assert body["current"]["no_endpoint"] == body["proposed"]["no_endpoint"] == 0


def test_the_same_posture_moves_nothing() -> None:
    routing = remote_better_but_priced()
    inv = routing.inventory
    replays = replays_from([{"request_id": "a"}, {"request_id": "b"}])
    body = compare(inv, replays, inv.policy, BALANCED, BALANCED, routing.candidates(NOW))
    assert body["moved"] == 0
    assert body["moves"] == []
    assert body["delta"] == {"quality": 0.0, "latency_ms": 0.0, "cost_usd": 0.0}


def test_scopes_restrict_where_replays_may_go() -> None:
    routing = remote_better_but_priced()
    inv = routing.inventory
    replays = replays_from([{"request_id": "a"}])
    local_only = Posture("balanced", "local_only", "auto")
    body = compare(inv, replays, inv.policy, BALANCED, local_only, routing.candidates(NOW))
    assert body["moves"] == [{"from": "remote", "to": "local", "count": 1}]
    remote_only = Posture("cost", "remote_only", "auto")
    body = compare(inv, replays, inv.policy, COST, remote_only, routing.candidates(NOW))
    assert body["moves"] == [{"from": "local", "to": "remote", "count": 1}]


def test_a_replay_nothing_can_serve_counts_as_no_endpoint() -> None:
    routing = state()
    inv = routing.inventory
    replays = replays_from([{"request_id": "e", "task_type": "embeddings.text"}])
    body = compare(inv, replays, inv.policy, BALANCED, COST, routing.candidates(NOW))
    assert body["current"]["by_endpoint"] == {"(none)": 1}
    assert body["current"]["no_endpoint"] == 1
    assert body["current"]["quality"] is None
    assert body["current"]["cost_usd"] == 0.0
    assert body["delta"]["quality"] is None
    assert body["moved"] == 0


def test_preview_compares_recent_requests_and_the_benchmark_cases() -> None:
    routing = remote_better_but_priced()
    view = routing.view
    replays = replays_from([{"request_id": "r", "tokens_in": 10, "tokens_out": 10}])
    body = preview(view, view.inventory.policy, COST, replays, NOW)
    assert body["replayed"] == 1
    assert body["moves"] == [{"from": "remote", "to": "local", "count": 1}]
    assert body["proposed_posture"] == COST.to_dict()
    assert body["source"] == "recent stored requests"
    assert "note" not in body
    cases, why_not = case_replays()
    assert why_not is None
    assert cases
    assert body["benchmark_cases"]["replayed"] == len(cases)
    assert set(body["benchmark_cases"]) >= {"moved", "current", "proposed", "delta"}
    # the preview only reads: the view's posture is unchanged
    assert current_posture(routing.inventory) == BALANCED


@pytest.mark.parametrize("learned_in", ["proposed", "current"])
def test_the_learned_note_appears_when_a_mode_is_learned(learned_in: str) -> None:
    routing = state()
    proposed = BALANCED
    if learned_in == "current":
        routing.update(
            lambda inv: dataclasses.replace(
                inv, routing=inv.routing.model_copy(update={"mode": "learned"})
            )
        )
    else:
        proposed = dataclasses.replace(BALANCED, mode="learned")
    body = preview(routing.view, routing.inventory.policy, proposed, [], NOW)
    assert body["note"] == MODE_NOTES["learned"]
    assert body["replayed"] == 0
    assert body["moved"] == 0


def test_a_difficulty_mode_replays_classified_requests_against_the_ceilings() -> None:
    """Cost sends everything to the unpriced local endpoint; with a ceiling of 'easy' on it, the
    difficulty mode moves the replays classified harder (stored with their difficulty, or a
    benchmark case the rubric classifies) to the remote, and leaves unclassified ones alone."""
    data = config()
    data["endpoints"][0]["max_difficulty"] = "easy"
    routing = state(data)
    view = routing.view
    rows = [
        {"request_id": "hard", "difficulty": "hard"},
        {"request_id": "easy", "difficulty": "easy"},
        {"request_id": "old", "difficulty": None},  # routed before a classifying mode
        {"request_id": "odd", "difficulty": "extreme"},  # not a difficulty: unknown
    ]
    replays = replays_from(rows)
    assert [r.difficulty for r in replays] == ["hard", "easy", None, None]
    difficulty = Posture("cost", "hybrid", "auto", "difficulty")
    body = preview(view, view.inventory.policy, difficulty, replays, NOW)
    assert body["classified"] == {"unknown": 2, "hard": 1, "easy": 1}
    assert body["moves"] == [{"from": "local", "to": "remote", "count": 1}]
    assert "difficulty" in body["note"]
    cases = body["benchmark_cases"]
    assert set(cases["classified"]) == {"easy", "medium", "hard"}
    moved = sum(m["count"] for m in cases["moves"])
    assert moved == cases["classified"]["medium"] + cases["classified"]["hard"]
