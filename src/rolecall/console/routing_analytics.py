"""Observe → Routing: volume, fallbacks, cost avoided, and the Router-vs-Observe comparison.

"Cost avoided" compares what the slice's successful requests cost with what the same tokens would
have cost on the quality leader (the endpoint with the best measured quality, else the priciest
one, since price is the usual proxy an operator would otherwise pay for). The Router-vs-Observe
panel puts each endpoint's profile used for routing beside the live slice and flags disagreement
(docs/protocol.md §Operator workflow: investigate before tuning).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from rolecall.console.common import (
    applied_filters,
    fact_filter,
    flush,
    now_ms,
    reply,
    window_ms,
)
from rolecall.console.slices import (
    add_histograms,
    approx_quantile,
    coarse_quantile,
    combine,
    empty_sums,
    finish,
    groups,
    in_threads,
    use_rollup,
)
from rolecall.gateway.context import services_of
from rolecall.inventory.inventory import Endpoint
from rolecall.protocol import ObservedPerformanceProfile
from rolecall.services import Services
from rolecall.storage.analytics import FactFilter, SqlAnalytics

MIN_LIVE_REQUESTS: Final = 5  # fewer live requests than this say nothing about disagreement
LATENCY_RATIO: Final = 2.0  # live p50 this many times off the routing p50 is a disagreement
FAILURE_GAP: Final = 0.2  # absolute failure-rate gap that is a disagreement


def quality_of(profile: ObservedPerformanceProfile | None) -> float | None:
    if profile is None:
        return None
    return profile.judge_score if profile.judge_score is not None else profile.quality_score


def quality_leader(services: Services) -> tuple[Endpoint | None, str]:
    """The endpoint a "always use the best" operator would pick, and why it was picked."""
    endpoints = [e for e in services.routing.inventory.endpoints.values() if e.enabled]
    measured = [
        (q, e.endpoint_id, e)
        for e in endpoints
        if (q := quality_of(services.routing.profiles.get(e.endpoint_id))) is not None
    ]
    if measured:
        return max(measured, key=lambda t: (t[0], t[1]))[2], "highest measured quality"
    priced = [(e.cost_per_1k_tokens, e.endpoint_id, e) for e in endpoints if e.cost_per_1k_tokens]
    if priced:
        return max(priced, key=lambda t: (t[0] or 0.0, t[1]))[2], "no measured quality: priciest"
    return None, "no measured quality and no prices"


def cost_avoided(services: Services, totals: Mapping[str, Any]) -> dict[str, Any]:
    """What served requests cost (``totals`` of a served slice), against their tokens priced on
    the leader."""
    leader, why = quality_leader(services)
    out: dict[str, Any] = {
        "leader": leader.endpoint_id if leader else None,
        "leader_reason": why,
        "requests": totals["requests"],
        "actual_usd": totals["cost_usd"],
        "leader_usd": None,
        "avoided_usd": None,
    }
    if leader is None:
        return out
    leader_cost = leader.request_cost(totals["tokens_in"], totals["tokens_out"])
    if leader_cost is not None:
        out["leader_usd"] = leader_cost
        out["avoided_usd"] = leader_cost - totals["cost_usd"]
    return out


def _ranked(grouped: Mapping[Any, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [{"value": value, **sums} for value, sums in grouped.items()]
    return sorted(rows, key=lambda r: (-r["requests"], str(r["value"])))


async def routing(request: Request) -> Response:
    services = services_of(request)
    await flush(services)
    name, span = window_ms(request)
    slice_ = fact_filter(request, since_ms=now_ms() - span)
    storage = services.storage.analytics
    by_endpoint, by_strategy, succeeded = await in_threads(
        lambda: groups(storage, slice_, ["endpoint"], span),
        lambda: groups(storage, slice_, ["strategy"], span),
        lambda: groups(storage, slice_.with_equals(outcome="served"), [], span),
    )
    totals = combine(by_endpoint)
    volume = _ranked(combine(by_endpoint, "endpoint"))
    body = {
        "query": applied_filters(slice_),
        "window": name,
        "totals": totals,
        "volume": volume,
        "groups": len(volume),
        "strategies": _ranked(combine(by_strategy, "strategy")),
        "cost_avoided": cost_avoided(services, combine(succeeded)),
    }
    return reply(body)


def _flags(profile: Mapping[str, Any] | None, live: Mapping[str, Any]) -> list[str]:
    """What to check about one endpoint. Live figures are of requests that ran on it (refused
    ones ran nowhere, decision-only calls are not traffic)."""
    flags = []
    n = live["executed"]
    if profile is None:
        flags.append("routing uses declared data only: no observed profile")
    if n < MIN_LIVE_REQUESTS:
        flags.append(f"only {n} live requests in the window: too few to compare")
        return flags
    if profile is None:
        return flags
    p50, live_p50 = profile.get("latency_ms_p50"), live.get("latency_p50_ms")
    if p50 and live_p50 and not (1 / LATENCY_RATIO <= live_p50 / p50 <= LATENCY_RATIO):
        flags.append(f"latency disagrees: routing p50 {p50:.0f} ms, live p50 {live_p50:.0f} ms")
    failure = profile.get("failure_rate")
    live_failure = live["failure_rate"]
    if failure is not None and abs(live_failure - failure) > FAILURE_GAP:
        flags.append(f"failure rate disagrees: routing {failure:.0%}, live {live_failure:.0%}")
    if live["fallbacks"]:
        flags.append(f"{live['fallbacks']} requests ran here as a fallback")
    return flags


def _verdict(profile: Mapping[str, Any] | None, live: Mapping[str, Any], flags: list[str]) -> str:
    """``disagrees`` when a measured number is off, ``insufficient`` when there is too little to
    compare, else ``agrees``."""
    if any("disagrees:" in f for f in flags):
        return "disagrees"
    if profile is None or live["executed"] < MIN_LIVE_REQUESTS:
        return "insufficient"
    return "agrees"


def _profile_view(profile: ObservedPerformanceProfile | None) -> dict[str, Any] | None:
    if profile is None:
        return None
    return {
        "quality": quality_of(profile),
        "latency_ms_p50": profile.latency_ms_p50,
        "latency_ms_p95": profile.latency_ms_p95,
        "failure_rate": profile.failure_rate,
        "sample_size": profile.sample_size,
        "freshness_score": profile.freshness_score,
        "confidence_score": profile.confidence_score,
        "measured_at_ms": profile.measured_at_ms,
    }


async def _live_by_endpoint(
    storage: SqlAnalytics, live_slice: FactFilter, span: int
) -> tuple[list[dict[str, Any]], dict[str, float | None]]:
    """Live sums per endpoint and their p50 latency (approximate: a per-group estimate)."""
    if use_rollup(span):
        rows = await asyncio.to_thread(
            groups, storage, live_slice, ["endpoint"], span, histogram=True
        )
        coarse: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            coarse.setdefault(row["endpoint"], []).append(row)
        return rows, {e: coarse_quantile(add_histograms(h), 0.5) for e, h in coarse.items()}
    rows, fine = await in_threads(
        lambda: storage.fact_groups(live_slice, ["endpoint"]),
        lambda: storage.fact_histogram(live_slice, "endpoint"),
    )
    return rows, {e: approx_quantile(h, 0.5) for e, h in fine.items()}


async def agreement(request: Request) -> Response:
    """Per endpoint: the routing profile beside live traffic in the slice, with flags."""
    services = services_of(request)
    await flush(services)
    name, span = window_ms(request)
    base = fact_filter(request, since_ms=now_ms() - span)
    live_slice = base.with_equals(source="live_request")
    rows, p50 = await _live_by_endpoint(services.storage.analytics, live_slice, span)
    per_endpoint = combine(rows, "endpoint")
    out = []
    for endpoint_id in services.routing.inventory.endpoints:
        live = per_endpoint.get(endpoint_id) or finish(empty_sums())
        live["latency_p50_ms"] = p50.get(endpoint_id)
        live["failure_rate"] = live["failed"] / live["executed"] if live["executed"] else None
        profile = _profile_view(services.routing.profiles.get(endpoint_id))
        flags = _flags(profile, live)
        out.append(
            {
                "endpoint_id": endpoint_id,
                "routing": profile,
                "live": live,
                "flags": flags,
                "verdict": _verdict(profile, live, flags),
            }
        )
    return reply({"query": applied_filters(base), "window": name, "endpoints": out})
