"""The routing posture and role bindings as pure inventory edits (`rolecall.operator.posture`)."""

from __future__ import annotations

from typing import Any

import pytest

from rolecall.errors import ConfigError
from rolecall.inventory.config import RoutingConfig
from rolecall.inventory.inventory import policy_for
from rolecall.operator.posture import (
    POSTURE_KEYS,
    Posture,
    current_posture,
    modes_for,
    parse_posture,
    posture_policy,
    with_binding,
    with_posture,
)
from tests.unit.operator.builders import inventory

CURRENT = Posture("balanced", "hybrid", "auto", "baseline")
BASELINE_ONLY = modes_for(learned_loaded=False, controller=False)
WITH_LEARNED = modes_for(learned_loaded=True, controller=False)
EVERY_MODE = modes_for(learned_loaded=True, controller=True)
NOT_A_STRING: list[Any] = [["cost"], {"cost": True}, None, 3, 2.5, True]


def test_modes_say_which_this_runtime_can_run() -> None:
    assert BASELINE_ONLY == {
        "baseline": True,
        "learned": False,
        "difficulty": True,
        "controller": False,
        "hybrid": False,
    }
    assert WITH_LEARNED["learned"] is True
    assert [m for m, ok in WITH_LEARNED.items() if ok] == ["baseline", "learned", "difficulty"]
    assert all(EVERY_MODE.values())


def test_an_empty_body_keeps_the_current_posture() -> None:
    assert parse_posture({}, CURRENT, BASELINE_ONLY) == CURRENT


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"strategy": "cost"}, Posture("cost", "hybrid", "auto", "baseline")),
        ({"execution_scope": "local_only"}, Posture("balanced", "local_only", "auto", "baseline")),
        ({"compute_preference": "remote"}, Posture("balanced", "hybrid", "remote", "baseline")),
        (
            {"strategy": "latency", "execution_scope": "remote_only", "mode": "baseline"},
            Posture("latency", "remote_only", "auto", "baseline"),
        ),
    ],
)
def test_missing_keys_keep_their_current_value(body: dict[str, Any], expected: Posture) -> None:
    assert parse_posture(body, CURRENT, BASELINE_ONLY) == expected


def test_unknown_keys_are_refused_naming_the_first() -> None:
    with pytest.raises(ConfigError) as info:
        parse_posture({"strategy": "cost", "zeta": 1, "alpha": 2}, CURRENT, BASELINE_ONLY)
    assert info.value.source == "posture"
    assert info.value.path == "alpha"
    assert "unknown key" in info.value.message


