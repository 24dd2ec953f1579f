"""The router's input request: what one request needs, independent of any wire format.

`RoutingRequest` is the typed form of the reference router's request shape. `parse_routing_request`
reads it from a JSON object in either camelCase (the conformance cases, the reference runtime) or
snake_case, and names the offending key when a value is malformed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from rolecall.errors import ConfigError

Strategy = Literal["balanced", "quality", "latency", "cost"]
ComputePreference = Literal["auto", "local", "remote", "hybrid"]
BudgetMode = Literal["strict", "advisory", "disabled"]
# how hard a request is for a model (docs/routing.md §Difficulty); the same words as
# rolecall.inventory.modes, which sits a layer above and may import these
Difficulty = Literal["easy", "medium", "hard"]
DIFFICULTIES: Final[tuple[Difficulty, ...]] = ("easy", "medium", "hard")

STRATEGY_ALIASES: Final[Mapping[str, Strategy]] = {
    "balanced": "balanced",
    "quality": "quality",
    "latency": "latency",
    "cost": "cost",
    "high-quality": "quality",
    "low-latency": "latency",
    "low-cost": "cost",
}
COMPUTE_PREFERENCES: Final = ("auto", "local", "remote", "hybrid")
BUDGET_MODES: Final = ("strict", "advisory", "disabled")


@dataclass(frozen=True, slots=True)
class RoutingRequest:
    """Requirements and per-request policy flags of one request.

    ``None`` for ``strategy`` / ``compute_preference`` / ``budget_mode`` means "take the base
    policy's value"; the effective values are recorded in the decision's policy snapshot.
    """

    request_id: str
    task_type: str = "text.chat"
    app_id: str = "default"
    org_id: str | None = None
    requested_role_id: str | None = None
    required_capabilities: tuple[str, ...] = ()
    preferred_capabilities: tuple[str, ...] = ()
    required_modalities: tuple[str, ...] = ("text",)
    context_tokens: int = 0
    needs_tools: bool = False
    strategy: Strategy | None = None
    prefer_local: bool = False
    compute_preference: ComputePreference | None = None
    budget_limit: float | None = None
    budget_mode: BudgetMode | None = None
    deny_remote: bool = False
    deny_endpoints: tuple[str, ...] = ()
    allow_endpoints: tuple[str, ...] = ()
    deny_provider_kinds: tuple[str, ...] = ()
    allow_provider_kinds: tuple[str, ...] = ()
    # endpoint ids in a routing model's order of preference (the controller mode's directive):
    # rank i gets the routing-model bonus in the preference metric
    preferred_endpoints: tuple[str, ...] = ()
    difficulty: Difficulty | None = None  # the difficulty mode's classification, if any

    def posture(self) -> tuple[object, ...]:
        """Every field that shapes the effective policy (not ids, not the context size)."""
        return (
            self.task_type,
            self.requested_role_id,
            self.required_capabilities,
            self.preferred_capabilities,
            self.required_modalities,
            self.needs_tools,
            self.strategy,
            self.prefer_local,
            self.compute_preference,
            self.budget_limit,
            self.budget_mode,
            self.deny_remote,
            self.deny_endpoints,
            self.allow_endpoints,
            self.deny_provider_kinds,
            self.allow_provider_kinds,
            self.preferred_endpoints,
            self.difficulty,
        )


_FIELDS: Final[tuple[tuple[str, str, str], ...]] = (
    # (attribute, camelCase key, kind)
    ("request_id", "requestId", "str"),
    ("task_type", "taskType", "str"),
    ("app_id", "appId", "str"),
    ("org_id", "orgId", "str?"),
    ("requested_role_id", "requestedRoleId", "str?"),
    ("required_capabilities", "requiredCapabilities", "strs"),
    ("preferred_capabilities", "preferredCapabilities", "strs"),
    ("required_modalities", "requiredModalities", "strs"),
    ("context_tokens", "contextTokens", "int"),
    ("needs_tools", "needsTools", "bool"),
    ("strategy", "strategy", "strategy"),
    ("prefer_local", "preferLocal", "bool"),
    ("compute_preference", "computePreference", "compute"),
    ("budget_limit", "budgetLimit", "num?"),
    ("budget_mode", "budgetMode", "budget_mode"),
    ("deny_remote", "denyRemote", "bool"),
    ("deny_endpoints", "denyEndpoints", "strs"),
    ("allow_endpoints", "allowEndpoints", "strs"),
    ("deny_provider_kinds", "denyProviderKinds", "strs"),
    ("allow_provider_kinds", "allowProviderKinds", "strs"),
    ("preferred_endpoints", "preferredEndpoints", "strs"),
    ("difficulty", "difficulty", "difficulty"),
)


def _convert(kind: str, value: Any, where: str) -> Any:  # noqa: C901 - one branch per kind
    def fail(expected: str) -> ConfigError:
        return ConfigError("request", where, f"expected {expected}, got {value!r}")

    if kind in ("str", "str?"):
        if value is None and kind == "str?":
            return None
        if not isinstance(value, str) or not value:
            raise fail("a non-empty string")
        return value
    if kind == "strs":
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise fail("a list of strings")
        return tuple(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise fail("true or false")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise fail("a non-negative integer")
        return value
    if kind == "num?":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise fail("a non-negative number")
        return float(value)
    if value is None:
        return None
    if kind == "strategy":
        if value not in STRATEGY_ALIASES:
            raise fail(f"one of {sorted(STRATEGY_ALIASES)}")
        return STRATEGY_ALIASES[value]
    choices = {"compute": COMPUTE_PREFERENCES, "difficulty": DIFFICULTIES}.get(kind, BUDGET_MODES)
    if value not in choices:
        raise fail(f"one of {list(choices)}")
    return value


def parse_routing_request(data: Mapping[str, Any], where: str = "$") -> RoutingRequest:
    """Build a `RoutingRequest` from a camelCase or snake_case JSON object.

    Unknown keys are rejected so that a typo (``preferLocals``) is not silently ignored.
    """
    if not isinstance(data, Mapping):
        raise ConfigError("request", where, "expected a JSON object")
    known = {camel for _, camel, _ in _FIELDS} | {attr for attr, _, _ in _FIELDS}
    for key in data:
        if key not in known:
            raise ConfigError("request", f"{where}.{key}", "unknown field; check its spelling")
    values: dict[str, Any] = {}
    for attr, camel, kind in _FIELDS:
        key = camel if camel in data else attr
        if key in data:
            values[attr] = _convert(kind, data[key], f"{where}.{key}")
    if "request_id" not in values:
        raise ConfigError("request", f"{where}.requestId", "required field is missing")
    return RoutingRequest(**values)
