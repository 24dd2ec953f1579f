"""The routing modes' planners: what runs between a request's parse and the router's choice.

``baseline`` and ``learned`` plan nothing (the gateway does not call the planner for them).
``difficulty`` classifies the request (the rubric, or the classifier endpoint or learned
classifier the settings name, the rubric being their fallback) and hands the router the
difficulty, so endpoints whose ceiling is below it are excluded. ``controller`` asks the
routing-controller model for directives and bounds them by the request's own limits (they narrow,
never loosen). ``hybrid`` runs both at once and arbitrates (`rolecall.routing.arbitration`).

Every plan is a `Plan`: the routing request the router gets, and the report stored beside the
decision (``decisions.plan``), finished once the router ran (each candidate's difficulty
advisory; whether the ceiling overrode the controller's first preference). A planner that fails
falls back (the rubric, then the baseline) and says so in the report; it never fails the
request. docs/routing.md §Routing modes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from typing import Any, Final, Protocol

from rolecall.execution.ports import Upstreams
from rolecall.inventory.aliases import RoutingMode
from rolecall.inventory.config import RoutingConfig
from rolecall.inventory.inventory import Inventory
from rolecall.inventory.modes import DifficultyConfig
from rolecall.planning.classifier import DifficultyEndpointClassifier
from rolecall.planning.controller import ControllerOutcome, RoutingController, pool_entries
from rolecall.routing import Candidate, Decision, RoutingRequest
from rolecall.routing.arbitration import Arbitration, after_decision, arbitrate
from rolecall.routing.controller import bound_directives
from rolecall.routing.difficulty import (
    Classification,
    RequestSignals,
    advisories,
    classify,
    signals_of,
)

PLANNED_MODES: Final = frozenset({"difficulty", "controller", "hybrid"})
CEILING_RULE: Final = "Difficulty ceiling"  # how the ceiling rule's exclusion detail begins


class LearnedClassifier(Protocol):
    """A trained difficulty classifier (`rolecall.learned.difficulty.LearnedDifficulty`)."""

    def classify(self, signals: RequestSignals) -> Classification: ...


class RequestText(Protocol):
    """What a planner reads of a chat request."""

    @property
    def body(self) -> dict[str, Any]: ...

    @property
    def structured_output(self) -> bool: ...


@dataclasses.dataclass(slots=True)
class Plan:
    """A planned request: the router's input and the report of how it was planned."""

    mode: RoutingMode
    request: RoutingRequest
    report: dict[str, Any]
    classification: Classification | None = None
    arbitration: Arbitration | None = None
    preferred: str | None = None  # the controller's first preference that was applied

    @property
    def difficulty(self) -> str | None:
        return self.request.difficulty

    def finish(self, decision: Decision, candidates: Sequence[Candidate]) -> dict[str, Any]:
        """The report as stored, once the router decided on ``candidates``."""
        if self.request.difficulty is not None:
            self.report["advisories"] = advisories(candidates, self.request.difficulty)
        if self.arbitration is not None:
            excluded = self.preferred is not None and _ceiling_excluded(decision, self.preferred)
            final = after_decision(self.arbitration, self.preferred, excluded)
            self.report["arbitration"] = final.to_json()
        return self.report


