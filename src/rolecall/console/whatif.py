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

from rolecall.bootstrap import Runtime
from rolecall.console.state import Posture, posture_policy
from rolecall.inventory.baseline import DEFAULT_TASK
from rolecall.protocol import RoutingPolicy
from rolecall.routing import Candidate, Router, RoutingRequest

DEFAULT_TOKENS: Final = (500, 200)  # (in, out) priced when a request recorded no tokens


@dataclass(frozen=True, slots=True)
class Replay:
    """One request to route: the router's input and the tokens it used."""

    request: RoutingRequest
    tokens: tuple[int, int]


def replays_from(inputs: Iterable[Mapping[str, Any]]) -> list[Replay]:
    """Routing requests from stored requests (`SqlAnalytics.replay_inputs` rows)."""
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


def _scoped(request: RoutingRequest, runtime: Runtime, scope: str) -> RoutingRequest:
    if scope != "remote_only":
        return request
    local = tuple(e.endpoint_id for e in runtime.inventory.endpoints.values() if e.is_local)
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
    runtime: Runtime,
    replays: Sequence[Replay],
    policy: RoutingPolicy,
    scope: str,
    candidates: Sequence[Candidate],
) -> list[dict[str, Any]]:
    router = Router(policy)
    inv = runtime.inventory
    # requests with the same routing inputs get the same decision: route each kind once
    winners: dict[tuple[Any, ...], tuple[str, float | None, float | None]] = {}
    out: list[dict[str, Any]] = []
    for replay in replays:
        kind = _kind(replay.request)
        if kind not in winners:
            request = _scoped(replace(replay.request, request_id="whatif"), runtime, scope)
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
    runtime: Runtime,
    replays: Sequence[Replay],
    base_policy: RoutingPolicy | None,
    current: Posture,
    proposed: Posture,
    candidates: Sequence[Candidate],
) -> dict[str, Any]:
    """How routing ``replays`` changes from ``current`` to ``proposed``."""
    before = _route_all(
        runtime, replays, posture_policy(base_policy, current), current.execution_scope, candidates
    )
    after = _route_all(
        runtime,
        replays,
        posture_policy(base_policy, proposed),
        proposed.execution_scope,
        candidates,
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
