"""Operator changes made in the console: the routing posture and role-binding edits.

Both are applied to the running runtime at once (a new `Router` and a new `Inventory` value; the
inventory is immutable, so a swap is atomic for requests in flight) and kept in
``DATA_DIR/console/overrides.json`` (written to a temporary file, then renamed, so a crash never
leaves a half-written file) so a restart keeps them. The inventory file itself is never rewritten
for these; only "add endpoints" edits it, through `rolecall.inventory.discovery`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, Final, Literal, get_args

from rolecall.bootstrap import Runtime
from rolecall.errors import ConfigError
from rolecall.inventory.config import ExecutionScope, RoutingConfig
from rolecall.inventory.inventory import Inventory, new_binding, policy_for
from rolecall.protocol import RoleBinding, RoutingPolicy
from rolecall.routing import Router

Strategy = Literal["balanced", "quality", "latency", "cost"]
Compute = Literal["auto", "local", "remote", "hybrid"]
STRATEGIES: Final = get_args(Strategy)
SCOPES: Final = get_args(ExecutionScope)
COMPUTE: Final = get_args(Compute)
# routing modes: this runtime's (baseline; learned when a trained router is loaded) and the
# reference product's others, listed so the operator sees they are not available here
OTHER_MODES: Final = ("controller", "difficulty", "hybrid")


def modes_for(runtime: Runtime) -> dict[str, bool]:
    """Each routing mode and whether this runtime can use it."""
    return {
        "baseline": True,
        "learned": runtime.learned is not None,
        **dict.fromkeys(OTHER_MODES, False),
    }


BINDING_CHOICES: Final = ("active", "disabled", "auto")

_lock = threading.Lock()
log = logging.getLogger("rolecall.console")


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
    if value not in allowed:
        raise ConfigError("posture", key, f"expected one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def parse_posture(body: dict[str, Any], current: Posture, modes: dict[str, bool]) -> Posture:
    """A posture from a request body; missing keys keep the current value."""
    unknown = sorted(set(body) - {"strategy", "execution_scope", "compute_preference", "mode"})
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
            "posture", "mode", f"routing mode {mode!r} is not available here; use {usable}"
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


def swap_inventory(runtime: Runtime, inventory: Inventory) -> None:
    """Make ``inventory`` the one every new request sees."""
    runtime.inventory = inventory
    runtime.pool.inventory = inventory
    runtime.router = Router(inventory.policy)


class ConsoleState:
    """The file of console overrides and the configured policy they apply on top of."""

    def __init__(self, runtime: Runtime) -> None:
        self.path: Path = runtime.settings.data_dir / "console" / "overrides.json"
        self.base_policy = runtime.inventory.policy  # as configured in rolecall.yaml
        self.data: dict[str, Any] = self._load()

    def _load(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(
                str(self.path), "$", f"unreadable console overrides: {exc}; fix or delete the file"
            ) from None
        return data if isinstance(data, dict) else {}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, sort_keys=True))
        os.replace(tmp, self.path)

    def apply_saved(self, runtime: Runtime) -> None:
        """Re-apply saved overrides at startup. One that no longer fits (a vanished role or
        endpoint, a mode this runtime cannot run) is skipped with a warning, not fatal."""
        inventory = runtime.inventory
        posture = self.data.get("posture")
        if isinstance(posture, dict):
            try:
                saved = parse_posture(posture, current_posture(inventory), modes_for(runtime))
            except ConfigError as exc:
                log.warning("console: saved posture not applied: %s", exc)
            else:
                inventory = with_posture(inventory, self.base_policy, saved)
        for key, status in (self.data.get("bindings") or {}).items():
            role_id, _, endpoint_id = key.partition("@")
            try:
                inventory = with_binding(inventory, role_id, endpoint_id, status)
            except ConfigError as exc:
                log.warning("console: saved binding not applied: %s", exc)
        swap_inventory(runtime, inventory)

    def set_posture(self, runtime: Runtime, posture: Posture) -> None:
        with _lock:
            swap_inventory(runtime, with_posture(runtime.inventory, self.base_policy, posture))
            self.data["posture"] = posture.to_dict()
            self.save()

    def set_binding(self, runtime: Runtime, role_id: str, endpoint_id: str, status: str) -> None:
        with _lock:
            swap_inventory(runtime, with_binding(runtime.inventory, role_id, endpoint_id, status))
            self.data.setdefault("bindings", {})[f"{role_id}@{endpoint_id}"] = status
            self.save()


_STATES: dict[int, tuple[Runtime, ConsoleState]] = {}


def attach_state(runtime: Runtime) -> ConsoleState:
    """Create the console state of ``runtime`` and re-apply what the console saved before."""
    state = ConsoleState(runtime)
    state.apply_saved(runtime)
    _STATES[id(runtime)] = (runtime, state)
    return state


def state_of(runtime: Runtime) -> ConsoleState:
    entry = _STATES.get(id(runtime))
    if entry is None or entry[0] is not runtime:
        return attach_state(runtime)
    return entry[1]


def bindings_view(inventory: Inventory) -> dict[str, Any]:
    explicit: dict[tuple[str, str], RoleBinding] = {
        (b.role_id, b.endpoint_id): b for b in inventory.bindings
    }
    return {
        "roles": [
            {"role_id": r.role_id, "name": r.name, "tasks": r.task_types_supported}
            for r in inventory.roles.values()
        ],
        "endpoints": list(inventory.endpoints),
        "cells": [
            {
                "role_id": role_id,
                "endpoint_id": endpoint_id,
                "status": b.status if (b := explicit.get((role_id, endpoint_id))) else "auto",
            }
            for role_id in inventory.roles
            for endpoint_id in inventory.endpoints
        ],
    }
