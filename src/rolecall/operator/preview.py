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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from rolecall.execution.state import RoutingView
from rolecall.inventory.baseline import DEFAULT_TASK
from rolecall.inventory.inventory import Inventory
from rolecall.operator.posture import Posture, current_posture, posture_policy
from rolecall.protocol import RoutingPolicy
from rolecall.routing import Candidate, QualityEstimate, Router, RoutingRequest
from rolecall.routing.difficulty import classify, signals_of
from rolecall.routing.request import DIFFICULTIES, Difficulty

DEFAULT_TOKENS: Final = (500, 200)  # (in, out) priced when a request recorded no tokens
# a difficulty → each endpoint's judged quality there (`planning.ceilings.CeilingBook.estimates`)
BucketQuality = Callable[[str], Mapping[str, QualityEstimate]]


@dataclass(frozen=True, slots=True)
class Replay:
    """One request to route: the router's input and the tokens it used."""

    request: RoutingRequest
    tokens: tuple[int, int]
    # the difficulty it was classified (a request routed in a classifying mode, or a benchmark
    # case by the rubric); None: unknown, and a classifying mode replays it without a ceiling
    difficulty: Difficulty | None = None


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
        difficulty = row.get("difficulty")
        out.append(
            Replay(
                request,
                tokens if any(tokens) else DEFAULT_TOKENS,
                difficulty if difficulty in DIFFICULTIES else None,
            )
        )
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
            difficulty = _classified(case.messages, len(case.tools or ()), request)
            out.append(Replay(request, (max(1, text // 4), case.max_tokens), difficulty))
    return out, None


def _classified(messages: Sequence[Any], tools: int, request: RoutingRequest) -> Difficulty:
    """A case's difficulty as the rubric classifies it (as a live request would be)."""
    plain = [{"role": m.role, "content": m.content} for m in messages]
    signals = signals_of(plain, tools=tools, role=request.requested_role_id, task=request.task_type)
    return classify(signals).difficulty


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
        r.difficulty,
    )


def _route_all(
    inv: Inventory,
    replays: Sequence[Replay],
    policy: RoutingPolicy,
    scope: str,
    candidates: Sequence[Candidate],
    live: Router | None,
    mode: str = "baseline",
    by_bucket: BucketQuality | None = None,
) -> list[dict[str, Any]]:
    # the live router's pool targets apply to the replays too, so they compare like for like
    router = Router(policy) if live is None else live.with_policy(policy)
    # requests with the same routing inputs get the same decision: route each kind once
    winners: dict[tuple[Any, ...], tuple[str, float | None, float | None]] = {}
    out: list[dict[str, Any]] = []
    classifying = mode in CLASSIFYING_MODES
    for replay in replays:
        asked = replay.request
        if classifying and replay.difficulty is not None:
            asked = replace(asked, difficulty=replay.difficulty)
        kind = _kind(asked)
        if kind not in winners:
            request = _scoped(replace(asked, request_id="whatif"), inv, scope)
            estimates = by_bucket(request.difficulty) if by_bucket and request.difficulty else None
            d = router.decide(
                request,
                candidates,
                inv.roles.values(),
                inv.tasks.values(),
                inv.bindings,
                quality_estimates=estimates,
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
    by_bucket: BucketQuality | None = None,
) -> dict[str, Any]:
    """How routing ``replays`` changes from ``current`` to ``proposed`` (with ``live``'s derived
    targets when given: the router of the view the candidates come from; ``by_bucket``: the
    quality a classified replay is scored on, as in the gateway)."""
    before = _route_all(
        inventory,
        replays,
        posture_policy(base_policy, current),
        current.execution_scope,
        candidates,
        live,
        current.mode,
        by_bucket,
    )
    after = _route_all(
        inventory,
        replays,
        posture_policy(base_policy, proposed),
        proposed.execution_scope,
        candidates,
        live,
        proposed.mode,
        by_bucket,
    )
    moves = Counter(
        (a["endpoint"] or "(none)", b["endpoint"] or "(none)")
        for a, b in zip(before, after, strict=True)
        if a["endpoint"] != b["endpoint"]
    )
    now, then = _summary(before), _summary(after)
    return {
        "replayed": len(replays),
        "classified": dict(Counter(r.difficulty or "unknown" for r in replays).most_common()),
        "moved": sum(moves.values()),
        "moves": [{"from": f, "to": t, "count": n} for (f, t), n in moves.most_common()],
        "current": now,
        "proposed": then,
        "delta": {
            key: _delta(now[key], then[key]) for key in ("quality", "latency_ms", "cost_usd")
        },
    }


MODE_NOTES: Final = {
    "learned": "the learned mode's per-prompt estimates are not replayed (prompts are not "
    "stored): replays score quality from the endpoints' profiles",
    "difficulty": "stored requests replay with the difficulty they were classified when they "
    "were routed in a classifying mode (the others, 'unknown' under 'classified', replay "
    "without a ceiling); benchmark cases are classified by the rubric",
    "controller": "the controller is not asked again (it costs a call per request): "
    "controller replays route as baseline",
    "hybrid": "hybrid replays use the classified difficulty without the controller (it is not "
    "asked again)",
}
CLASSIFYING_MODES: Final = frozenset({"difficulty", "hybrid"})


def preview(
    view: RoutingView,
    base_policy: RoutingPolicy | None,
    proposed: Posture,
    replays: Sequence[Replay],
    now_ms: int,
    by_bucket: BucketQuality | None = None,
) -> dict[str, Any]:
    """The what-if body: ``replays`` (recent requests) and the built-in benchmark cases routed
    under the current posture of ``view`` and under ``proposed``, on one set of candidates."""
    current = current_posture(view.inventory)
    candidates = view.candidates(now_ms)
    live = view.router
    inv = view.inventory
    body = compare(inv, replays, base_policy, current, proposed, candidates, live, by_bucket)
    cases, why_not = case_replays()
    body["benchmark_cases"] = (
        compare(inv, cases, base_policy, current, proposed, candidates, live, by_bucket)
        if cases
        else {"replayed": 0, "unavailable": why_not or "no benchmark cases"}
    )
    notes = [note for mode, note in MODE_NOTES.items() if mode in (proposed.mode, current.mode)]
    if notes:
        body["note"] = "; ".join(notes)
    body["proposed_posture"] = proposed.to_dict()
    body["source"] = "recent stored requests"
    return body
