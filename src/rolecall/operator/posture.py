"""The routing posture (strategy, execution scope, compute preference, mode) and role bindings as
pure inventory edits: each function returns a new `Inventory`, the caller publishes it."""

from __future__ import annotations

import dataclasses
from typing import Any, Final, Literal, get_args

from rolecall.errors import ConfigError
from rolecall.inventory.aliases import ROUTING_MODES
from rolecall.inventory.config import ExecutionScope, RoutingConfig
from rolecall.inventory.inventory import Inventory, new_binding, policy_for
from rolecall.inventory.modes import unavailable_modes
from rolecall.protocol import RoutingPolicy

Strategy = Literal["balanced", "quality", "latency", "cost"]
Compute = Literal["auto", "local", "remote", "hybrid"]
STRATEGIES: Final = get_args(Strategy)
SCOPES: Final = get_args(ExecutionScope)
COMPUTE: Final = get_args(Compute)
MODE_NEEDS: Final = unavailable_modes(learned=False, controller=False)
BINDING_CHOICES: Final = ("active", "disabled", "auto")
POSTURE_KEYS: Final = frozenset({"strategy", "execution_scope", "compute_preference", "mode"})


def modes_for(learned_loaded: bool, controller: bool) -> dict[str, bool]:
    """Each routing mode and whether this runtime can use it (``learned`` needs a loaded
    router, ``controller`` and ``hybrid`` a controller endpoint)."""
    missing = unavailable_modes(learned=learned_loaded, controller=controller)
    return {mode: mode not in missing for mode in ROUTING_MODES}


@dataclasses.dataclass(frozen=True, slots=True)
class Posture:
    strategy: str
    execution_scope: str
    compute_preference: str
    mode: str = "baseline"

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def _choice(body: dict[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError("posture", key, f"expected one of {', '.join(allowed)}, got {value!r}")
    return value


def parse_posture(body: dict[str, Any], current: Posture, modes: dict[str, bool]) -> Posture:
    """A posture from a request body; missing keys keep the current value."""
    unknown = sorted(set(body) - POSTURE_KEYS)
    if unknown:
        raise ConfigError(
            "posture",
            unknown[0],
            "unknown key; send strategy, execution_scope, compute_preference and/or mode",
        )
    mode = _choice(body, "mode", tuple(modes), current.mode)
    if not modes[mode]:
        usable = ", ".join(m for m, ok in modes.items() if ok)
        raise ConfigError(
            "posture",
            "mode",
            f"routing mode {mode!r} needs {MODE_NEEDS.get(mode, 'what is not configured')}; "
            f"configure it in rolecall.yaml or use {usable}",
        )
    return Posture(
        strategy=_choice(body, "strategy", STRATEGIES, current.strategy),
        execution_scope=_choice(body, "execution_scope", SCOPES, current.execution_scope),
        compute_preference=_choice(body, "compute_preference", COMPUTE, current.compute_preference),
        mode=mode,
    )


def current_posture(inventory: Inventory) -> Posture:
    policy = inventory.policy
    return Posture(
        strategy=policy.strategy if policy else inventory.routing.strategy,
        execution_scope=inventory.routing.execution_scope,
        compute_preference=policy.compute_preference if policy else "auto",
        mode=inventory.routing.mode,
    )


def configured_policy(routing: RoutingConfig) -> RoutingPolicy:
    """The configured policy without the configured execution scope's effect, for postures to
    build on: a posture applies its own scope (so the operator can widen a configured
    ``local_only``), while an explicit ``privacy.allow_remote: false`` in ``routing.policy``
    stays whatever the posture."""
    return policy_for(routing.model_copy(update={"execution_scope": "hybrid"}))


def posture_policy(base: RoutingPolicy | None, posture: Posture) -> RoutingPolicy:
    """The base policy with the posture's knobs; ``local_only`` also forbids remote execution."""
    data = base.to_artifact() if base is not None else policy_for(RoutingConfig()).to_artifact()
    data["strategy"] = posture.strategy
    data["compute_preference"] = posture.compute_preference
    privacy = dict(data.get("privacy") or {})
    configured = privacy.get("allow_remote", True)
    privacy["allow_remote"] = bool(configured) and posture.execution_scope != "local_only"
    data["privacy"] = privacy
    return RoutingPolicy.model_validate(data)


def with_posture(inventory: Inventory, base: RoutingPolicy | None, posture: Posture) -> Inventory:
    routing = inventory.routing.model_copy(
        update={
            "strategy": posture.strategy,
            "execution_scope": posture.execution_scope,
            "compute_preference": posture.compute_preference,
            "mode": posture.mode,
        }
    )
    return dataclasses.replace(inventory, routing=routing, policy=posture_policy(base, posture))


def with_binding(inventory: Inventory, role_id: str, endpoint_id: str, status: str) -> Inventory:
    """The inventory with one role × endpoint binding set (``auto`` = no binding at all)."""
    if role_id not in inventory.roles:
        raise ConfigError("bindings", "role_id", f"unknown role {role_id!r}")
    if endpoint_id not in inventory.endpoints:
        raise ConfigError("bindings", "endpoint_id", f"unknown endpoint {endpoint_id!r}")
    if status not in BINDING_CHOICES:
        raise ConfigError("bindings", "status", f"expected one of {', '.join(BINDING_CHOICES)}")
    kept = [b for b in inventory.bindings if (b.role_id, b.endpoint_id) != (role_id, endpoint_id)]
    if status != "auto":
        kept.append(new_binding(role_id, endpoint_id, status))
    return dataclasses.replace(inventory, bindings=tuple(kept))
