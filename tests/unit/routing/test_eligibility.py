"""Each eligibility rule excludes exactly what its code says, and the rules cover the schema."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest

from rolecall.protocol import EXCLUSION_CODES
from rolecall.routing import RULES, Candidate, Router, RoutingRequest
from rolecall.routing.eligibility import REFINEMENTS

from .builders import binding, candidate, measured, request, role, task


def test_one_named_rule_per_schema_exclusion_code() -> None:
    schema = json.loads(
        resources.files("rolecall.protocol")
        .joinpath("schemas/router-decision.schema.json")
        .read_text()
    )
    enum = schema["properties"]["eligibility"]["items"]["properties"]["exclusions"]["items"][
        "properties"
    ]["code"]["enum"]
    own = [rule for rule in RULES if rule.name not in REFINEMENTS]
    codes = [rule.code for rule in own]
    assert sorted(codes) == sorted(enum) == sorted(EXCLUSION_CODES)
    assert len(set(codes)) == len(codes)
    assert len({rule.name for rule in RULES}) == len(RULES)
    assert all(rule.name == rule.code.lower() for rule in own)
    assert {rule.code for rule in RULES if rule.name in REFINEMENTS} <= set(enum)


def _codes(req: RoutingRequest, cand: Candidate, **kwargs: Any) -> list[str]:
    decision = Router().decide(req, [cand], **kwargs)
    [(endpoint_id, exclusions)] = decision.eligibility
    assert endpoint_id == cand.endpoint_id
    if exclusions:
        assert decision.chosen_endpoint_id == ""
        assert decision.ranked == ()
    return [code for code, _ in exclusions]


Scenario = Callable[[], tuple[RoutingRequest, Candidate, dict[str, Any]]]

FLAG_CODES = {
    "accountDisabled": "ACCOUNT_DISABLED",
    "authUnavailable": "AUTH_UNAVAILABLE",
    "quotaExhausted": "QUOTA_EXHAUSTED",
    "budgetExceeded": "BUDGET_EXCEEDED",
    "regionDisallowed": "REGION_DISALLOWED",
    "entitlementMissing": "ENTITLEMENT_MISSING",
    "providerUnavailable": "PROVIDER_OFFLINE",
    "deploymentClassMismatch": "DEPLOYMENT_CLASS_MISMATCH",
    "packageNotInstalled": "PACKAGE_NOT_INSTALLED",
    "variantIncompatible": "VARIANT_INCOMPATIBLE",
}


@pytest.mark.parametrize(("flag", "code"), sorted(FLAG_CODES.items()))
def test_runtime_eligibility_flag(flag: str, code: str) -> None:
    assert _codes(request(), candidate("a", runtime_flags=frozenset({flag}))) == [code]


@pytest.mark.parametrize(
    ("status", "codes"),
    [
        ("active", []),
        ("degraded", []),
        ("offline", ["PROVIDER_OFFLINE"]),
        ("cooldown", ["PROVIDER_OFFLINE"]),
        ("revoked", ["REVOKED"]),
    ],
)
def test_status(status: str, codes: list[str]) -> None:
    assert _codes(request(), candidate("a", status=status)) == codes


@pytest.mark.parametrize(
    ("req", "cand", "code"),
    [
        (request(deny_endpoints=("a",)), candidate("a"), "POLICY_DENY_ENDPOINT"),
        (request(allow_endpoints=("b",)), candidate("a"), "POLICY_DENY_ENDPOINT"),
        (
            request(deny_provider_kinds=("gguf",)),
            candidate("a", provider_kind="gguf"),
            "POLICY_DENY_ENDPOINT",
        ),
        (request(allow_provider_kinds=("gguf",)), candidate("a"), "POLICY_DENY_ENDPOINT"),
        (request(), candidate("a", policy_denied=True), "POLICY_DENY_ENDPOINT"),
        (request(), candidate("a", throughput_penalty=0.0), "POLICY_DENY_ENDPOINT"),
        (request(deny_remote=True), candidate("a"), "POLICY_DENY_REMOTE"),
        (request(required_capabilities=("code.edit",)), candidate("a"), "CAPABILITY_MISSING"),
        (request(required_modalities=("text", "image")), candidate("a"), "MODALITY_UNSUPPORTED"),
        (request(context_tokens=40000), candidate("a", context=32768), "CONTEXT_TOO_SMALL"),
        (request(needs_tools=True), candidate("a", tools=False), "TOOLS_UNSUPPORTED"),
        (
            request(budget_limit=0.002),
            candidate("a", evidence=measured(cost=0.003)),
            "BUDGET_EXCEEDED",
        ),
        (
            request(budget_limit=0.002),
            candidate("a", catalog_cost_per_1k_tokens=0.01),
            "BUDGET_EXCEEDED",
        ),
    ],
)
def test_request_level_rules(req: RoutingRequest, cand: Candidate, code: str) -> None:
    assert _codes(req, cand) == [code]


def test_rules_pass_when_satisfied() -> None:
    req = request(
        required_capabilities=("text.chat",),
        needs_tools=True,
        context_tokens=32768,
        budget_limit=0.002,
        deny_remote=True,
        allow_endpoints=("a",),
    )
    assert _codes(req, candidate("a", local=True, evidence=measured(cost=0.002))) == []


def test_advisory_budget_does_not_exclude() -> None:
    req = request(budget_limit=0.001, budget_mode="advisory")
    decision = Router().decide(req, [candidate("a", evidence=measured(cost=0.5))])
    assert decision.chosen_endpoint_id == "a"
    assert "BUDGET_OPTIMIZATION" in decision.selection_reasons


def test_local_endpoint_passes_remote_denial() -> None:
    assert _codes(request(deny_remote=True), candidate("a", local=True)) == []


@pytest.mark.parametrize(
    ("status", "code"),
    [("inactive", "ROLE_BINDING_INACTIVE"), ("disabled", "ROLE_BINDING_DISABLED")],
)
def test_binding_status(status: str, code: str) -> None:
    req = request(requested_role_id="r")
    roles = [role("r")]
    assert _codes(req, candidate("a"), roles=roles, bindings=[binding("r", "a", status)]) == [code]


def test_binding_limits_tasks_and_capabilities() -> None:
    req = request(
        requested_role_id="r", task_type="text.chat", required_capabilities=("text.chat",)
    )
    roles = [role("r")]
    narrow = binding(
        "r", "a", effective_task_types=["code.edit"], effective_capabilities=["code.edit"]
    )
    assert _codes(req, candidate("a"), roles=roles, bindings=[narrow]) == [
        "ROLE_BINDING_TASK_NOT_ALLOWED",
        "ROLE_BINDING_CAPABILITY_MISSING",
    ]


def test_binding_of_another_role_or_endpoint_is_ignored() -> None:
    req = request(requested_role_id="r")
    others = [binding("other", "a", "disabled"), binding("r", "b", "disabled")]
    assert _codes(req, candidate("a"), roles=[role("r")], bindings=others) == []


def test_the_most_permissive_binding_wins() -> None:
    req = request(requested_role_id="r")
    both = [
        binding("r", "a", "disabled", binding_id="x"),
        binding("r", "a", "active", binding_id="y"),
    ]
    assert _codes(req, candidate("a"), roles=[role("r")], bindings=both) == []


def test_role_and_task_must_agree() -> None:
    req = request(requested_role_id="r", task_type="code.edit")
    roles = [role("r", task_types_supported=["text.chat"])]
    tasks = [task("code.edit", allowed_roles=["coder"])]
    assert _codes(req, candidate("a"), roles=roles, tasks=tasks) == [
        "TASK_NOT_SUPPORTED_BY_ROLE",
        "ROLE_NOT_ALLOWED",
    ]


def test_forbidden_capability() -> None:
    req = request(requested_role_id="r")
    roles = [role("r", forbidden_capabilities=["tools.function_calling"])]
    cand = candidate("a", capabilities=("text.chat", "tools.function_calling"))
    assert _codes(req, cand, roles=roles) == ["FORBIDDEN_CAPABILITY_PRESENT"]


def test_role_and_task_requirements_join_the_request() -> None:
    req = request(requested_role_id="r", task_type="t")
    roles = [role("r", task_types_supported=["t"], required_capabilities=["code.edit"])]
    tasks = [task("t", required_capabilities=["json.schema_adherence"])]
    decision = Router().decide(req, [candidate("a")], roles, tasks)
    [(_, exclusions)] = decision.eligibility
    assert exclusions[0][0] == "CAPABILITY_MISSING"
    assert "code.edit" in exclusions[0][1]
    assert "json.schema_adherence" in exclusions[0][1]
    assert decision.context.policy.required_capabilities == ("code.edit", "json.schema_adherence")


def test_every_reason_is_reported_not_only_the_first() -> None:
    req = request(needs_tools=True, context_tokens=100000, required_capabilities=("x",))
    cand = candidate("a", tools=False, status="offline")
    assert _codes(req, cand) == [
        "PROVIDER_OFFLINE",
        "CAPABILITY_MISSING",
        "CONTEXT_TOO_SMALL",
        "TOOLS_UNSUPPORTED",
    ]


def test_no_eligible_endpoint_is_a_valid_decision() -> None:
    decision = Router().decide(request(needs_tools=True), [candidate("a", tools=False)])
    artifact = decision.to_artifact()
    assert artifact["chosen_endpoint_id"] == ""
    assert artifact["scored_candidates"] == []
    assert artifact["fallback_endpoint_ids"] == []
    assert artifact["selection_reasons"] == []
    assert artifact["used_declared"] is False
    assert artifact["eligibility"][0]["eligible"] is False


def test_empty_candidate_set() -> None:
    decision = Router().decide(request(), [])
    assert decision.chosen_endpoint_id == ""
    assert decision.to_artifact()["eligibility"] == []
