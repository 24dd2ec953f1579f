"""Observe: the request ledger, slice analytics, request detail and routing analytics.

Charts aggregate the whole slice in SQL (`rolecall.storage.analytics`); the ledger paginates.
Each analytics answer carries the applied query, row counts and what is partial or truncated, so
the page can show an explicit chart state instead of a misleading picture.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from rolecall.console.common import (
    SERIES_BUCKETS,
    applied_filters,
    fact_filter,
    flush,
    not_found,
    now_ms,
    reply,
    window_ms,
)
from rolecall.console.slices import (
    add_histograms,
    coarse_quantile,
    combine,
    exact_quantiles,
    in_threads,
    series_axis,
    use_rollup,
)
from rolecall.gateway.context import services_of
from rolecall.gateway.wire import WireError, int_param
from rolecall.storage.analytics import DIMENSIONS, FactFilter, SqlAnalytics

MAX_GROUPS: Final = 50  # breakdown rows shown; more groups make the chart "truncated"


async def ledger(request: Request) -> Response:
    services = services_of(request)
    await flush(services)
    _, span = window_ms(request, "30d")
    slice_ = fact_filter(request, since_ms=now_ms() - span)
    limit = int_param(request, "limit", 50, 500)
    offset = int_param(request, "offset", 0, 10_000_000)
    rows, total = await asyncio.to_thread(
        services.storage.analytics.fact_page, slice_, limit=limit, offset=offset
    )
    return reply({"query": applied_filters(slice_), "data": rows, "total": total})


async def slice_analytics(
    storage: SqlAnalytics, slice_: FactFilter, *, now: int, span_ms: int, group_by: str
) -> dict[str, Any]:
    """Totals, latency quantiles, a time series, the routing split and one breakdown of a slice.

    Series, split and totals all come from one bucket × endpoint grouping; the breakdown needs its
    own only when it is not by endpoint. Windows of 6 hours and more read the 5-minute rollup
    (quantiles then come from its coarse histogram and are marked approximate).
    """
    start, width, buckets = series_axis(now, span_ms, SERIES_BUCKETS)
    rollup = use_rollup(span_ms)
    if rollup:
        # the histogram is summed apart: carrying 64 bins through the grouping costs more
        calls: list[Callable[[], Any]] = [
            lambda: storage.rollup_groups(slice_, ["endpoint"], bucket=(start, width)),
            lambda: storage.rollup_groups(slice_, [], histogram=True),
        ]
        if group_by != "endpoint":
            calls.append(lambda: storage.rollup_groups(slice_, [group_by]))
        cells, overall, *grouped = await in_threads(*calls)
        histogram = add_histograms(overall)
        quantiles = {q: coarse_quantile(histogram, q) for q in (0.5, 0.95)}
    else:
        calls = [
            lambda: storage.fact_groups(slice_, ["endpoint"], bucket=(start, width)),
            lambda: exact_quantiles(storage, slice_, (0.5, 0.95)),
        ]
        if group_by != "endpoint":
            calls.append(lambda: storage.fact_groups(slice_, [group_by]))
        cells, quantiles, *grouped = await in_threads(*calls)
    totals = combine(cells)
    totals["latency_p50_ms"], totals["latency_p95_ms"] = quantiles[0.5], quantiles[0.95]
    series = [{"t": start + b * width, **v} for b, v in sorted(combine(cells, "bucket").items())]
    split = [
        {"t": start + c["bucket"] * width, "endpoint_id": c["endpoint"], "requests": c["requests"]}
        for c in cells
    ]
    rows = [
        {"value": value, **sums}
        for value, sums in combine(grouped[0] if grouped else cells, group_by).items()
    ]
    rows.sort(key=lambda r: (-r["requests"], str(r["value"])))
    return {
        "query": {**applied_filters(slice_), "group_by": group_by},
        "start_ms": start,
        "bucket_ms": width,
        "buckets": buckets,
        "source": "rollup (5-minute sums)" if rollup else "request facts",
        "quantiles_approximate": rollup,
        "rows": {"matched": totals["requests"], "aggregated": totals["requests"]},
        "totals": totals,
        "series": series,
        "split": split,
        "breakdown": {"dimension": group_by, "rows": rows[:MAX_GROUPS], "groups": len(rows)},
        "truncated": len(rows) > MAX_GROUPS,
        "partial": {"cost": 0 < totals["costed"] < totals["requests"]},
        "unsupported": {"cost": totals["requests"] > 0 and totals["costed"] == 0},
    }


async def analytics(request: Request) -> Response:
    services = services_of(request)
    await flush(services)
    name, span = window_ms(request)
    group_by = request.query_params.get("group_by") or "endpoint"
    if group_by not in DIMENSIONS:
        raise WireError(400, f"'group_by' must be one of {', '.join(DIMENSIONS)}", param="group_by")
    now = now_ms()
    slice_ = fact_filter(request, since_ms=now - span)
    body = await slice_analytics(
        services.storage.analytics, slice_, now=now, span_ms=span, group_by=group_by
    )
    body["window"] = name
    return reply(body)


async def request_detail(request: Request) -> Response:
    """Usage, spans (the waterfall), events, the fact row and the decision of one request."""
    services = services_of(request)
    await flush(services)
    # by the record's id or the client's own x-request-id
    request_id, usage = services.storage.usage.lookup(request.path_params["request_id"])
    if not usage:
        raise not_found("request")
    decision = services.storage.decisions.get(usage[0]["routing_decision_id"])
    body = {
        "request_id": request_id,
        "usage": usage,
        "spans": services.storage.traces.spans_for(request_id),
        "events": services.storage.traces.events_for(request_id),
        "decision": decision,
        "facts": services.storage.analytics.fact_for(request_id),
        "identity": services.storage.usage.identity_for(request_id),
    }
    return reply(body)
