"""What a request's ``model`` names: a posture alias, a role, or an exact endpoint.

Aliases are ``default`` and ``baseline`` (the inventory's posture) and ``<mode>.<scope>`` for the
execution scopes ``hybrid``, ``local-only``, ``remote-only`` and ``decision-only``. A ``rolecall/``
prefix is accepted on any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from rolecall.gateway.wire import ChatRequest, WireError, shown
from rolecall.inventory.baseline import DEFAULT_TASK, primary_task
from rolecall.inventory.config import ExecutionScope
from rolecall.inventory.inventory import Inventory
from rolecall.routing import RoutingRequest
from rolecall.routing.request import STRATEGY_ALIASES

MODES: Final = ("default", "baseline")
SCOPES: Final[dict[str, ExecutionScope]] = {
    "hybrid": "hybrid",
    "local-only": "local_only",
    "remote-only": "remote_only",
    "decision-only": "decision_only",
}


def alias_ids() -> list[str]:
    return [*MODES, *(f"{mode}.{scope}" for mode in MODES for scope in SCOPES)]


@dataclass(slots=True)
class Target:
    scope: ExecutionScope
    role_id: str | None = None
    endpoint_id: str | None = None


def resolve_target(model: str, inventory: Inventory) -> Target:
    name = model.removeprefix("rolecall/")
    default_scope = inventory.routing.execution_scope
    if name in MODES:
        return Target(default_scope)
    mode, _, scope = name.partition(".")
    if mode in MODES and scope in SCOPES:
        return Target(SCOPES[scope])
    if name in inventory.endpoints:
        return Target(default_scope, endpoint_id=name)
    if name in inventory.roles:
        return Target(default_scope, role_id=name)
    raise WireError(
        404,
        f"The model {shown(model)} does not exist: use an alias ({', '.join(alias_ids()[:2])}, ...), "
        "a role or an endpoint id listed by GET /v1/models",
        param="model",
        code="model_not_found",
    )


def routing_request(
    chat: ChatRequest, target: Target, inventory: Inventory, request_id: str, app_id: str
) -> RoutingRequest:
    """The router's view of a chat request: inferred requirements plus per-request flags."""
    hints = chat.hints
    role_id = hints.role or target.role_id
    if role_id is not None and role_id not in inventory.roles:
        raise WireError(
            400, f"unknown role {shown(role_id)}", param="rolecall.role", code="unknown_role"
        )
    task = hints.task or (primary_task(inventory.roles[role_id]) if role_id else DEFAULT_TASK)
    if task not in inventory.tasks:
        raise WireError(
            400, f"unknown task {shown(task)}", param="rolecall.task", code="unknown_task"
        )
    deny_endpoints: tuple[str, ...] = ()
    if target.scope == "remote_only":
        deny_endpoints = tuple(e.endpoint_id for e in inventory.endpoints.values() if e.is_local)
    return RoutingRequest(
        request_id=request_id,
        app_id=app_id,
        task_type=task,
        requested_role_id=role_id,
        required_modalities=chat.modalities,
        preferred_capabilities=("json.schema_adherence",) if chat.structured_output else (),
        context_tokens=chat.context_tokens,
        needs_tools=chat.needs_tools,
        strategy=STRATEGY_ALIASES[hints.strategy] if hints.strategy else None,
        prefer_local=hints.prefer_local,
        budget_limit=hints.budget,
        deny_remote=hints.deny_remote or target.scope == "local_only",
        allow_endpoints=(target.endpoint_id,) if target.endpoint_id else (),
        deny_endpoints=deny_endpoints,
    )
