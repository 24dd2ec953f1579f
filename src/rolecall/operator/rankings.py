"""The current ranking for each role (and for unroled traffic), as the router would decide now,
with the metrics that do not discriminate between the role's candidates and the targets in use."""

from __future__ import annotations

from typing import Any

from rolecall.execution.state import RoutingView
from rolecall.inventory.baseline import DEFAULT_TASK, primary_task
from rolecall.operator.posture import current_posture
from rolecall.routing import RoutingRequest


def _ranking(art: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "endpoint_id": s["endpoint_id"],
            "total_score": s["total_score"],
            "metrics": {k: v["value"] for k, v in s["metric_breakdown"].items()},
            "sources": {k: v["source"] for k, v in s["metric_breakdown"].items()},
        }
        for s in art["scored_candidates"]
    ]


def role_rankings(view: RoutingView, now_ms: int) -> dict[str, Any]:
    """Per role: the scored candidates in rank order and the excluded ones with their reasons."""
    inv = view.inventory
    pool = view.candidates(now_ms)
    targets: list[tuple[str | None, str]] = [(None, DEFAULT_TASK)]
    targets += [(r.role_id, primary_task(r)) for r in inv.roles.values()]
    out = []
    in_use: dict[str, Any] = {}
    for role_id, task in targets:
        request = RoutingRequest(
            request_id=f"candidates-{role_id or 'default'}",
            task_type=task,
            requested_role_id=role_id,
        )
        decision = view.router.decide(
            request, pool, inv.roles.values(), inv.tasks.values(), inv.bindings
        )
        art = decision.to_artifact()
        if role_id is None:
            in_use = decision.context.policy.targets_in_use()
        out.append(
            {
                "role_id": role_id,
                "task_type": task,
                "ranked": _ranking(art),
                "excluded": [e for e in art["eligibility"] if not e["eligible"]],
                "warnings": [flat.message for flat in decision.flat_metrics()],
            }
        )
    return {"strategy": current_posture(inv).strategy, "targets": in_use, "roles": out}
