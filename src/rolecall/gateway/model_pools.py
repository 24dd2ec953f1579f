"""Every name a request may give as its ``model``, the endpoints each can route to now, and the
limits safe for all of them (``GET /v1/models``, the discovery documents).

A name's pool is the endpoints its target can reach that are routable now (not cooling down, not
offline, enabled): for a posture, an alias or a role, what the router would find eligible for a
plain text request under that posture, so role bindings, the role's task requirements, the
execution scope and the alias's endpoint subset all narrow it; for an endpoint or an upstream
model name, the routable endpoints it names. Limits are the minimum over the pool (a client that
keeps within them fits whichever endpoint is chosen); modalities, tools and structured output are
"guaranteed" when every endpoint in the pool has them and "available" when one does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from rolecall.execution.state import RoutingView
from rolecall.gateway.targets import (
    Bounds,
    Target,
    TargetKind,
    alias_ids,
    alias_target,
    lookup,
)
from rolecall.gateway.wire import RoutingHints
from rolecall.inventory.baseline import DEFAULT_TASK, primary_task
from rolecall.inventory.inventory import Endpoint, Inventory
from rolecall.routing import Candidate, RoutingRequest

STRUCTURED: Final = "json.schema_adherence"
REASONING: Final = "reasoning.multi_step"


@dataclass(frozen=True, slots=True)
class Listed:
    """One requestable name and what it resolves to."""

    name: str
    target: Target

    @property
    def kind(self) -> TargetKind:
        return self.target.kind


def listed_names(inventory: Inventory) -> list[Listed]:
    """Configured aliases, fixed posture ids, endpoints, roles, then upstream model names; a name
    shadowed by an earlier kind is listed once, as what it resolves to."""
    out: dict[str, Listed] = {}
    for name, alias in sorted(inventory.aliases.items()):
        out[name] = Listed(name, alias_target(name, alias, inventory))
    names = [
        *alias_ids(inventory),
        *sorted(inventory.endpoints),
        *sorted(inventory.roles),
        *inventory.model_names(),
    ]
    for name in names:
        if name not in out:
            target = lookup(name, inventory)
            if target is not None:
                out[name] = Listed(name, target)
    return list(out.values())


def find_listed(inventory: Inventory, name: str) -> Listed | None:
    for prefix in ("", "rolecall/", "role-model/"):
        if name.startswith(prefix):
            target = lookup(name.removeprefix(prefix), inventory)
            if target is not None:
                return Listed(name.removeprefix(prefix), target)
    return None


class Pools:
    """The routable pool of each listed name, on one view at one moment."""

    def __init__(self, view: RoutingView) -> None:
        self.view = view
        self.candidates: list[Candidate] = view.candidates(time.time_ns() // 1_000_000)
        self.routable = {c.endpoint_id for c in self.candidates if c.status == "active"}

    def pool(self, target: Target) -> list[Endpoint]:
        inventory = self.view.inventory
        endpoints = inventory.endpoints
        if target.kind in ("endpoint", "model"):
            ids = [e for e in target.endpoint_ids or () if e in self.routable and e in endpoints]
            return [endpoints[e] for e in ids if _in_scope(endpoints[e], target.scope)]
        decision = self.view.router.decide(
            _plain_request(target, inventory),
            self.candidates,
            inventory.roles.values(),
            inventory.tasks.values(),
            inventory.bindings,
        )
        eligible = [eid for eid, exclusions in decision.eligibility if not exclusions]
        return [endpoints[e] for e in eligible if e in self.routable and e in endpoints]


def _in_scope(endpoint: Endpoint, scope: str) -> bool:
    if scope == "local_only":
        return endpoint.is_local
    if scope == "remote_only":
        return not endpoint.is_local
    return True


def _plain_request(target: Target, inventory: Inventory) -> RoutingRequest:
    """A text request with no other needs under ``target``'s posture: what its pool is."""
    role = target.role_id
    task = target.task or (primary_task(inventory.roles[role]) if role else DEFAULT_TASK)
    bounds = Bounds.of(target, RoutingHints(), inventory)
    return RoutingRequest(
        request_id="discovery",
        task_type=task,
        requested_role_id=role,
        deny_remote=bounds.deny_remote,
        allow_endpoints=bounds.allow_endpoints,
        deny_endpoints=bounds.deny_endpoints,
    )


def limits(pool: Sequence[Endpoint]) -> dict[str, Any]:
    """Limits safe for every endpoint in the pool (minimums), and what at least one offers."""
    if not pool:
        return {"routable_endpoints": 0}
    outputs = [e.max_output_tokens for e in pool if e.max_output_tokens]
    modalities = [set(e.declared.modalities) for e in pool]
    return {
        "routable_endpoints": len(pool),
        "context_window": min(e.declared.max_context_tokens for e in pool),
        "max_output_tokens": min(outputs) if outputs else None,
        "input_modalities": sorted(set.intersection(*modalities)),
        "input_modalities_available": sorted(set.union(*modalities)),
        "tools": all(e.declared.tool_calling.supported for e in pool),
        "tools_available": any(e.declared.tool_calling.supported for e in pool),
        "structured_output": all(STRUCTURED in e.declared.capabilities for e in pool),
        "structured_output_available": any(STRUCTURED in e.declared.capabilities for e in pool),
        "reasoning": all(REASONING in e.declared.capabilities for e in pool),
        "endpoints": [public_endpoint(e) for e in pool],
    }


def public_endpoint(endpoint: Endpoint) -> dict[str, Any]:
    """What a client may know of an endpoint: never its URL, its key or the key's variable."""
    return {
        "endpoint_id": endpoint.endpoint_id,
        "model": endpoint.model,
        "local": endpoint.is_local,
        "provider_kind": endpoint.identity.provider_kind,
    }


def posture(target: Target, inventory: Inventory, description: str | None = None) -> dict[str, Any]:
    """A target's posture as a client sees it (what the name routes with)."""
    out: dict[str, Any] = {
        "execution_scope": target.scope,
        "mode": target.mode or inventory.routing.mode,
        "strategy": target.strategy or inventory.routing.strategy,
    }
    if target.role_id is not None:
        out["role"] = target.role_id
    if target.task is not None:
        out["task"] = target.task
    if target.endpoint_ids is not None:
        out["endpoints"] = list(target.endpoint_ids)
    if target.budget is not None:
        out["budget"] = target.budget
    if description:
        out["description"] = description
    return out
