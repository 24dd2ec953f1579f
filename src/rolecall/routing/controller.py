"""The routing controller's directives: what a controller model may say about one request, how
its answer is read, and how what it says is bounded by the request (pure, no I/O).

A directive can only *narrow* what the request already allows; it is advice the request's own
limits bound, never a way round them. `bound_directives` applies these rules, in this order, and
records every directive it applied or rejected (with why):

1. ``deny_endpoints``: an id the pool does not hold is rejected; the others join the request's
   deny list. Denying every endpoint the request may use is rejected as a whole (a controller
   cannot leave the request nothing to route to).
2. ``prefer_endpoints`` (ranked, best first): an id the pool does not hold, one the request may
   not use (outside its allow list or scope, on its deny list, of a denied provider kind, remote
   when it denies remote, under an operator deny marker) or one the controller itself denies is
   rejected; the rest become the request's ``preferred_endpoints`` (after any it already had).
   A preference is soft: it ranks eligible candidates, it never re-admits an excluded one.
3. ``role`` and ``task``: only where the request left room (no role; a task it did not name), only
   when the inventory knows them and the role performs the task (and the task allows the role).
   One contradicting the request's own is rejected. A role without a task moves an unnamed task to
   the role's primary task when the role does not perform the current one.
4. ``strategy``: applies when the request has none (it weights eligible candidates, it rescues
   none); one contradicting the request's own strategy is rejected.
5. ``difficulty``: passed through as the controller's difficulty (recorded; whether it or the
   classifier's wins is the planner's arbitration).

Scope, budgets, allow lists, locality and capabilities are not directives at all: the schema has
no field for them and `parse_directives` rejects any field it does not know.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rolecall.protocol import RoleDefinition, TaskDefinition
from rolecall.routing.candidate import Candidate
from rolecall.routing.request import RoutingRequest, Strategy

DirectiveDifficulty = Literal["easy", "medium", "hard"]
MAX_PREFERRED: Final = 8
RATIONALE_CHARS: Final = 280
_FENCE: Final = re.compile(r"\A```(?:json)?[ \t]*\n?(?P<body>.*?)\n?```\Z", re.DOTALL)


class DirectiveError(ValueError):
    """A controller's answer that is not valid directives; ``field`` names where ("$": the whole)."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}")
        self.field = field
        self.why = why


class Directives(BaseModel):
    """What a routing controller may direct for one request (every field optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    role: str | None = None
    task: str | None = None
    difficulty: DirectiveDifficulty | None = None
    prefer_endpoints: list[str] | None = Field(default=None, max_length=MAX_PREFERRED)
    deny_endpoints: list[str] | None = None
    strategy: Strategy | None = None
    rationale: str | None = None

    @field_validator("role", "task")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("rationale")
    @classmethod
    def _capped(cls, value: str | None) -> str | None:
        # a talkative model's reason is cut, not refused: the directives around it still count
        return None if value is None else value[:RATIONALE_CHARS]


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema["type"]
    out = {**schema, "type": [kind, "null"]}
    if "enum" in schema:
        out["enum"] = [*schema["enum"], None]
    return out


def directives_schema(
    endpoint_ids: tuple[str, ...] = (),
    roles: tuple[str, ...] = (),
    tasks: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The JSON Schema of a controller's answer (given ids, roles and tasks become enums, so a
    grammar-constrained model can only name what exists).

    Kept to the subset every constrained decoder takes (OpenAI's strict mode, llama.cpp's grammar
    conversion): every property required and nullable, no additional properties, no length
    bounds (the parser enforces those).
    """

    def named(values: tuple[str, ...]) -> dict[str, Any]:
        return {"type": "string", "enum": list(values)} if values else {"type": "string"}

    ids = named(endpoint_ids)
    properties = {
        "role": _nullable(named(roles)),
        "task": _nullable(named(tasks)),
        "difficulty": _nullable({"type": "string", "enum": ["easy", "medium", "hard"]}),
        "prefer_endpoints": _nullable({"type": "array", "items": ids}),
        "deny_endpoints": _nullable({"type": "array", "items": ids}),
        "strategy": _nullable(
            {"type": "string", "enum": ["balanced", "quality", "latency", "cost"]}
        ),
        "rationale": _nullable({"type": "string"}),
    }
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


