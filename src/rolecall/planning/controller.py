"""The routing controller of the ``controller`` and ``hybrid`` modes: one deterministic call to
the configured controller endpoint, which reads the request and the pool and answers with
routing directives (`rolecall.routing.controller`).

Every way the call can fail is an outcome, not an exception, and the request then routes in the
baseline mode: ``skipped`` (the endpoint is not in the inventory, or the call would cost more
than ``budget_usd``), ``timeout`` (no answer within ``timeout_ms``), ``upstream_error`` (the
endpoint failed), ``invalid`` (the answer is not valid directives; the field and why are kept).
``ok`` carries the parsed directives, which the caller still bounds by the request
(`rolecall.routing.controller.bound_directives`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from rolecall.execution.ports import Upstreams
from rolecall.inventory.inventory import Endpoint, Inventory
from rolecall.inventory.modes import ControllerConfig
from rolecall.planning.ask import Asked, ask_endpoint, estimate_tokens, request_text
from rolecall.routing.candidate import Candidate
from rolecall.routing.controller import (
    DirectiveError,
    Directives,
    directives_schema,
    parse_directives,
)
from rolecall.routing.request import RoutingRequest

ControllerStatus = Literal["ok", "skipped", "timeout", "upstream_error", "invalid"]
SCHEMA_NAME: Final = "routing_directives"
# the most pool entries shown (in the caller's order): a controller's prompt and its schema's
# enum of ids stay small whatever the pool's size
MAX_POOL_SHOWN: Final = 40
SYSTEM_PROMPT: Final = """\
You are the routing controller of an LLM gateway. Read the request below and decide how it \
should be routed among the pool's endpoints. Answer with one JSON object and nothing else:
- role, task: the role and task that fit the request, from the lists below (null to leave them);
- difficulty: "easy", "medium" or "hard" for a language model;
- prefer_endpoints: up to 8 endpoint ids from the pool, best first (null for no preference);
- deny_endpoints: endpoint ids from the pool unfit for this request (null for none);
- strategy: "balanced", "quality", "latency" or "cost";
- rationale: one short sentence.
Only the ids, roles and tasks listed count. You cannot widen what the request allows."""


@dataclass(frozen=True, slots=True)
class PoolEntry:
    """What the controller is told of one candidate endpoint."""

    endpoint_id: str
    local: bool
    model: str
    capabilities: tuple[str, ...] = ()
    quality: float | None = None  # judged quality, 0..1, when measured
    latency_ms_p50: float | None = None

    def line(self) -> str:
        where = "local" if self.local else "remote"
        parts = [f"- {self.endpoint_id} ({where}, model {self.model})"]
        if self.capabilities:
            parts.append(f"capabilities: {', '.join(self.capabilities)}")
        if self.quality is not None:
            parts.append(f"quality {self.quality:.2f}")
        if self.latency_ms_p50 is not None:
            parts.append(f"p50 {self.latency_ms_p50:.0f} ms")
        return "; ".join(parts)


def pool_entries(
    candidates: Iterable[Candidate], endpoints: Mapping[str, Endpoint]
) -> list[PoolEntry]:
    """The pool as the controller sees it, from the router's candidates (judge score first)."""
    entries = []
    for c in candidates:
        ev = c.evidence
        quality = (
            None
            if ev is None
            else ev.judge_score
            if ev.judge_score is not None
            else ev.quality_score
        )
        endpoint = endpoints.get(c.endpoint_id)
        entries.append(
            PoolEntry(
                endpoint_id=c.endpoint_id,
                local=c.is_local,
                model=endpoint.model if endpoint is not None else c.identity.model_id,
                capabilities=tuple(sorted(c.capabilities)),
                quality=quality,
                latency_ms_p50=None if ev is None else ev.latency_ms_p50,
            )
        )
    return entries


@dataclass(frozen=True, slots=True)
class ControllerOutcome:
    """What became of one controller call (``directives`` only when ``status`` is ``ok``)."""

    status: ControllerStatus
    endpoint_id: str
    directives: Directives | None = None
    latency_ms: float = 0.0
    cost_usd: float | None = 0.0
    detail: str = ""
    field: str | None = None  # invalid: where the answer went wrong

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status,
            "endpointId": self.endpoint_id,
            "latencyMs": round(self.latency_ms, 3),
            "costUsd": self.cost_usd,
            "detail": self.detail,
            "directives": None if self.directives is None else self.directives.model_dump(),
        }
        if self.field is not None:
            out["field"] = self.field
        return out


