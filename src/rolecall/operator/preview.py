"""The what-if preview: replay recent requests under a proposed posture before saving it.

Each stored decision is rebuilt as a routing request (its role and task from the request facts, its
per-request constraints from the stored policy snapshot) and decided twice with the real
`Router.decide` on today's candidates and evidence: once under the current posture, once under
the proposed one. Comparing two replays (rather than the stored choice) isolates the effect of the
posture from evidence that changed since. Expected quality and latency are the winner's metric
values; expected cost prices the request's recorded tokens on the winner.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from rolecall.execution.state import RoutingView
from rolecall.inventory.baseline import DEFAULT_TASK
from rolecall.inventory.inventory import Inventory
from rolecall.operator.posture import Posture, current_posture, posture_policy
from rolecall.protocol import RoutingPolicy
from rolecall.routing import Candidate, Router, RoutingRequest

DEFAULT_TOKENS: Final = (500, 200)  # (in, out) priced when a request recorded no tokens


@dataclass(frozen=True, slots=True)
class Replay:
    """One request to route: the router's input and the tokens it used."""

    request: RoutingRequest
    tokens: tuple[int, int]


def replays_from(inputs: Iterable[Mapping[str, Any]]) -> list[Replay]:
    """Routing requests from stored requests (the analytics store's replay inputs)."""
    out = []
    for row in inputs:
        snap = row.get("policy_snapshot") or {}
        request = RoutingRequest(
            request_id=f"whatif-{row['request_id']}",
            task_type=row.get("task_type") or DEFAULT_TASK,
            requested_role_id=row.get("role_id"),
            required_capabilities=tuple(snap.get("required_capabilities") or ()),
            required_modalities=tuple(snap.get("required_modalities") or ("text",)),
            needs_tools=bool(snap.get("require_tools")),
            allow_endpoints=tuple(snap.get("allow_endpoints") or ()),
            deny_endpoints=tuple(snap.get("deny_endpoints") or ()),
        )
        tokens = (int(row.get("tokens_in") or 0), int(row.get("tokens_out") or 0))
        out.append(Replay(request, tokens if any(tokens) else DEFAULT_TOKENS))
    return out