@pytest.mark.parametrize("key", sorted(POSTURE_KEYS))
@pytest.mark.parametrize("value", NOT_A_STRING, ids=lambda v: type(v).__name__)
def test_a_non_string_value_is_refused_naming_its_key(key: str, value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        parse_posture({key: value}, CURRENT, WITH_LEARNED)
    assert info.value.path == key
    assert repr(value) in info.value.message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("strategy", "cheapest"),
        ("execution_scope", "everywhere"),
        ("compute_preference", "gpu"),
        ("mode", "turbo"),
        ("strategy", "COST"),
    ],
)
def test_a_value_outside_the_choices_lists_them(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_posture({key: value}, CURRENT, BASELINE_ONLY)
    assert info.value.path == key
    assert info.value.message.startswith("expected one of ")
    assert repr(value) in info.value.message


@pytest.mark.parametrize(
    ("mode", "needs"),
    [
        ("learned", "routing.learned"),
        ("controller", "routing.controller.endpoint_id"),
        ("hybrid", "routing.controller.endpoint_id"),
    ],
)
def test_a_mode_this_runtime_cannot_run_is_refused(mode: str, needs: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_posture({"mode": mode}, CURRENT, BASELINE_ONLY)
    assert info.value.path == "mode"
    assert needs in info.value.message
    assert info.value.message.endswith("use baseline, difficulty")


def test_difficulty_runs_everywhere_and_the_controller_modes_with_a_controller() -> None:
    assert parse_posture({"mode": "difficulty"}, CURRENT, BASELINE_ONLY).mode == "difficulty"
    assert parse_posture({"mode": "hybrid"}, CURRENT, EVERY_MODE).mode == "hybrid"


def test_learned_is_accepted_once_loaded() -> None:
    assert parse_posture({"mode": "learned"}, CURRENT, WITH_LEARNED).mode == "learned"
    with pytest.raises(ConfigError, match="use baseline, learned, difficulty"):
        parse_posture({"mode": "controller"}, CURRENT, WITH_LEARNED)


def test_a_current_learned_mode_no_longer_available_is_refused_even_if_not_sent() -> None:
    current = Posture("balanced", "hybrid", "auto", "learned")
    with pytest.raises(ConfigError) as info:
        parse_posture({"strategy": "cost"}, current, BASELINE_ONLY)
    assert info.value.path == "mode"


def _allow_remote(base: Any, scope: str) -> bool:
    policy = posture_policy(base, Posture("balanced", scope, "auto"))
    return policy.to_artifact()["privacy"]["allow_remote"]


def test_local_only_forbids_remote_even_if_the_configured_policy_allowed_it() -> None:
    allowed = policy_for(RoutingConfig(policy={"privacy": {"allow_remote": True}}))
    assert _allow_remote(allowed, "hybrid") is True
    assert _allow_remote(allowed, "remote_only") is True
    assert _allow_remote(allowed, "local_only") is False
    assert _allow_remote(None, "local_only") is False
    assert _allow_remote(None, "hybrid") is True


def test_a_configured_allow_remote_false_stays_false_whatever_the_scope() -> None:
    forbidden = policy_for(RoutingConfig(policy={"privacy": {"allow_remote": False}}))
    for scope in ("hybrid", "remote_only", "local_only"):
        assert _allow_remote(forbidden, scope) is False


def test_posture_policy_sets_the_knobs_and_keeps_the_rest_of_the_base() -> None:
    base = policy_for(RoutingConfig(policy={"deny_endpoints": ["remote"]}))
    policy = posture_policy(base, Posture("cost", "hybrid", "local")).to_artifact()
    assert policy["strategy"] == "cost"
    assert policy["compute_preference"] == "local"
    assert policy["deny_endpoints"] == ["remote"]
    assert base.to_artifact()["strategy"] == "balanced"  # the base is not changed


def test_with_posture_round_trips_through_current_posture() -> None:
    inv = inventory()
    posture = Posture("quality", "local_only", "local", "baseline")
    edited = with_posture(inv, inv.policy, posture)
    assert current_posture(edited) == posture
    assert current_posture(inv) == CURRENT  # the original inventory is untouched
    assert edited.endpoints is inv.endpoints


@pytest.mark.parametrize(
    ("role_id", "endpoint_id", "status", "path"),
    [
        ("no.such.role", "local", "active", "role_id"),
        ("general.chat", "nowhere", "active", "endpoint_id"),
        ("general.chat", "local", "enabled", "status"),
        ("general.chat", "local", "", "status"),
    ],
)
def test_with_binding_refuses_unknown_names(
    role_id: str, endpoint_id: str, status: str, path: str
) -> None:
    with pytest.raises(ConfigError) as info:
        with_binding(inventory(), role_id, endpoint_id, status)
    assert info.value.source == "bindings"
    assert info.value.path == path


def _bindings(inv: Any) -> dict[tuple[str, str], str]:
    return {(b.role_id, b.endpoint_id): b.status for b in inv.bindings}


def test_a_binding_replaces_the_previous_one_and_auto_removes_it() -> None:
    inv = inventory()
    before = _bindings(inv)
    assert ("general.chat", "remote") not in before
    disabled = with_binding(inv, "general.chat", "remote", "disabled")
    assert _bindings(disabled)[("general.chat", "remote")] == "disabled"
    active = with_binding(disabled, "general.chat", "remote", "active")
    assert _bindings(active)[("general.chat", "remote")] == "active"
    assert len(active.bindings) == len(disabled.bindings)
    auto = with_binding(active, "general.chat", "remote", "auto")
    assert _bindings(auto) == before


def test_auto_without_a_binding_changes_nothing() -> None:
    inv = inventory()
    assert _bindings(with_binding(inv, "general.chat", "local", "auto")) == _bindings(inv)
