"""What a request's ``model`` names, and the router's request for it.

A name resolves, first match wins, as:

1. a configured alias (``aliases:`` / ``model_aliases:`` in rolecall.yaml): its posture;
2. a fixed posture id: ``default`` (the inventory's posture), ``baseline`` (and ``learned`` when
   a trained router is configured), each also as ``<mode>.<scope>`` for the execution scopes
   ``hybrid``, ``local-only``, ``remote-only`` and ``decision-only``;
3. an endpoint id (that endpoint only);
4. a role id;
5. an exact upstream model name (the endpoints serving it).

A configured alias may shadow an endpoint, a role or a model name (that is how ``gpt-4o`` becomes
a posture); it may not take a fixed id (the configuration refuses it). A ``rolecall/`` or
``role-model/`` prefix is accepted on any name that does not resolve as it is.

Per-request options (``rolecall.*``, ``x-rolecall-*``) may narrow a posture but never widen it:
the alias's execution scope, endpoint subset and budget hold (a request's budget below the
alias's wins; ``deny_remote`` narrows any scope). Its strategy, role and task are defaults the
request may change. An advisory ``role_model.intent`` fills the role and task only where neither
the request nor the alias set them (`rolecall.gateway.wire_intent`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, cast

from rolecall.gateway.wire import ChatRequest, RoutingHints, WireError, shown
from rolecall.gateway.wire_intent import IntentUse, apply_intent
from rolecall.inventory.aliases import (
    ALIAS_PREFIX,
    FIXED_MODES,
    ROUTING_MODES,
    SCOPE_NAMES,
    AliasConfig,
    ExecutionScope,
    RoutingMode,
    Strategy,
    fixed_ids,
)
from rolecall.inventory.baseline import DEFAULT_TASK, primary_task
from rolecall.inventory.inventory import Inventory
from rolecall.inventory.modes import unavailable_modes
from rolecall.routing import RoutingRequest
from rolecall.routing.request import STRATEGY_ALIASES

TargetKind = Literal["alias", "posture", "endpoint", "role", "model"]
PREFIXES: Final = (ALIAS_PREFIX, "role-model/")
# an allow list no endpoint matches: an alias whose endpoints have all gone routes nowhere
NO_ENDPOINT: Final = "(no endpoint)"


@dataclass(slots=True)  # not frozen: one is built per request, and a frozen init costs more
class Target:
    """A resolved ``model``: the posture a request routes with (treat as immutable)."""

    scope: ExecutionScope
    role_id: str | None = None
    # the candidate subset; None: every endpoint
    endpoint_ids: tuple[str, ...] | None = None
    task: str | None = None
    strategy: Strategy | None = None
    budget: float | None = None
    mode: RoutingMode | None = None  # None: the inventory's routing mode
    kind: TargetKind = "posture"
    name: str = ""


def posture_modes(inventory: Inventory) -> tuple[str, ...]:
    """The fixed posture modes that can run on ``inventory`` (``learned`` needs its router,
    ``controller`` and ``hybrid`` a controller endpoint)."""
    routing = inventory.routing
    missing = unavailable_modes(
        learned=routing.learned is not None, controller=routing.controller is not None
    )
    return tuple(m for m in FIXED_MODES if m not in missing)


def alias_ids(inventory: Inventory | None = None) -> list[str]:
    """The fixed posture ids ``inventory`` answers to."""
    return fixed_ids(posture_modes(inventory) if inventory is not None else ("default", "baseline"))


def resolve_target(model: str, inventory: Inventory) -> Target:
    target = lookup(model, inventory)
    if target is None:
        for prefix in PREFIXES:
            if model.startswith(prefix):
                target = lookup(model.removeprefix(prefix), inventory)
                break
    if target is None:
        raise WireError(
            404,
            f"The model {shown(model)} does not exist: use an alias ({', '.join(alias_ids()[:2])}, "
            "...), a role, an endpoint id or an upstream model name listed by GET /v1/models",
            param="model",
            code="model_not_found",
        )
    return target


def lookup(name: str, inventory: Inventory) -> Target | None:
    """The target ``name`` resolves to (module docstring's order), or None."""
    alias = inventory.aliases.get(name)
    if alias is not None:
        return alias_target(name, alias, inventory)
    fixed = _fixed(name, inventory)
    if fixed is not None:
        return fixed
    scope = inventory.routing.execution_scope
    if name in inventory.endpoints:
        return Target(scope, endpoint_ids=(name,), kind="endpoint", name=name)
    if name in inventory.roles:
        return Target(scope, role_id=name, kind="role", name=name)
    serving = inventory.serving(name)
    if serving:
        return Target(scope, endpoint_ids=serving, kind="model", name=name)
    return None


def _fixed(name: str, inventory: Inventory) -> Target | None:
    mode, _, scope_name = name.partition(".")
    if mode not in FIXED_MODES or (scope_name and scope_name not in SCOPE_NAMES):
        return None
    if mode not in posture_modes(inventory):
        return None  # listed, and so requestable, only where the mode can run
    scope = SCOPE_NAMES[scope_name] if scope_name else inventory.routing.execution_scope
    routing_mode = cast(RoutingMode, mode) if mode in ROUTING_MODES else None
    return Target(scope, mode=routing_mode, kind="posture", name=name)


def alias_target(name: str, alias: AliasConfig, inventory: Inventory) -> Target:
    """A configured alias's posture on ``inventory`` (its endpoints resolved now, so endpoints
    added or removed at run time count)."""
    subset: tuple[str, ...] | None = None
    if alias.endpoints is not None:
        ids: dict[str, None] = {}
        for ref in alias.endpoints:
            if ref in inventory.endpoints:
                ids[ref] = None
            ids.update(dict.fromkeys(inventory.serving(ref)))
        subset = tuple(ids)
    return Target(
        alias.execution_scope or inventory.routing.execution_scope,
        role_id=alias.role,
        endpoint_ids=subset,
        task=alias.task,
        strategy=alias.strategy,
        budget=alias.budget,
        mode=alias.mode,
        kind="alias",
        name=name,
    )


def routing_mode(target: Target, hints: RoutingHints, inventory: Inventory) -> RoutingMode:
    """The planner a request runs: its own ``rolecall.mode``, else its target's, else the
    inventory's; a mode the inventory cannot run is the client's error (400)."""
    asked = hints.mode
    if asked is None:
        return target.mode or inventory.routing.mode
    if asked not in posture_modes(inventory):
        routing = inventory.routing
        needs = unavailable_modes(
            learned=routing.learned is not None, controller=routing.controller is not None
        )[asked]
        raise WireError(
            400,
            f"routing mode {asked!r} cannot run on this gateway: it needs {needs}",
            param="rolecall.mode",
            code="mode_unavailable",
        )
    return cast(RoutingMode, asked)


def routing_request(
    chat: ChatRequest, target: Target, inventory: Inventory, request_id: str, app_id: str
) -> tuple[RoutingRequest, IntentUse | None]:
    """The router's view of a chat request: inferred requirements, the target's posture, the
    per-request options, and what the advisory intent added (None when the request had none)."""
    hints = chat.hints
    role_id = hints.role or target.role_id
    if role_id is not None and role_id not in inventory.roles:
        raise WireError(
            400, f"unknown role {shown(role_id)}", param="rolecall.role", code="unknown_role"
        )
    task = hints.task or target.task
    if task is not None and task not in inventory.tasks:
        raise WireError(
            400, f"unknown task {shown(task)}", param="rolecall.task", code="unknown_task"
        )
    preferred: tuple[str, ...] = ("json.schema_adherence",) if chat.structured_output else ()
    used = None
    if chat.intent is not None:
        used = apply_intent(chat.intent, inventory, role_id, task)
        role_id, task = used.role or role_id, used.task or task
        preferred = tuple(dict.fromkeys((*preferred, *used.capabilities)))
    if task is None:
        task = primary_task(inventory.roles[role_id]) if role_id else DEFAULT_TASK
    return _request(chat, target, inventory, request_id, app_id, role_id, task, preferred), used


def _request(
    chat: ChatRequest,
    target: Target,
    inventory: Inventory,
    request_id: str,
    app_id: str,
    role_id: str | None,
    task: str,
    preferred: tuple[str, ...],
) -> RoutingRequest:
    bounds = Bounds.of(target, chat.hints, inventory)
    return RoutingRequest(
        request_id=request_id,
        app_id=app_id,
        task_type=task,
        requested_role_id=role_id,
        required_modalities=chat.modalities,
        preferred_capabilities=preferred,
        context_tokens=chat.context_tokens,
        needs_tools=chat.needs_tools,
        strategy=bounds.strategy,
        prefer_local=chat.hints.prefer_local,
        budget_limit=bounds.budget,
        deny_remote=bounds.deny_remote,
        allow_endpoints=bounds.allow_endpoints,
        deny_endpoints=bounds.deny_endpoints,
    )


@dataclass(frozen=True, slots=True)
class Bounds:
    """What a target's posture and a request's options leave the router, for every kind of
    request (chat, embeddings): the options narrow the posture, never widen it."""

    strategy: Strategy | None
    budget: float | None
    deny_remote: bool
    allow_endpoints: tuple[str, ...]
    deny_endpoints: tuple[str, ...]

    @staticmethod
    def of(target: Target, hints: RoutingHints, inventory: Inventory) -> Bounds:
        deny: tuple[str, ...] = ()
        if target.scope == "remote_only":
            deny = tuple(e.endpoint_id for e in inventory.endpoints.values() if e.is_local)
        allow: tuple[str, ...] = ()
        if target.endpoint_ids is not None:
            allow = target.endpoint_ids or (NO_ENDPOINT,)
        budget = hints.budget
        if target.budget is not None:
            budget = target.budget if budget is None else min(budget, target.budget)
        return Bounds(
            strategy=STRATEGY_ALIASES[hints.strategy] if hints.strategy else target.strategy,
            budget=budget,
            deny_remote=hints.deny_remote or target.scope == "local_only",
            allow_endpoints=allow,
            deny_endpoints=deny,
        )
