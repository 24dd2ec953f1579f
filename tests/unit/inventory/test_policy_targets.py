"""Metric targets in rolecall.yaml: ``routing.policy.targets`` / ``budget.target_cost_per_request``
and a role's ``routing_policy_overrides``, checked when the file is read, errors naming the key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from rolecall.errors import ConfigError
from rolecall.inventory.config import load_inventory_file, parse_inventory
from rolecall.inventory.inventory import build_inventory, unset_targets
from tests.unit.routing.builders import role

BASE: dict[str, Any] = {
    "providers": {"home": {"kind": "llamacpp", "base_url": "http://127.0.0.1:8081/v1"}},
    "endpoints": [{"provider": "home", "model": "qwen"}],
}


def with_policy(
    policy: dict[str, Any], roles: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["routing"] = {"policy": policy}
    if roles is not None:
        data["roles"] = roles
    return data


def patient_role(overrides: dict[str, Any]) -> dict[str, Any]:
    return role("batch", routing_policy_overrides=overrides).to_artifact()


def test_targets_the_file_sets_are_the_policys_and_the_rest_are_left_to_the_pool() -> None:
    config = parse_inventory(
        with_policy({"targets": {"latency_target_ms": 2000, "latency_max_ms": 8000}})
    )
    inventory = build_inventory(config)
    assert inventory.policy is not None
    assert inventory.policy.targets.latency_target_ms == 2000
    assert inventory.policy.targets.latency_max_ms == 8000
    assert inventory.policy.targets.throughput_target_tps == 40  # reference stand-in
    assert unset_targets(config.routing) == {"throughput_target_tps", "cost_target"}
    cost = parse_inventory(with_policy({"budget": {"target_cost_per_request": 0.002}}))
    assert unset_targets(cost.routing) == {
        "latency_target_ms",
        "latency_max_ms",
        "throughput_target_tps",
    }
    assert unset_targets(parse_inventory(BASE).routing) == {
        "latency_target_ms",
        "latency_max_ms",
        "throughput_target_tps",
        "cost_target",
    }


@pytest.mark.parametrize(
    ("policy", "path", "fragment"),
    [
        ({"targets": {"latency_target_ms": 0}}, "routing.policy.targets.latency_target_ms", "> 0"),
        (
            {"targets": {"latency_max_ms": "slow"}},
            "routing.policy.targets.latency_max_ms",
            "number",
        ),
        (
            {"targets": {"throughput_target_tps": -3}},
            "routing.policy.targets.throughput_target_tps",
            "number",
        ),
        ({"targets": {"p99_ms": 100}}, "routing.policy.targets.p99_ms", "unknown field"),
        ({"targets": "fast"}, "routing.policy.targets", "object"),
        (
            {"targets": {"latency_target_ms": 2000, "latency_max_ms": 1000}},
            "routing.policy.targets.latency_max_ms",
            "must be above latency_target_ms (2000)",
        ),
        (
            {"budget": {"target_cost_per_request": 0}},
            "routing.policy.budget.target_cost_per_request",
            "> 0",
        ),
        ({"colour": "red"}, "routing.policy.colour", "unknown RoutingPolicy field"),
    ],
)
def test_bad_targets_name_the_key(policy: dict[str, Any], path: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_inventory(with_policy(policy))
    assert info.value.source == "rolecall.yaml"
    assert info.value.path == path
    assert fragment in info.value.message


def test_a_role_override_is_checked_against_the_base_policy() -> None:
    base = {"targets": {"latency_target_ms": 2000, "latency_max_ms": 8000}}
    good = patient_role({"targets": {"latency_max_ms": 30000}})
    parse_inventory(with_policy(base, [good]))
    bad = patient_role({"targets": {"latency_max_ms": 1500}})
    with pytest.raises(ConfigError) as info:
        parse_inventory(with_policy(base, [good, bad]))
    assert info.value.path == "roles[1].routing_policy_overrides.targets.latency_max_ms"
    assert "must be above latency_target_ms (2000)" in info.value.message
    # a role may set a target alone: the max is then derived (twice the target at least)
    parse_inventory(with_policy({}, [patient_role({"targets": {"latency_target_ms": 30000}})]))


def test_the_error_from_a_file_names_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "rolecall.yaml"
    path.write_text(yaml.safe_dump(with_policy({"targets": {"latency_max_ms": 0}})))
    with pytest.raises(ConfigError) as info:
        load_inventory_file(path)
    assert str(info.value).startswith(f"{path}: routing.policy.targets.latency_max_ms: ")
    assert "leave the target out to derive it from the pool" in str(info.value)
