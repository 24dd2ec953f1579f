"""The effective routing policy of one decision, and how it is assembled.

Precedence, lowest first: the defaults below → the operator's base `RoutingPolicy` → the request's
flags → the requested role's ``routing_policy_overrides`` (merged as the reference router does: scalars
replaced, nested ``budget`` / ``privacy`` / ``targets`` merged key by key). Lists of denials are unioned
and ``privacy.allow_remote`` can only be tightened, so a role override never loosens what the request
or the operator forbade. The result is copied verbatim into the decision as ``policy_snapshot``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal, cast

from rolecall.errors import ConfigError
from rolecall.protocol import RoutingPolicy
from rolecall.routing.detail_texts import DETAIL_TEXTS, DetailTexts
from rolecall.routing.request import (
    BUDGET_MODES,
    COMPUTE_PREFERENCES,
    STRATEGY_ALIASES,
    BudgetMode,
    ComputePreference,
    RoutingRequest,
    Strategy,
)

# Normalisation targets of the reference router (docs/protocol.md §Scoring metrics and weights);
# a base policy may change them.
LATENCY_TARGET_MS: Final = 150.0
LATENCY_MAX_MS: Final = 300.0
THROUGHPUT_TARGET_TPS: Final = 40.0
COST_TARGET_PER_1K: Final = 0.01
TIE_BREAK_ORDER: Final = ("quality", "latency_ms", "reliability", "endpoint_id")

# The four normalisation targets (the cost target is the policy's budget.target_cost_per_request)
# and where each came from; rolecall.routing.targets fills the ones no policy set.
TargetField = Literal["latency_target_ms", "latency_max_ms", "throughput_target_tps", "cost_target"]
TARGET_FIELDS: Final[tuple[TargetField, ...]] = (
    "latency_target_ms",
    "latency_max_ms",
    "throughput_target_tps",
    "cost_target",
)
POLICY: Final = "policy"  # set by a policy: the base policy, a role's overrides, a case's policy
POOL: Final = "pool"  # derived from the candidate pool (rolecall.routing.targets)
REFERENCE: Final = "reference"  # the reference router's constant
_ALL_OPEN: Final = frozenset(TARGET_FIELDS)


@dataclass(frozen=True, slots=True)
class PolicySnapshot:
    """A resolved `RoutingPolicy`, flattened for fast reads during a decision."""

    strategy: Strategy = "balanced"
    compute_preference: ComputePreference = "auto"
    prefer_local: bool = False
    budget_mode: BudgetMode = "disabled"
    required_capabilities: tuple[str, ...] = ()
    required_modalities: tuple[str, ...] = ()
    require_tools: bool = False
    deny_endpoints: frozenset[str] = frozenset()
    allow_endpoints: frozenset[str] = frozenset()
    deny_provider_kinds: frozenset[str] = frozenset()
    allow_provider_kinds: frozenset[str] = frozenset()
    budget_enabled: bool = False
    currency: str = "USD"
    max_cost_per_request: float | None = None
    target_cost_per_request: float | None = None
    allow_remote: bool = True
    latency_target_ms: float = LATENCY_TARGET_MS
    latency_max_ms: float = LATENCY_MAX_MS
    throughput_target_tps: float = THROUGHPUT_TARGET_TPS
    cost_target: float = COST_TARGET_PER_1K  # budget.target_cost_per_request when a policy set it
    policy_id: str | None = None
    # the targets no policy set: the runtime may fill them from its pool (rolecall.routing.targets)
    open_targets: frozenset[TargetField] = _ALL_OPEN
    # per TARGET_FIELDS entry: POLICY, POOL or REFERENCE
    target_sources: tuple[str, ...] = (REFERENCE,) * 4
    # the text of exclusion details (rolecall.routing.detail_texts); not a RoutingPolicy field of
    # the protocol, so it stays out of the decision's policy_snapshot
    detail_texts: DetailTexts = "rolecall"

    def target_source(self, name: TargetField) -> str:
        return self.target_sources[TARGET_FIELDS.index(name)]

    def targets_in_use(self) -> dict[str, Any]:
        """The four targets this policy scores with, and where each came from."""
        values: dict[str, Any] = dict(zip(TARGET_FIELDS, self._target_values(), strict=True))
        return {**values, "sources": dict(zip(TARGET_FIELDS, self.target_sources, strict=True))}

    def _target_values(self) -> tuple[float, ...]:
        return (
            self.latency_target_ms,
            self.latency_max_ms,
            self.throughput_target_tps,
            self.cost_target,
        )

    def reopen_targets(self, names: frozenset[TargetField]) -> PolicySnapshot:
        """Mark ``names`` as left to the runtime: a policy carries them only because the protocol
        requires ``targets``, the operator set none (`Router`'s ``unset_targets``)."""
        names = names - self.open_targets
        if not names:
            return self
        sources = tuple(
            REFERENCE if name in names else source
            for name, source in zip(TARGET_FIELDS, self.target_sources, strict=True)
        )
        return replace(self, open_targets=self.open_targets | names, target_sources=sources)

    def to_artifact(self) -> dict[str, Any]:
        """The snapshot as a schema-valid ``RoutingPolicy`` JSON object."""
        budget: dict[str, Any] = {"enabled": self.budget_enabled, "currency": self.currency}
        if self.max_cost_per_request is not None:
            budget["max_cost_per_request"] = self.max_cost_per_request
        if self.target_cost_per_request is not None:
            budget["target_cost_per_request"] = self.target_cost_per_request
        out: dict[str, Any] = {} if self.policy_id is None else {"policy_id": self.policy_id}
        out.update(
            strategy=self.strategy,
            compute_preference=self.compute_preference,
            prefer_local=self.prefer_local,
            budget_mode=self.budget_mode,
            tie_break_order=list(TIE_BREAK_ORDER),
            required_capabilities=list(self.required_capabilities),
            required_modalities=list(self.required_modalities),
            require_tools=self.require_tools,
            deny_endpoints=sorted(self.deny_endpoints),
            allow_endpoints=sorted(self.allow_endpoints),
            deny_provider_kinds=sorted(self.deny_provider_kinds),
            allow_provider_kinds=sorted(self.allow_provider_kinds),
            budget=budget,
            privacy={"allow_remote": self.allow_remote},
            targets={
                "latency_target_ms": self.latency_target_ms,
                "latency_max_ms": self.latency_max_ms,
                "throughput_target_tps": self.throughput_target_tps,
            },
        )
        return out


def snapshot_from_policy(policy: RoutingPolicy | None) -> PolicySnapshot:
    """Flatten an operator's base policy (``None`` → reference defaults)."""
    if policy is None:
        return PolicySnapshot()
    return apply_overrides(PolicySnapshot(), policy.model_dump(exclude_none=True), "policy")


def resolve_policy(
    base: PolicySnapshot,
    request: RoutingRequest,
    required_capabilities: tuple[str, ...],
    role_overrides: Mapping[str, Any] | None,
) -> PolicySnapshot:
    """Fold the request's flags and the role's overrides into the base snapshot."""
    compute = request.compute_preference or (
        "local" if request.prefer_local and base.compute_preference == "auto" else None
    )
    has_budget = request.budget_limit is not None
    snapshot = replace(
        base,
        strategy=request.strategy or base.strategy,
        compute_preference=compute or base.compute_preference,
        prefer_local=request.prefer_local or base.prefer_local,
        budget_mode=request.budget_mode or ("strict" if has_budget else base.budget_mode),
        required_capabilities=_union(base.required_capabilities, required_capabilities),
        required_modalities=_union(base.required_modalities, request.required_modalities),
        require_tools=request.needs_tools or base.require_tools,
        deny_endpoints=base.deny_endpoints | set(request.deny_endpoints),
        allow_endpoints=_narrow(base.allow_endpoints, request.allow_endpoints),
        deny_provider_kinds=base.deny_provider_kinds | set(request.deny_provider_kinds),
        allow_provider_kinds=_narrow(base.allow_provider_kinds, request.allow_provider_kinds),
        budget_enabled=has_budget or base.budget_enabled,
        max_cost_per_request=request.budget_limit if has_budget else base.max_cost_per_request,
        allow_remote=base.allow_remote and not request.deny_remote,
    )
    if role_overrides:
        snapshot = apply_overrides(snapshot, role_overrides, "routing_policy_overrides")
    return snapshot


def _union(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*first, *second)))


