"""Observe: the request ledger, slice analytics, request detail and routing analytics.

Charts aggregate the whole slice in SQL (`rolecall.storage.sql_analytics`); the ledger paginates.
Each analytics answer carries the applied query, row counts and what is partial or truncated, so
the page can show an explicit chart state instead of a misleading picture.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from rolecall.console.common import (
    SERIES_BUCKETS,
    applied_filters,
    fact_filter,
    flush,
    int_param,
    not_found,
    now_ms,
    reply,
    runtime_of,
    window_ms,
)
from rolecall.gateway.wire import WireError
from rolecall.storage.sql_analytics import DIMENSIONS, MAX_GROUPS, FactFilter, SqlAnalyticsMixin


async def ledger(request: Request) -> Response:
    runtime = runtime_of(request)
    flush(runtime)
    _, span = window_ms(request, "30d")
    slice_ = fact_filter(request, since_ms=now_ms() - span)
    limit = int_param(request, "limit", 50, 500)
    offset = int_param(request, "offset", 0, 10_000_000)
    rows, total = runtime.storage.fact_page(slice_, limit=limit, offset=offset)
    return reply({"query": applied_filters(slice_), "data": rows, "total": total})


def slice_analytics(
    storage: SqlAnalyticsMixin, slice_: FactFilter, *, start_ms: int, span_ms: int, group_by: str
) -> dict[str, Any]:
    """Totals, quantiles, a time series, the routing split and one breakdown of a slice."""
    bucket_ms = max(1, span_ms // SERIES_BUCKETS)
    totals = storage.fact_totals(slice_)
    quantiles = storage.fact_latency_quantiles(slice_, (0.5, 0.95), count=totals["requests"])
    totals["latency_p50_ms"], totals["latency_p95_ms"] = quantiles[0.5], quantiles[0.95]
    totals["success_rate"] = totals["ok"] / totals["requests"] if totals["requests"] else None
    series = storage.fact_series(slice_, start_ms=start_ms, bucket_ms=bucket_ms)
    for point in series:
        point["t"] = start_ms + int(point.pop("bucket")) * bucket_ms
    split = storage.fact_split_series(slice_, start_ms=start_ms, bucket_ms=bucket_ms)
    rows, groups = storage.fact_breakdown(slice_, group_by, limit=MAX_GROUPS)
    return {
        "query": {**applied_filters(slice_), "group_by": group_by},
        "start_ms": start_ms,
        "bucket_ms": bucket_ms,
        "buckets": SERIES_BUCKETS,
        "rows": {"matched": totals["requests"], "aggregated": totals["requests"]},
        "totals": totals,
        "series": series,
        "split": [
            {"t": start_ms + b * bucket_ms, "endpoint_id": e, "requests": n} for b, e, n in split
        ],
        "breakdown": {"dimension": group_by, "rows": rows, "groups": groups},
        "truncated": groups > MAX_GROUPS,
        "partial": {"cost": 0 < totals["costed"] < totals["requests"]},
        "unsupported": {"cost": totals["requests"] > 0 and totals["costed"] == 0},
    }


async def analytics(request: Request) -> Response:
    runtime = runtime_of(request)
    flush(runtime)
    name, span = window_ms(request)
    group_by = request.query_params.get("group_by") or "endpoint"
    if group_by not in DIMENSIONS:
        raise WireError(400, f"'group_by' must be one of {', '.join(DIMENSIONS)}", param="group_by")
    start = now_ms() - span
    slice_ = fact_filter(request, since_ms=start)
    body = slice_analytics(runtime.storage, slice_, start_ms=start, span_ms=span, group_by=group_by)
    body["window"] = name
    return reply(body)


async def request_detail(request: Request) -> Response:
    """Usage, spans (the waterfall), events, the fact row and the decision of one request."""
    runtime = runtime_of(request)
    flush(runtime)
    request_id = request.path_params["request_id"]
    usage = runtime.storage.usage_for(request_id)
    if not usage:
        raise not_found("request")
    decision = runtime.storage.get_decision(usage[0]["routing_decision_id"])
    body = {
        "request_id": request_id,
        "usage": usage,
        "spans": runtime.storage.spans_for(request_id),
        "events": runtime.storage.events_for(request_id),
        "decision": decision,
        "facts": runtime.storage.fact_for(request_id),
    }
    return reply(body)