def controller_messages(
    messages: Sequence[Mapping[str, Any]],
    request: RoutingRequest,
    pool: Sequence[PoolEntry],
    inventory: Inventory,
    prompt_chars: int,
) -> list[dict[str, str]]:
    """The controller's prompt: the task, the pool, the roles and tasks, the request's text."""
    roles = [
        f"- {rid}: performs {', '.join(r.task_types_supported) or 'any task'}"
        for rid, r in sorted(inventory.roles.items())
    ]
    fixed = [f"role {request.requested_role_id}"] if request.requested_role_id else []
    user = "\n".join(
        [
            "Pool:",
            *(entry.line() for entry in pool),
            "Roles:",
            *roles,
            f"Tasks: {', '.join(sorted(inventory.tasks))}",
            f"The request's task: {request.task_type}; " + (", ".join(fixed) or "no role set"),
            "",
            request_text(messages, prompt_chars),
        ]
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


class RoutingController:
    """Asks the configured controller endpoint for one request's directives."""

    def __init__(self, config: ControllerConfig, upstreams: Upstreams) -> None:
        self.config = config
        self._upstreams = upstreams

    async def ask(
        self,
        messages: Sequence[Mapping[str, Any]],
        request: RoutingRequest,
        pool: Sequence[PoolEntry],
        inventory: Inventory,
    ) -> ControllerOutcome:
        """The directives for ``request`` (the chat ``messages`` it carries), or why there are none."""
        config = self.config
        eid = config.endpoint_id
        pool = pool[:MAX_POOL_SHOWN]
        endpoint = inventory.endpoints.get(eid)
        if endpoint is None:
            detail = f"not configured: endpoint {eid!r} is not in the inventory"
            return ControllerOutcome("skipped", eid, detail=detail, cost_usd=None)
        prompt = controller_messages(messages, request, pool, inventory, config.prompt_chars)
        estimate = _cost(endpoint, estimate_tokens(prompt), config.max_tokens)
        if estimate is None or estimate > config.budget_usd:
            return ControllerOutcome("skipped", eid, detail=_over_budget(estimate, config))
        schema = directives_schema(
            tuple(entry.endpoint_id for entry in pool),
            tuple(sorted(inventory.roles)),
            tuple(sorted(inventory.tasks)),
        )
        asked = await ask_endpoint(
            self._upstreams,
            endpoint,
            prompt,
            schema_name=SCHEMA_NAME,
            schema=schema,
            max_tokens=config.max_tokens,
            timeout_ms=config.timeout_ms,
        )
        return _outcome(asked, endpoint, estimate)


def _cost(endpoint: Endpoint, tokens_in: int, tokens_out: int) -> float | None:
    cost = endpoint.request_cost(tokens_in, tokens_out)
    if cost is None and endpoint.is_local:
        return 0.0  # an unpriced local server costs nothing per call
    return cost


def _over_budget(estimate: float | None, config: ControllerConfig) -> str:
    if estimate is None:
        return "budget: the controller endpoint has no price, so its cost cannot be bounded"
    return f"budget: the call would cost about ${estimate:.6f}, over ${config.budget_usd:.6f}"


def _outcome(asked: Asked, endpoint: Endpoint, estimate: float) -> ControllerOutcome:
    eid = endpoint.endpoint_id
    if asked.status != "ok":
        return ControllerOutcome(asked.status, eid, None, asked.latency_ms, estimate, asked.detail)
    spent = estimate
    if asked.tokens_in or asked.tokens_out:
        spent = _cost(endpoint, asked.tokens_in, asked.tokens_out) or 0.0
    try:
        directives = parse_directives(asked.text)
    except DirectiveError as error:
        return ControllerOutcome(
            "invalid", eid, None, asked.latency_ms, spent, f"invalid: {error.why}", error.field
        )
    return ControllerOutcome("ok", eid, directives, asked.latency_ms, spent)