@functools.cache
def case_replays() -> tuple[list[Replay], str | None]:
    """The built-in benchmark cases as requests (their task, role and tools); or why there are none.

    Cached: the built-in suites ship with the package and do not change while it runs.
    """
    try:
        from rolecall.benchmark.cases import builtin_suites
    except ImportError:  # the benchmark package is optional for the console
        return [], "benchmark suites are not installed"
    out = []
    for suite in builtin_suites():
        for case in suite.cases:
            text = sum(len(m.content) for m in case.messages)
            request = RoutingRequest(
                request_id=f"whatif-case-{suite.name}-{case.id}",
                task_type=case.task,
                requested_role_id=case.role,
                needs_tools=bool(case.tools),
            )
            out.append(Replay(request, (max(1, text // 4), case.max_tokens)))
    return out, None


def _scoped(request: RoutingRequest, inventory: Inventory, scope: str) -> RoutingRequest:
    if scope != "remote_only":
        return request
    local = tuple(e.endpoint_id for e in inventory.endpoints.values() if e.is_local)
    return replace(request, deny_endpoints=tuple(dict.fromkeys(request.deny_endpoints + local)))


def _kind(r: RoutingRequest) -> tuple[Any, ...]:
    """Everything a replayed request routes on (its id aside), cheaper than a dataclass copy."""
    return (
        r.task_type,
        r.requested_role_id,
        r.required_capabilities,
        r.preferred_capabilities,
        r.required_modalities,
        r.context_tokens,
        r.needs_tools,
        r.allow_endpoints,
        r.deny_endpoints,
    )


def _route_all(
    inv: Inventory,
    replays: Sequence[Replay],
    policy: RoutingPolicy,
    scope: str,
    candidates: Sequence[Candidate],
    live: Router | None,
) -> list[dict[str, Any]]:
    # the live router's pool targets apply to the replays too, so they compare like for like
    router = Router(policy) if live is None else live.with_policy(policy)
    # requests with the same routing inputs get the same decision: route each kind once
    winners: dict[tuple[Any, ...], tuple[str, float | None, float | None]] = {}
    out: list[dict[str, Any]] = []
    for replay in replays:
        kind = _kind(replay.request)
        if kind not in winners:
            request = _scoped(replace(replay.request, request_id="whatif"), inv, scope)
            d = router.decide(
                request, candidates, inv.roles.values(), inv.tasks.values(), inv.bindings
            )
            best = d.ranked[0] if d.ranked else None
            winners[kind] = (
                (best.endpoint_id, best.values[0], best.eff_latency) if best else ("", None, None)
            )
        endpoint_id, quality, latency = winners[kind]
        endpoint = inv.endpoints.get(endpoint_id)
        cost = endpoint.request_cost(*replay.tokens) if endpoint else None
        out.append(
            {"endpoint": endpoint_id, "quality": quality, "latency_ms": latency, "cost": cost}
        )
    return out


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _summary(routed: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "by_endpoint": dict(Counter(r["endpoint"] or "(none)" for r in routed).most_common()),
        "quality": _mean(r["quality"] for r in routed),
        "latency_ms": _mean(r["latency_ms"] for r in routed),
        "cost_usd": sum(r["cost"] or 0.0 for r in routed),
        "no_endpoint": sum(1 for r in routed if not r["endpoint"]),
    }


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def compare(
    inventory: Inventory,
    replays: Sequence[Replay],
    base_policy: RoutingPolicy | None,
    current: Posture,
    proposed: Posture,
    candidates: Sequence[Candidate],
    live: Router | None = None,
) -> dict[str, Any]:
    """How routing ``replays`` changes from ``current`` to ``proposed`` (with ``live``'s derived
    targets when given: the router of the view the candidates come from)."""
    before = _route_all(
        inventory,
        replays,
        posture_policy(base_policy, current),
        current.execution_scope,
        candidates,
        live,
    )
    after = _route_all(
        inventory,
        replays,
        posture_policy(base_policy, proposed),
        proposed.execution_scope,
        candidates,
        live,
    )
    moves = Counter(
        (a["endpoint"] or "(none)", b["endpoint"] or "(none)")
        for a, b in zip(before, after, strict=True)
        if a["endpoint"] != b["endpoint"]
    )
    now, then = _summary(before), _summary(after)
    return {
        "replayed": len(replays),
        "moved": sum(moves.values()),
        "moves": [{"from": f, "to": t, "count": n} for (f, t), n in moves.most_common()],
        "current": now,
        "proposed": then,
        "delta": {
            key: _delta(now[key], then[key]) for key in ("quality", "latency_ms", "cost_usd")
        },
    }


LEARNED_NOTE: Final = (
    "the learned mode's per-prompt estimates are not replayed (prompts are not stored): "
    "replays score quality from the endpoints' profiles"
)


def preview(
    view: RoutingView,
    base_policy: RoutingPolicy | None,
    proposed: Posture,
    replays: Sequence[Replay],
    now_ms: int,
) -> dict[str, Any]:
    """The what-if body: ``replays`` (recent requests) and the built-in benchmark cases routed
    under the current posture of ``view`` and under ``proposed``, on one set of candidates."""
    current = current_posture(view.inventory)
    candidates = view.candidates(now_ms)
    live = view.router
    body = compare(view.inventory, replays, base_policy, current, proposed, candidates, live)
    cases, why_not = case_replays()
    body["benchmark_cases"] = (
        compare(view.inventory, cases, base_policy, current, proposed, candidates, live)
        if cases
        else {"replayed": 0, "unavailable": why_not or "no benchmark cases"}
    )
    if "learned" in (proposed.mode, current.mode):
        body["note"] = LEARNED_NOTE
    body["proposed_posture"] = proposed.to_dict()
    body["source"] = "recent stored requests"
    return body
