"""`role_rankings`: the router's current ranking per role, with the excluded endpoints and why."""

from __future__ import annotations

from typing import Any

from rolecall.execution.state import RoutingState
from rolecall.operator.posture import Posture, with_binding, with_posture
from rolecall.operator.rankings import role_rankings
from tests.unit.operator.builders import NOW, profile_for, state


def by_role(body: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    return {entry["role_id"]: entry for entry in body["roles"]}


def codes(entry: dict[str, Any]) -> dict[str, list[str]]:
    return {e["endpoint_id"]: [x["code"] for x in e["exclusions"]] for e in entry["excluded"]}


def ranked_ids(entry: dict[str, Any]) -> list[str]:
    return [r["endpoint_id"] for r in entry["ranked"]]


def rankings(routing: RoutingState) -> dict[str, Any]:
    return role_rankings(routing.view, NOW)


def test_every_role_is_listed_after_the_default() -> None:
    routing = state()
    body = rankings(routing)
    assert body["strategy"] == "balanced"
    roles = [entry["role_id"] for entry in body["roles"]]
    assert roles == [None, *routing.inventory.roles]
    default = body["roles"][0]
    assert default["task_type"] == "text.chat"
    assert sorted(ranked_ids(default)) == ["local", "remote"]
    assert default["excluded"] == []


def test_ranked_entries_carry_scores_metrics_and_their_sources() -> None:
    entry = rankings(state())["roles"][0]
    scores = [r["total_score"] for r in entry["ranked"]]
    assert scores == sorted(scores, reverse=True)
    for ranked in entry["ranked"]:
        assert set(ranked["metrics"]) == set(ranked["sources"])
        assert {"quality", "latency", "cost"} <= set(ranked["metrics"])
        assert all(isinstance(v, float) for v in ranked["metrics"].values())
        assert set(ranked["sources"].values()) <= {"default", "declared", "measured", "catalog"}


def test_a_role_no_endpoint_can_serve_excludes_them_with_reason_codes() -> None:
    embedder = by_role(rankings(state()))["embedder"]
    assert embedder["task_type"] == "embeddings.text"
    assert embedder["ranked"] == []
    assert codes(embedder) == {
        "local": ["CAPABILITY_MISSING"],
        "remote": ["CAPABILITY_MISSING"],
    }
    assert all(e["eligible"] is False for e in embedder["excluded"])


def test_an_offline_endpoint_is_excluded_for_every_role() -> None:
    routing = state()
    routing.set_offline("remote", True)
    for entry in rankings(routing)["roles"]:
        assert "remote" not in ranked_ids(entry)
        assert "PROVIDER_OFFLINE" in codes(entry)["remote"]
    routing.set_offline("remote", False)
    assert "remote" in ranked_ids(rankings(routing)["roles"][0])


def test_an_endpoint_in_cooldown_is_excluded_as_offline() -> None:
    routing = state()
    routing.cooldowns.enter("local", "upstream_5xx", NOW)
    default = rankings(routing)["roles"][0]
    assert ranked_ids(default) == ["remote"]
    assert codes(default) == {"local": ["PROVIDER_OFFLINE"]}


def test_a_disabled_binding_excludes_the_endpoint_for_that_role_only() -> None:
    routing = state()
    routing.update(lambda inv: with_binding(inv, "general.chat", "remote", "disabled"))
    roles = by_role(rankings(routing))
    assert codes(roles["general.chat"]) == {"remote": ["ROLE_BINDING_DISABLED"]}
    assert ranked_ids(roles["general.chat"]) == ["local"]
    assert "remote" in ranked_ids(roles[None])
    assert "remote" in ranked_ids(roles["coder.patch"])


def test_local_only_posture_excludes_the_remote_and_reports_the_strategy() -> None:
    routing = state()
    posture = Posture("cost", "local_only", "auto")
    routing.update(lambda inv: with_posture(inv, inv.policy, posture))
    body = rankings(routing)
    assert body["strategy"] == "cost"
    default = body["roles"][0]
    assert ranked_ids(default) == ["local"]
    assert codes(default) == {"remote": ["POLICY_DENY_REMOTE"]}


def test_rankings_show_the_targets_in_use_and_the_metrics_that_do_not_discriminate() -> None:
    routing = state()
    for endpoint_id in ("local", "remote"):  # the same judged quality and latency
        assert routing.publish_profile(profile_for(routing, endpoint_id, 0.7))
    body = rankings(routing)
    targets = body["targets"]
    # both answer in 100 ms: within the reference targets, which the pool leaves as they are
    assert targets["sources"]["latency_target_ms"] == "reference"
    assert targets["latency_target_ms"] == 150.0
    default = by_role(body)[None]
    flagged = {w.split(" ", 1)[0] for w in default["warnings"]}
    assert {"quality", "latency"} <= flagged
    assert "cost" not in flagged  # the remote is priced, the local is not
    assert routing.publish_profile(profile_for(routing, "local", 0.4))
    flagged = {w.split(" ", 1)[0] for w in by_role(rankings(routing))[None]["warnings"]}
    assert "quality" not in flagged
