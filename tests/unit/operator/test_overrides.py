"""`Operator`: posture and binding edits published to the routing state and kept in
``DATA_DIR/console/overrides.json`` across restarts."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from rolecall.errors import ConfigError
from rolecall.operator import Operator, Posture
from rolecall.operator.overrides import overrides_file
from rolecall.routing import RoutingRequest
from tests.unit.operator.builders import NOW, config, state


def overrides_path(data_dir: Path) -> Path:
    return data_dir / "console" / "overrides.json"


def bindings_of(operator: Operator) -> dict[tuple[str, str], str]:
    return {(b.role_id, b.endpoint_id): b.status for b in operator.routing.inventory.bindings}


def allow_remote(operator: Operator) -> bool:
    policy = operator.routing.inventory.policy
    assert policy is not None
    return bool(policy.to_artifact()["privacy"]["allow_remote"])


def write_saved(data_dir: Path, data: Any) -> None:
    path = overrides_path(data_dir)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data))


def test_set_posture_routes_on_it_now_and_saves_it_atomically(tmp_path: Path) -> None:
    operator = Operator(state(), overrides_file(tmp_path), learned_loaded=False)
    before = operator.routing.view
    posture = operator.set_posture({"strategy": "cost", "execution_scope": "local_only"})
    assert posture == Posture("cost", "local_only", "auto", "baseline")
    assert operator.posture() == posture
    after = operator.routing.view
    assert after.version == before.version + 1
    assert after.inventory.policy is not None
    assert after.inventory.policy.strategy == "cost"
    assert allow_remote(operator) is False
    saved = json.loads(overrides_path(tmp_path).read_text())
    assert saved == {"posture": posture.to_dict()}
    # written to a temporary file and renamed: nothing else is left in the folder
    assert sorted(p.name for p in overrides_path(tmp_path).parent.iterdir()) == ["overrides.json"]


def test_a_refused_posture_changes_neither_routing_nor_the_file(tmp_path: Path) -> None:
    operator = Operator(state(), overrides_file(tmp_path), learned_loaded=False)
    before = operator.routing.view
    with pytest.raises(ConfigError) as info:
        operator.set_posture({"strategy": "cost", "mode": "learned"})
    assert info.value.path == "mode"
    assert operator.routing.view is before
    assert not overrides_path(tmp_path).exists()


def test_a_new_operator_over_a_fresh_state_reapplies_what_was_saved(tmp_path: Path) -> None:
    first = Operator(state(), overrides_file(tmp_path), learned_loaded=False)
    first.set_posture({"strategy": "latency", "compute_preference": "local"})
    first.set_binding("general.chat", "remote", "disabled")
    first.set_binding("coder.patch", "local", "active")

    fresh = state()
    second = Operator(fresh, overrides_file(tmp_path), learned_loaded=False)
    assert second.posture() == Posture("balanced", "hybrid", "auto")  # not yet applied
    second.apply_saved()
    assert second.posture() == Posture("latency", "hybrid", "local")
    assert bindings_of(second)[("general.chat", "remote")] == "disabled"
    assert bindings_of(second)[("coder.patch", "local")] == "active"
    # the router of the new view decides with the saved binding: remote is out for the role
    decision = fresh.view.router.decide(
        RoutingRequest(request_id="r", requested_role_id="general.chat"),
        fresh.candidates(NOW),
        fresh.inventory.roles.values(),
        fresh.inventory.tasks.values(),
        fresh.inventory.bindings,
    )
    assert decision.chosen_endpoint_id == "local"
    excluded = {e["endpoint_id"]: e for e in decision.to_artifact()["eligibility"]}
    codes = [x["code"] for x in excluded["remote"]["exclusions"]]
    assert codes == ["ROLE_BINDING_DISABLED"]


def test_auto_is_saved_and_removes_the_binding_after_a_restart(tmp_path: Path) -> None:
    first = Operator(state(), overrides_file(tmp_path), learned_loaded=False)
    first.set_binding("general.chat", "remote", "disabled")
    first.set_binding("general.chat", "remote", "auto")
    saved = json.loads(overrides_path(tmp_path).read_text())
    assert saved["bindings"] == {"general.chat@remote": "auto"}
    second = Operator(state(), overrides_file(tmp_path), learned_loaded=False)
    second.apply_saved()
    assert ("general.chat", "remote") not in bindings_of(second)


def test_a_refused_binding_is_not_saved(tmp_path: Path) -> None:
    operator = Operator(state(), overrides_file(tmp_path), learned_loaded=False)
    with pytest.raises(ConfigError):
        operator.set_binding("general.chat", "nowhere", "active")
    assert not overrides_path(tmp_path).exists()


def test_saved_overrides_that_no_longer_fit_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_saved(
        tmp_path,
        {
            "posture": {"strategy": "cost", "mode": "learned"},
            "bindings": {
                "general.chat@vanished": "active",
                "gone.role@local": "active",
                "general.chat@local": "sideways",
                "general.chat@remote": "disabled",
            },
        },
    )
    operator = Operator(state(), overrides_file(tmp_path), learned_loaded=False)
    with caplog.at_level(logging.WARNING, logger="rolecall.operator"):
        operator.apply_saved()
    # the posture asked for a mode this runtime cannot run: not applied at all
    assert operator.posture() == Posture("balanced", "hybrid", "auto")
    # the binding that still fits is applied
    assert bindings_of(operator)[("general.chat", "remote")] == "disabled"
    assert ("general.chat", "vanished") not in bindings_of(operator)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 4
    assert sum("saved posture not applied" in m for m in messages) == 1
    assert sum("saved binding not applied" in m for m in messages) == 3
    assert any("'vanished'" in m for m in messages)
    assert any("'gone.role'" in m for m in messages)


def test_a_saved_learned_posture_applies_when_learned_is_loaded(tmp_path: Path) -> None:
    write_saved(tmp_path, {"posture": {"strategy": "quality", "mode": "learned"}})
    operator = Operator(state(), overrides_file(tmp_path), learned_loaded=True)
    operator.apply_saved()
    assert operator.posture() == Posture("quality", "hybrid", "auto", "learned")


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00garbage", b""])
def test_an_unreadable_overrides_file_raises_naming_it(tmp_path: Path, content: bytes) -> None:
    path = overrides_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        Operator(state(), overrides_file(tmp_path), learned_loaded=False)
    assert info.value.source == str(path)
    assert "unreadable console overrides" in info.value.message
    assert "fix or delete the file" in info.value.message


@pytest.mark.parametrize("data", [["posture", {"strategy": "cost"}], "cost", 42, None])
def test_a_file_not_holding_an_object_is_treated_as_empty(tmp_path: Path, data: Any) -> None:
    write_saved(tmp_path, data)
    operator = Operator(state(), overrides_file(tmp_path), learned_loaded=False)
    before = operator.routing.view
    operator.apply_saved()
    assert operator.routing.view is before  # nothing to apply: no new view
    operator.set_binding("general.chat", "local", "disabled")
    saved = json.loads(overrides_path(tmp_path).read_text())
    assert saved == {"bindings": {"general.chat@local": "disabled"}}


def test_odd_shapes_inside_the_object_are_ignored(tmp_path: Path) -> None:
    write_saved(tmp_path, {"posture": "cost", "bindings": ["general.chat@local"]})
    operator = Operator(state(), overrides_file(tmp_path), learned_loaded=False)
    before = operator.routing.view
    operator.apply_saved()
    assert operator.routing.view is before


def test_a_configured_allow_remote_false_survives_a_hybrid_posture(tmp_path: Path) -> None:
    data = config(policy={"privacy": {"allow_remote": False}})
    operator = Operator(state(data), overrides_file(tmp_path), learned_loaded=False)
    assert allow_remote(operator) is False
    operator.set_posture({"execution_scope": "remote_only", "strategy": "cost"})
    assert allow_remote(operator) is False


def test_a_configured_local_only_scope_can_be_widened_by_the_operator(tmp_path: Path) -> None:
    operator = Operator(
        state(config(execution_scope="local_only")), overrides_file(tmp_path), learned_loaded=False
    )
    assert allow_remote(operator) is False
    posture = operator.set_posture({"execution_scope": "hybrid"})
    assert posture.execution_scope == "hybrid"
    assert allow_remote(operator) is True