DIRECTIVES_SCHEMA: Final = directives_schema()


def strip_fence(text: str) -> str:
    """``text`` without surrounding blanks and one ```json (or bare ```) fence around all of it."""
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    return fenced.group("body") if fenced else stripped


def parse_directives(text: str) -> Directives:
    """A controller's answer as `Directives`; a ```json fence around it is tolerated, nothing else."""
    try:
        data = json.loads(strip_fence(text))
    except ValueError as exc:
        raise DirectiveError("$", f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DirectiveError("$", f"expected a JSON object, got {type(data).__name__}")
    try:
        return Directives.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "$"
        if first["type"] == "extra_forbidden":
            raise DirectiveError(where, "not a directive (unknown field)") from None
        raise DirectiveError(where, first["msg"]) from None


@dataclass(frozen=True, slots=True)
class Bounded:
    """The request narrowed by the directives that held, and an audit of each directive."""

    request: RoutingRequest
    applied: dict[str, Any] = field(default_factory=dict)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    difficulty: DirectiveDifficulty | None = None  # the controller's, for the planner to weigh

    def to_json(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "rejected": [{"field": f, "why": why} for f, why in self.rejected],
            "difficulty": self.difficulty,
        }


def request_excludes(candidate: Candidate, request: RoutingRequest) -> str | None:
    """Why the request's own limits exclude ``candidate`` (None: the request may use it)."""
    eid, kind = candidate.endpoint_id, candidate.identity.provider_kind
    if candidate.policy_denied:
        return "it carries an operator deny marker"
    if eid in request.deny_endpoints:
        return "the request denies it"
    if request.allow_endpoints and eid not in request.allow_endpoints:
        return "it is outside the request's allow list or scope"
    if kind in request.deny_provider_kinds or (
        request.allow_provider_kinds and kind not in request.allow_provider_kinds
    ):
        return f"the request does not allow provider kind {kind}"
    if request.deny_remote and not candidate.is_local:
        return "it is remote and the request denies remote endpoints"
    return None


class _Audit:
    def __init__(self, request: RoutingRequest) -> None:
        self.request = request
        self.applied: dict[str, Any] = {}
        self.rejected: list[tuple[str, str]] = []

    def reject(self, where: str, why: str) -> None:
        self.rejected.append((where, why))


def bound_directives(
    directives: Directives,
    request: RoutingRequest,
    *,
    endpoints: Mapping[str, Candidate],
    roles: Mapping[str, RoleDefinition],
    tasks: Mapping[str, TaskDefinition],
    task_fixed: bool = True,
) -> Bounded:
    """Apply ``directives`` to ``request`` within its limits (the module's rules).

    ``endpoints``: the pool's candidates by id; ``task_fixed``: whether the request (or its
    alias) named its task — False when the task was only the default, so a controller may set it.
    """
    audit = _Audit(request)
    routable = [eid for eid, c in endpoints.items() if request_excludes(c, request) is None]
    denied = _deny(audit, directives.deny_endpoints or [], endpoints, routable)
    _prefer(audit, directives.prefer_endpoints or [], endpoints, denied)
    _role_task(audit, directives, roles, tasks, task_fixed)
    _strategy(audit, directives.strategy)
    if directives.difficulty is not None:
        audit.applied["difficulty"] = directives.difficulty
    return Bounded(audit.request, audit.applied, audit.rejected, directives.difficulty)


def _known(
    audit: _Audit, where: str, ids: list[str], endpoints: Mapping[str, Candidate]
) -> list[str]:
    kept = []
    for eid in dict.fromkeys(ids):
        if eid in endpoints:
            kept.append(eid)
        else:
            audit.reject(where, f"unknown endpoint {eid!r}")
    return kept


def _deny(
    audit: _Audit, ids: list[str], endpoints: Mapping[str, Candidate], routable: list[str]
) -> frozenset[str]:
    known = _known(audit, "deny_endpoints", ids, endpoints)
    added = [eid for eid in known if eid in routable]
    if routable and set(routable) <= set(added):
        audit.reject(
            "deny_endpoints",
            f"would deny every endpoint the request may use ({', '.join(routable)})",
        )
        return frozenset()
    if added:
        deny = (*audit.request.deny_endpoints, *added)
        audit.request = replace(audit.request, deny_endpoints=deny)
        audit.applied["deny_endpoints"] = added
    return frozenset(added)


def _prefer(
    audit: _Audit, ids: list[str], endpoints: Mapping[str, Candidate], denied: frozenset[str]
) -> None:
    kept = []
    for eid in _known(audit, "prefer_endpoints", ids, endpoints):
        why = "the controller also denies it" if eid in denied else None
        why = why or request_excludes(endpoints[eid], audit.request)
        if why is None:
            kept.append(eid)
        else:
            audit.reject("prefer_endpoints", f"{eid!r}: {why}")
    if kept:
        own = audit.request.preferred_endpoints
        ranked = (*own, *(eid for eid in kept if eid not in own))[:MAX_PREFERRED]
        audit.request = replace(audit.request, preferred_endpoints=ranked)
        audit.applied["prefer_endpoints"] = kept


def _role_task(
    audit: _Audit,
    directives: Directives,
    roles: Mapping[str, RoleDefinition],
    tasks: Mapping[str, TaskDefinition],
    task_fixed: bool,
) -> None:
    request = audit.request
    role = _proposal(audit, "role", directives.role, request.requested_role_id, roles)
    own_task = request.task_type if task_fixed else None
    task = _proposal(audit, "task", directives.task, own_task, tasks)
    if role is None and task is None:
        return
    new_role = role or request.requested_role_id
    new_task = task or request.task_type
    if role is not None and task is None and not task_fixed:
        supported = roles[role].task_types_supported
        if supported and new_task not in supported:
            new_task = supported[0]  # the role's primary task, as when a request names only a role
    why = _misfit(new_role, new_task, roles, tasks)
    if why is not None:
        for name, value in (("role", role), ("task", task)):
            if value is not None:
                audit.reject(name, why)
        return
    audit.request = replace(request, requested_role_id=new_role, task_type=new_task)
    if role is not None:
        audit.applied["role"] = role
    if new_task != request.task_type:
        audit.applied["task"] = new_task


def _proposal(
    audit: _Audit, name: str, wanted: str | None, own: str | None, known: Mapping[str, Any]
) -> str | None:
    """The controller's ``name`` when it adds something (None when absent, equal or rejected)."""
    if wanted is None or wanted == own:
        return None
    if wanted not in known:
        audit.reject(name, f"unknown {name} {wanted!r}")
        return None
    if own is not None:
        audit.reject(name, f"the request sets {name} {own!r}")
        return None
    return wanted


def _misfit(
    role_id: str | None,
    task_type: str,
    roles: Mapping[str, RoleDefinition],
    tasks: Mapping[str, TaskDefinition],
) -> str | None:
    if role_id is None:
        return None
    role, task = roles.get(role_id), tasks.get(task_type)
    if role is None:
        return f"unknown role {role_id!r}"
    if task_type not in role.task_types_supported or (
        task is not None and task.allowed_roles and role_id not in task.allowed_roles
    ):
        return f"role {role_id!r} does not perform task {task_type!r}"
    return None


def _strategy(audit: _Audit, strategy: Strategy | None) -> None:
    own = audit.request.strategy
    if strategy is None or strategy == own:
        return
    if own is not None:
        audit.reject("strategy", f"the request sets strategy {own!r}")
        return
    audit.request = replace(audit.request, strategy=strategy)
    audit.applied["strategy"] = strategy