class Planner:
    """The planners of one process, built once from the ``routing`` settings: the rubric (always),
    the classifier endpoint and the controller (when configured)."""

    def __init__(
        self,
        difficulty: DifficultyConfig,
        *,
        classifier: DifficultyEndpointClassifier | None = None,
        controller: RoutingController | None = None,
        learned: LearnedClassifier | None = None,
    ) -> None:
        self._settings = difficulty
        self._classifier = classifier
        self._controller = controller
        self._learned = learned

    @classmethod
    def build(
        cls, routing: RoutingConfig, upstreams: Upstreams, learned: LearnedClassifier | None = None
    ) -> Planner:
        """The planners ``routing`` (rolecall.yaml's section) configures; ``learned``: the
        trained difficulty classifier it names, loaded by the caller."""
        difficulty = routing.difficulty
        classifier = (
            DifficultyEndpointClassifier(difficulty, upstreams)
            if difficulty.classifier == "endpoint"
            else None
        )
        controller = (
            RoutingController(routing.controller, upstreams) if routing.controller else None
        )
        return cls(difficulty, classifier=classifier, controller=controller, learned=learned)

    async def plan(
        self,
        mode: RoutingMode,
        request: RoutingRequest,
        chat: RequestText,
        candidates: Sequence[Candidate],
        inventory: Inventory,
        *,
        task_fixed: bool = True,
    ) -> Plan:
        """Plan one request in ``mode`` (one of `PLANNED_MODES`); ``task_fixed``: whether the
        request named its task (a controller may then not change it)."""
        started = time.perf_counter()
        messages = chat.body.get("messages") or []
        plan = Plan(mode, request, {"mode": mode})
        classifying = mode in ("difficulty", "hybrid")
        directing = mode in ("controller", "hybrid")
        asked = self._ask(messages, request, candidates, inventory) if directing else None
        if classifying:  # the rubric runs while the controller's call is in flight
            plan.classification = await self._classification(plan, messages, chat, inventory)
            plan.report["difficulty"] = plan.classification.to_json()
        if asked is not None:
            outcome = await asked
            self._direct(plan, outcome, candidates, inventory, task_fixed)
        if plan.classification is not None:
            chosen = plan.classification.difficulty
            if mode == "hybrid":
                controller = plan.report["controller"]
                plan.arbitration = arbitrate(
                    chosen, controller.get("difficulty"), controller_ok=controller["status"] == "ok"
                )
                chosen = plan.arbitration.difficulty
            plan.request = dataclasses.replace(plan.request, difficulty=chosen)
            plan.report["routed_difficulty"] = chosen
        plan.report["planning_ms"] = round((time.perf_counter() - started) * 1000, 3)
        return plan

    def _ask(
        self,
        messages: Sequence[Any],
        request: RoutingRequest,
        candidates: Sequence[Candidate],
        inventory: Inventory,
    ) -> asyncio.Task[ControllerOutcome] | None:
        if self._controller is None:
            return None
        pool = pool_entries(candidates, inventory.endpoints)
        return asyncio.ensure_future(self._controller.ask(messages, request, pool, inventory))

    async def _classification(
        self, plan: Plan, messages: Sequence[Any], chat: RequestText, inventory: Inventory
    ) -> Classification:
        """The rubric's classification, or the classifier endpoint's difficulty with the
        rubric's signals beside it (its outcome in the report's ``classifier``)."""
        request, body = plan.request, chat.body
        tools = body.get("tools")
        signals = signals_of(
            messages,
            tools=len(tools) if isinstance(tools, list) else 0,
            structured=chat.structured_output,
            reasoning=_text(body.get("reasoning_effort")),
            role=request.requested_role_id,
            task=request.task_type,
        )
        if self._learned is not None:
            return self._learned.classify(signals)
        rubric = classify(signals, self._settings.rubric_version)
        if self._classifier is None:
            return rubric
        asked = await self._classifier.classify(messages, inventory)
        plan.report["classifier"] = {**asked.to_json(), "rubric_said": rubric.difficulty}
        return dataclasses.replace(
            rubric,
            difficulty=asked.difficulty,
            source="fallback" if asked.fell_back else "endpoint",
        )

    def _direct(
        self,
        plan: Plan,
        outcome: ControllerOutcome,
        candidates: Sequence[Candidate],
        inventory: Inventory,
        task_fixed: bool,
    ) -> None:
        """Record the controller's outcome and apply what its directives may change."""
        report = outcome.to_json()
        plan.report["controller"] = report
        if not outcome.ok or outcome.directives is None:
            return
        bounded = bound_directives(
            outcome.directives,
            plan.request,
            endpoints={c.endpoint_id: c for c in candidates},
            roles=inventory.roles,
            tasks=inventory.tasks,
            task_fixed=task_fixed,
        )
        plan.request = bounded.request
        report["applied"] = bounded.applied
        report["rejected"] = [{"field": f, "why": why} for f, why in bounded.rejected]
        report["difficulty"] = bounded.difficulty
        preferred = bounded.applied.get("prefer_endpoints") or ()
        plan.preferred = preferred[0] if preferred else None


def _ceiling_excluded(decision: Decision, endpoint_id: str) -> bool:
    for candidate_id, exclusions in decision.eligibility:
        if candidate_id == endpoint_id:
            return any(detail.startswith(CEILING_RULE) for _, detail in exclusions)
    return False


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def plan_headers(plan: Plan) -> dict[str, str]:
    """What a planned answer tells the client: the mode, and the difficulty it routed with."""
    headers: dict[str, str] = {"x-rolecall-routing-mode": plan.mode}
    if plan.request.difficulty is not None:
        headers["x-rolecall-difficulty"] = plan.request.difficulty
    if plan.arbitration is not None:
        headers["x-rolecall-dominant-signal"] = str(plan.report["arbitration"]["dominant"])
    return headers