def _narrow(base: frozenset[str], requested: tuple[str, ...]) -> frozenset[str]:
    """An allow list from the request narrows the operator's; empty means "no allow list"."""
    if not requested:
        return base
    return frozenset(requested) & base if base else frozenset(requested)


_SCALARS: Final[Mapping[str, tuple[type, tuple[str, ...] | None]]] = {
    "policy_id": (str, None),
    "strategy": (str, tuple(STRATEGY_ALIASES)),
    "compute_preference": (str, COMPUTE_PREFERENCES),
    "budget_mode": (str, BUDGET_MODES),
    "prefer_local": (bool, None),
    "detail_texts": (str, DETAIL_TEXTS),
}
_DENY_LISTS: Final = ("deny_endpoints", "deny_provider_kinds")
_ALLOW_LISTS: Final = ("allow_endpoints", "allow_provider_kinds")
_NESTED: Final[Mapping[str, Mapping[str, str]]] = {
    "budget": {
        "enabled": "budget_enabled",
        "currency": "currency",
        "max_cost_per_request": "max_cost_per_request",
        "target_cost_per_request": "target_cost_per_request",
    },
    "privacy": {"allow_remote": "allow_remote"},
    "targets": {
        "latency_target_ms": "latency_target_ms",
        "latency_max_ms": "latency_max_ms",
        "throughput_target_tps": "throughput_target_tps",
    },
}
_IGNORED: Final = frozenset({"tie_break_order"})  # fixed order, see docs/routing.md


