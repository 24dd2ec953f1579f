"""The decision step of a routed chat request: the routing mode's planner, then the router.

One place for what every front door's request goes through between its parse and its
execution: the mode (the request's, its target's, the inventory's), the plan of a planned mode
(docs/routing.md §Routing modes), the quality estimates (a classified request's per-bucket
benchmark quality, or the learned mode's per-prompt estimates), and `Router.decide` on one set of
candidates. Baseline requests skip the planner entirely.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rolecall.execution.state import RoutingView
from rolecall.gateway.targets import Target, routing_mode
from rolecall.gateway.wire import ChatRequest
from rolecall.gateway.wire_intent import IntentUse
from rolecall.planning.planner import PLANNED_MODES, Plan, plan_headers
from rolecall.routing import Decision, RoutingRequest
from rolecall.services import Services


@dataclass(slots=True)
class Decided:
    decision: Decision
    plan_report: dict[str, Any] | None  # stored beside the decision (None: nothing planned)
    headers: dict[str, str]  # what the answer says of the plan


async def decide(
    services: Services,
    view: RoutingView,
    chat: ChatRequest,
    target: Target,
    routing: RoutingRequest,
    intent: IntentUse | None,
    now_ms: int,
) -> Decided:
    """Plan (in a planned mode) and decide ``routing`` on ``view``'s candidates at ``now_ms``."""
    inventory = view.inventory
    mode = routing_mode(target, chat.hints, inventory)
    candidates = view.candidates(now_ms)
    plan: Plan | None = None
    if mode in PLANNED_MODES:
        named = chat.hints.task or target.task or (intent is not None and intent.task)
        plan = await services.planner.plan(
            mode, routing, chat, candidates, inventory, task_fixed=bool(named)
        )
        routing = plan.request
    learned = services.learned
    estimates = None
    if routing.difficulty is not None:  # classified: scored on its bucket's judged quality
        estimates = services.ceilings.estimates(routing.difficulty)
    elif learned is not None and mode == "learned":
        estimates = learned.estimates(chat.body["messages"])
    decision = view.router.decide(
        routing,
        candidates,
        inventory.roles.values(),
        inventory.tasks.values(),
        inventory.bindings,
        quality_estimates=estimates,
    )
    if plan is None:
        return Decided(decision, None, {})
    return Decided(decision, plan.finish(decision, candidates), plan_headers(plan))
