"""Effective policy snapshot assembly and request parsing, including errors that name the key."""

from __future__ import annotations

import pytest

from rolecall.errors import ConfigError
from rolecall.protocol.validation import validate_artifact
from rolecall.routing import Router, parse_routing_request

from .builders import candidate, request, role


def test_snapshot_records_request_flags() -> None:
    req = request(
        strategy="latency",
        prefer_local=True,
        budget_limit=0.02,
        deny_remote=True,
        deny_endpoints=("x",),
        allow_provider_kinds=("gguf",),
        needs_tools=True,
        required_capabilities=("text.chat",),
    )
    snap = Router().decide(req, [candidate("a", local=True)]).to_artifact()["policy_snapshot"]
    validate_artifact("routing-policy", snap)
    assert snap["strategy"] == "latency"
    assert snap["compute_preference"] == "local"
    assert snap["prefer_local"] is True
    assert snap["budget_mode"] == "strict"
    assert snap["budget"] == {"enabled": True, "currency": "USD", "max_cost_per_request": 0.02}
    assert snap["privacy"] == {"allow_remote": False}
    assert snap["deny_endpoints"] == ["x"]
    assert snap["allow_provider_kinds"] == ["gguf"]
    assert snap["require_tools"] is True
    assert snap["targets"] == {
        "latency_target_ms": 150.0,
        "latency_max_ms": 300.0,
        "throughput_target_tps": 40.0,
    }
    assert snap["tie_break_order"] == ["quality", "latency_ms", "reliability", "endpoint_id"]


def test_defaults_without_flags() -> None:
    snap = Router().decide(request(), [candidate("a")]).to_artifact()["policy_snapshot"]
    assert (snap["strategy"], snap["compute_preference"], snap["budget_mode"]) == (
        "balanced",
        "auto",
        "disabled",
    )
    assert snap["budget"] == {"enabled": False, "currency": "USD"}


def test_role_overrides_merge_into_the_snapshot() -> None:
    r = role(
        "r",
        routing_policy_overrides={
            "strategy": "quality",
            "budget": {"target_cost_per_request": 0.005},
            "privacy": {"allow_remote": False},
            "deny_endpoints": ["y"],
            "targets": {"latency_target_ms": 400},
        },
    )
    req = request(requested_role_id="r", deny_endpoints=("x",))
    decision = Router().decide(req, [candidate("a", local=True)], roles=[r])
    snap = decision.to_artifact()["policy_snapshot"]
    assert snap["strategy"] == "quality"
    assert snap["budget"]["target_cost_per_request"] == 0.005
    assert snap["privacy"]["allow_remote"] is False
    assert snap["deny_endpoints"] == ["x", "y"]
    assert snap["targets"]["latency_target_ms"] == 400.0
    assert "ROLE_POLICY_APPLIED" in decision.selection_reasons


def test_role_override_cannot_reopen_remote() -> None:
    r = role("r", routing_policy_overrides={"privacy": {"allow_remote": True}})
    decision = Router().decide(
        request(requested_role_id="r", deny_remote=True), [candidate("a")], roles=[r]
    )
    assert decision.eligibility[0][1][0][0] == "POLICY_DENY_REMOTE"


def test_bad_role_override_names_the_key() -> None:
    r = role("r", routing_policy_overrides={"stratgy": "quality"})
    with pytest.raises(ConfigError, match=r"routing_policy_overrides\.stratgy"):
        Router().decide(request(requested_role_id="r"), [candidate("a")], roles=[r])
    r = role("r", routing_policy_overrides={"budget": {"max_cost_per_request": -1}})
    with pytest.raises(ConfigError, match=r"budget\.max_cost_per_request"):
        Router().decide(request(requested_role_id="r"), [candidate("a")], roles=[r])


def test_parse_request_camel_and_snake() -> None:
    camel = parse_routing_request(
        {"requestId": "r1", "taskType": "code.edit", "needsTools": True, "budgetLimit": 1}
    )
    snake = parse_routing_request(
        {"request_id": "r1", "task_type": "code.edit", "needs_tools": True, "budget_limit": 1}
    )
    assert camel == snake
    assert camel.budget_limit == 1.0


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({}, "$.requestId"),
        ({"requestId": "r", "contextTokens": "big"}, "$.contextTokens"),
        ({"requestId": "r", "contextTokens": -1}, "$.contextTokens"),
        ({"requestId": "r", "strategy": "fastest"}, "$.strategy"),
        ({"requestId": "r", "needsTools": "yes"}, "$.needsTools"),
        ({"requestId": "r", "requiredCapabilities": "code.edit"}, "$.requiredCapabilities"),
        ({"requestId": "r", "preferLocals": True}, "$.preferLocals"),
        ({"requestId": "r", "computePreference": "edge"}, "$.computePreference"),
    ],
)
def test_parse_request_errors_name_the_field(data: dict, path: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as info:
        parse_routing_request(data)
    assert info.value.path == path
