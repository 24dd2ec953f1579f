"""Hard eligibility: an ordered list of named rules, one per exclusion code.

Every rule sees one candidate and the request's context and returns ``None`` (pass) or a detail string
(exclude, with why). All rules run for every candidate so an operator sees every reason at once, in
this order. A rule whose ``applies`` predicate is false for the request is skipped, and rules that can
only fire on a candidate's own runtime state (status, flags, deny markers) run only for candidates that
have such state; this keeps the common request (few constraints, healthy endpoints) cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from rolecall.protocol import ExclusionCode
from rolecall.routing.candidate import STATUS_EXCLUSIONS, Candidate, cost_estimate
from rolecall.routing.context import RoutingContext
from rolecall.routing.difficulty import ceiling_exceeded

Check = Callable[[Candidate, RoutingContext], "str | None"]


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    code: ExclusionCode
    check: Check
    applies: Callable[[RoutingContext], bool] = lambda ctx: True
    state_sensitive: bool = False  # may fire on the candidate's own state whatever the request


def _never(ctx: RoutingContext) -> bool:
    return False


def _flag_rule(name: str, code: ExclusionCode, flag: str, detail: str) -> Rule:
    def check(c: Candidate, ctx: RoutingContext) -> str | None:
        return detail if flag in c.runtime_flags else None

    return Rule(name, code, check, _never, state_sensitive=True)


def _provider_offline(c: Candidate, ctx: RoutingContext) -> str | None:
    if STATUS_EXCLUSIONS[c.status] == "PROVIDER_OFFLINE":
        return f"Endpoint provider is offline (status {c.status})."
    if "providerUnavailable" in c.runtime_flags:
        return "Endpoint provider is unavailable."
    return None


def _revoked(c: Candidate, ctx: RoutingContext) -> str | None:
    return "Endpoint has been revoked." if c.status == "revoked" else None


def _policy_deny_endpoint(c: Candidate, ctx: RoutingContext) -> str | None:
    p = ctx.policy
    eid, kind = c.endpoint_id, c.identity.provider_kind
    if c.policy_denied:
        why = "carries an operator deny marker"
    elif eid in p.deny_endpoints:
        why = "is on the deny list"
    elif p.allow_endpoints and eid not in p.allow_endpoints:
        why = "is not on the allow list"
    elif kind in p.deny_provider_kinds:
        why = f"has denied provider kind {kind}"
    elif p.allow_provider_kinds and kind not in p.allow_provider_kinds:
        why = f"has provider kind {kind}, not on the allow list"
    elif c.throughput_penalty is not None and c.throughput_penalty <= 0:
        why = "failed its throughput SLA"
    else:
        return None
    return f"Endpoint is denied by routing policy: it {why}."


def _policy_deny_remote(c: Candidate, ctx: RoutingContext) -> str | None:
    if ctx.policy.allow_remote or c.is_local:
        return None
    return "Remote endpoints are denied by routing policy."


def _difficulty_ceiling(c: Candidate, ctx: RoutingContext) -> str | None:
    difficulty = ctx.request.difficulty
    if not ceiling_exceeded(c.max_difficulty, difficulty):
        return None
    source = f" ({c.ceiling_source})" if c.ceiling_source else ""
    return (
        f"Difficulty ceiling '{c.max_difficulty}'{source} is below the request's difficulty "
        f"'{difficulty}'."
    )


def _binding_status(status: str, detail: str) -> Check:
    def check(c: Candidate, ctx: RoutingContext) -> str | None:
        binding = ctx.bindings.get(c.endpoint_id)
        return detail if binding is not None and binding.status == status else None

    return check


def _binding_task(c: Candidate, ctx: RoutingContext) -> str | None:
    binding = ctx.bindings.get(c.endpoint_id)
    if binding is None or not binding.effective_task_types:
        return None
    if ctx.request.task_type in binding.effective_task_types:
        return None
    return f"Endpoint role binding does not allow task {ctx.request.task_type}."


def _binding_capability(c: Candidate, ctx: RoutingContext) -> str | None:
    binding = ctx.bindings.get(c.endpoint_id)
    if binding is None or not binding.effective_capabilities:
        return None
    missing = ctx.required.difference(binding.effective_capabilities)
    if not missing:
        return None
    return (
        "Endpoint role binding does not allow all required capabilities for this request "
        f"(missing: {', '.join(sorted(missing))})."
    )


def _task_not_supported(c: Candidate, ctx: RoutingContext) -> str | None:
    role = ctx.role
    if role is None or ctx.request.task_type in role.task_types_supported:
        return None
    return f"Requested task {ctx.request.task_type} is not supported by role {role.role_id}."


def _role_not_allowed(c: Candidate, ctx: RoutingContext) -> str | None:
    task, role_id = ctx.task, ctx.request.requested_role_id
    if task is None or role_id is None or not task.allowed_roles or role_id in task.allowed_roles:
        return None
    return f"Requested role {role_id} is not allowed for task {task.task_type}."


def _forbidden_capability(c: Candidate, ctx: RoutingContext) -> str | None:
    assert ctx.role is not None
    present = c.capabilities.intersection(ctx.role.forbidden_capabilities)
    if not present:
        return None
    return f"Endpoint declares a capability the role forbids: {', '.join(sorted(present))}."


def _capability_missing(c: Candidate, ctx: RoutingContext) -> str | None:
    if ctx.required <= c.capabilities:
        return None
    missing = ", ".join(sorted(ctx.required - c.capabilities))
    return f"Endpoint is missing a required capability: {missing}."


def _modality_unsupported(c: Candidate, ctx: RoutingContext) -> str | None:
    if ctx.modality_set <= c.modalities:
        return None
    missing = [m for m in ctx.policy.required_modalities if m not in c.modalities]
    return f"Endpoint does not support all required modalities (missing: {', '.join(missing)})."


def _context_too_small(c: Candidate, ctx: RoutingContext) -> str | None:
    need, have = ctx.request.context_tokens, c.declared.max_context_tokens
    if need <= have:
        return None
    return f"Endpoint context window is too small for the request ({need} > {have} tokens)."


def _tools_unsupported(c: Candidate, ctx: RoutingContext) -> str | None:
    return None if c.declared.tool_calling.supported else "Endpoint does not support tool calling."


def _budget_exceeded(c: Candidate, ctx: RoutingContext) -> str | None:
    if "budgetExceeded" in c.runtime_flags:
        return "Endpoint's account budget is exhausted."
    p = ctx.policy
    if p.budget_mode != "strict" or not p.budget_enabled or p.max_cost_per_request is None:
        return None
    cost = cost_estimate(c)
    if cost is None or cost <= p.max_cost_per_request:
        return None
    return f"Estimated cost {cost:g} per 1k tokens exceeds the request budget {p.max_cost_per_request:g}."


def _role_requested(ctx: RoutingContext) -> bool:
    return ctx.request.requested_role_id is not None


def _has_lists(ctx: RoutingContext) -> bool:
    p = ctx.policy
    return bool(
        p.deny_endpoints or p.allow_endpoints or p.deny_provider_kinds or p.allow_provider_kinds
    )


def _strict_budget(ctx: RoutingContext) -> bool:
    p = ctx.policy
    return p.budget_mode == "strict" and p.budget_enabled and p.max_cost_per_request is not None


RULES: Final[tuple[Rule, ...]] = (
    Rule("provider_offline", "PROVIDER_OFFLINE", _provider_offline, _never, state_sensitive=True),
    Rule("revoked", "REVOKED", _revoked, _never, state_sensitive=True),
    _flag_rule(
        "account_disabled", "ACCOUNT_DISABLED", "accountDisabled", "Provider account is disabled."
    ),
    _flag_rule(
        "auth_unavailable",
        "AUTH_UNAVAILABLE",
        "authUnavailable",
        "Provider credentials are unavailable.",
    ),
    _flag_rule(
        "quota_exhausted", "QUOTA_EXHAUSTED", "quotaExhausted", "Provider quota is exhausted."
    ),
    _flag_rule(
        "entitlement_missing",
        "ENTITLEMENT_MISSING",
        "entitlementMissing",
        "Account lacks the entitlement for this endpoint.",
    ),
    _flag_rule(
        "region_disallowed",
        "REGION_DISALLOWED",
        "regionDisallowed",
        "Endpoint region is not allowed.",
    ),
    _flag_rule(
        "deployment_class_mismatch",
        "DEPLOYMENT_CLASS_MISMATCH",
        "deploymentClassMismatch",
        "Endpoint deployment class does not match.",
    ),
    _flag_rule(
        "package_not_installed",
        "PACKAGE_NOT_INSTALLED",
        "packageNotInstalled",
        "Endpoint package is not installed.",
    ),
    _flag_rule(
        "variant_incompatible",
        "VARIANT_INCOMPATIBLE",
        "variantIncompatible",
        "Endpoint variant is incompatible.",
    ),
    Rule(
        "policy_deny_endpoint",
        "POLICY_DENY_ENDPOINT",
        _policy_deny_endpoint,
        _has_lists,
        state_sensitive=True,
    ),
    Rule(
        "policy_deny_remote",
        "POLICY_DENY_REMOTE",
        _policy_deny_remote,
        lambda x: not x.policy.allow_remote,
    ),
    # the difficulty mode's exclusion: the schema's codes are a closed set, so it reports as
    # POLICY_DENY_ENDPOINT and its name and detail say which policy
    Rule(
        "difficulty_ceiling",
        "POLICY_DENY_ENDPOINT",
        _difficulty_ceiling,
        lambda x: x.request.difficulty is not None,
    ),
    Rule(
        "role_binding_inactive",
        "ROLE_BINDING_INACTIVE",
        _binding_status("inactive", "Endpoint role binding is inactive."),
        _role_requested,
    ),
    Rule(
        "role_binding_disabled",
        "ROLE_BINDING_DISABLED",
        _binding_status("disabled", "Endpoint role binding is disabled."),
        _role_requested,
    ),
    Rule(
        "role_binding_task_not_allowed",
        "ROLE_BINDING_TASK_NOT_ALLOWED",
        _binding_task,
        _role_requested,
    ),
    Rule(
        "role_binding_capability_missing",
        "ROLE_BINDING_CAPABILITY_MISSING",
        _binding_capability,
        _role_requested,
    ),
    Rule(
        "task_not_supported_by_role",
        "TASK_NOT_SUPPORTED_BY_ROLE",
        _task_not_supported,
        lambda x: x.role is not None,
    ),
    Rule("role_not_allowed", "ROLE_NOT_ALLOWED", _role_not_allowed, lambda x: x.task is not None),
    Rule(
        "forbidden_capability_present",
        "FORBIDDEN_CAPABILITY_PRESENT",
        _forbidden_capability,
        lambda x: bool(x.role and x.role.forbidden_capabilities),
    ),
    Rule(
        "capability_missing", "CAPABILITY_MISSING", _capability_missing, lambda x: bool(x.required)
    ),
    Rule(
        "modality_unsupported",
        "MODALITY_UNSUPPORTED",
        _modality_unsupported,
        lambda x: bool(x.policy.required_modalities),
    ),
    Rule("context_too_small", "CONTEXT_TOO_SMALL", _context_too_small),
    Rule(
        "tools_unsupported",
        "TOOLS_UNSUPPORTED",
        _tools_unsupported,
        lambda x: x.policy.require_tools,
    ),
    Rule(
        "budget_exceeded", "BUDGET_EXCEEDED", _budget_exceeded, _strict_budget, state_sensitive=True
    ),
)
"""The rules in evaluation order; `tests/unit/routing/test_eligibility.py` checks they cover the schema."""

REFINEMENTS: Final[frozenset[str]] = frozenset({"difficulty_ceiling"})
"""Rules that report an existing schema code under a name of their own (every other rule is named
after its code, one rule per code)."""


CompiledRules = tuple[tuple[Check, ExclusionCode], ...]


def active_rules(ctx: RoutingContext) -> tuple[CompiledRules, CompiledRules]:
    """The rules to run for this request: (for healthy candidates, for candidates with state).

    Every ``applies`` predicate reads only the request's posture (never ids or sizes), so the result
    can be cached per posture.
    """
    applicable = [rule.applies(ctx) for rule in RULES]
    plain = tuple((rule.check, rule.code) for rule, ok in zip(RULES, applicable, strict=True) if ok)
    stateful = tuple(
        (rule.check, rule.code)
        for rule, ok in zip(RULES, applicable, strict=True)
        if ok or rule.state_sensitive
    )
    return plain, stateful


Exclusions = tuple[tuple[ExclusionCode, str], ...]