def apply_overrides(
    snapshot: PolicySnapshot, overrides: Mapping[str, Any], where: str
) -> PolicySnapshot:
    """Merge a (partial) RoutingPolicy object into a snapshot, naming any bad key."""
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        at = f"{where}.{key}"
        if key in _SCALARS:
            kind, choices = _SCALARS[key]
            if not isinstance(value, kind) or (choices is not None and value not in choices):
                expected = f"one of {list(choices)}" if choices else kind.__name__
                raise ConfigError("policy", at, f"expected {expected}, got {value!r}")
            changes[key] = STRATEGY_ALIASES[str(value)] if key == "strategy" else value
        elif key in _DENY_LISTS or key in _ALLOW_LISTS:
            items = _string_list(value, at)
            current = cast(frozenset[str], getattr(snapshot, key))
            changes[key] = current | items if key in _DENY_LISTS else _narrow(current, tuple(items))
        elif key in ("required_capabilities", "required_modalities"):
            changes[key] = _union(getattr(snapshot, key), tuple(sorted(_string_list(value, at))))
        elif key == "require_tools":
            changes[key] = snapshot.require_tools or _bool(value, at)
        elif key in _NESTED:
            changes.update(_nested(snapshot, key, value, at))
        elif key not in _IGNORED:
            raise ConfigError("policy", at, "unknown RoutingPolicy field; check its spelling")
    return replace(snapshot, **_close_targets(snapshot, changes))


def validate_policy(
    base: PolicySnapshot, overrides: Mapping[str, Any], where: str
) -> PolicySnapshot:
    """`apply_overrides` for a configured policy, which must also set sensible targets: each one
    it sets is above 0 (leave it out to have it derived from the pool), and a latency max set
    by a policy is above a latency target set by one."""
    merged = apply_overrides(base, overrides, where)
    given = dict(overrides.get("targets") or {})
    cost = (overrides.get("budget") or {}).get("target_cost_per_request")
    if cost is not None:
        given["target_cost_per_request"] = cost
    for name, value in given.items():
        if value <= 0:
            section = "budget" if name == "target_cost_per_request" else "targets"
            raise ConfigError(
                "policy",
                f"{where}.{section}.{name}",
                "expected a number > 0; leave the target out to derive it from the pool",
            )
    latency_set = not {"latency_target_ms", "latency_max_ms"} & merged.open_targets
    if latency_set and merged.latency_max_ms <= merged.latency_target_ms:
        name = "latency_max_ms" if "latency_max_ms" in given else "latency_target_ms"
        raise ConfigError(
            "policy",
            f"{where}.targets.{name}",
            f"latency_max_ms ({merged.latency_max_ms:g}) must be above latency_target_ms "
            f"({merged.latency_target_ms:g}): the max is the latency that scores 0",
        )
    return merged


def _close_targets(snapshot: PolicySnapshot, changes: dict[str, Any]) -> dict[str, Any]:
    """Targets a policy sets are the policy's (not the pool's); a cost target of 0 means unset,
    as in the reference router."""
    cost = changes.get("target_cost_per_request")
    if cost:
        changes["cost_target"] = cost
    closed = {name for name in TARGET_FIELDS if name in changes}
    if closed:
        changes["open_targets"] = snapshot.open_targets - closed
        changes["target_sources"] = tuple(
            POLICY if name in closed else source
            for name, source in zip(TARGET_FIELDS, snapshot.target_sources, strict=True)
        )
    return changes


def _nested(snapshot: PolicySnapshot, key: str, value: Any, at: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError("policy", at, "expected an object")
    out: dict[str, Any] = {}
    for sub, sub_value in value.items():
        attr = _NESTED[key].get(sub)
        if attr is None:
            raise ConfigError("policy", f"{at}.{sub}", f"unknown field of {key}")
        current = getattr(snapshot, attr)
        if attr == "allow_remote":
            out[attr] = current and _bool(sub_value, f"{at}.{sub}")
        elif isinstance(current, bool) or attr == "budget_enabled":
            out[attr] = _bool(sub_value, f"{at}.{sub}")
        elif attr == "currency":
            out[attr] = str(sub_value)
        else:
            if (
                isinstance(sub_value, bool)
                or not isinstance(sub_value, int | float)
                or sub_value < 0
            ):
                raise ConfigError("policy", f"{at}.{sub}", "expected a number >= 0")
            out[attr] = float(sub_value)
    return out


def _string_list(value: Any, at: str) -> frozenset[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError("policy", at, "expected a list of strings")
    return frozenset(value)


def _bool(value: Any, at: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError("policy", at, f"expected true or false, got {value!r}")
    return value
