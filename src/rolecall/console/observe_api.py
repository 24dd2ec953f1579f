"""Observe: the request ledger, slice analytics and request detail.

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
from rolecall.console.outcomes import outcome_view
from rolecall.console.slices import (
    add_histograms,
    approx_quantile,
    coarse_quantile,
    combine,
    exact_quantiles,
    groups,
    in_threads,
    merge_fine,
    series_axis,
    use_rollup,
)
from rolecall.gateway.context import services_of
from rolecall.gateway.wire import WireError, int_param
from rolecall.storage.analytics import DIMENSIONS, FactFilter, SqlAnalytics

MAX_GROUPS: Final = 50  # breakdown rows shown; more groups make the chart "truncated"
QUANTILES: Final = (0.5, 0.95)


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

    Series, split and totals all come from one bucket × endpoint grouping, quantiles (overall and
    per bucket) from one per-bucket latency histogram; the breakdown needs its own grouping only
    when it is not by endpoint. Windows of 6 hours and more read the 5-minute rollup for their
    whole buckets (quantiles then come from its coarse histogram and are marked approximate).
    """
    start, width, buckets = series_axis(now, span_ms, SERIES_BUCKETS)
    rollup = use_rollup(span_ms)
    cells, grouped, overall, per_bucket = await _read(
        storage, slice_, span_ms, (start, width), group_by
    )
    totals = combine(cells)
    totals["latency_p50_ms"], totals["latency_p95_ms"] = overall[0.5], overall[0.95]
    breakdown = combine(grouped if grouped is not None else cells, group_by)
    return {
        "query": {**applied_filters(slice_), "group_by": group_by},
        "start_ms": start,
        "bucket_ms": width,
        "buckets": buckets,
        "source": "rollup (5-minute sums) and request facts" if rollup else "request facts",
        "quantiles_approximate": rollup,
        "rows": {"matched": totals["requests"], "aggregated": totals["requests"]},
        "totals": totals,
        "series": _series(cells, per_bucket, start, width),
        "split": [
            {
                "t": start + c["bucket"] * width,
                "endpoint_id": c["endpoint"],
                "requests": c["requests"],
            }
            for c in cells
            if c["requests"]
        ],
        **_breakdown(group_by, breakdown),
        "partial": {"cost": 0 < totals["costed"] < totals["executed"]},
        "unsupported": {"cost": totals["executed"] > 0 and totals["costed"] == 0},
    }


def _breakdown(group_by: str, grouped: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    """The largest `MAX_GROUPS` groups (by requests, then decisions), and whether that is all."""
    rows = [{"value": value, **sums} for value, sums in grouped.items()]
    rows.sort(key=lambda r: (-r["requests"], -r["decisions"], str(r["value"])))
    return {
        "breakdown": {"dimension": group_by, "rows": rows[:MAX_GROUPS], "groups": len(rows)},
        "truncated": len(rows) > MAX_GROUPS,
    }


Quantiles = dict[float, float | None]


async def _read(
    storage: SqlAnalytics, slice_: FactFilter, span_ms: int, axis: tuple[int, int], group_by: str
) -> tuple[list[dict[str, Any]], Any, Quantiles, dict[int, Quantiles]]:
    """The slice's bucket × endpoint sums, its ``group_by`` sums (None when by endpoint: the
    same rows), and its latency quantiles overall and per bucket; the reads run concurrently."""
    rollup = use_rollup(span_ms)
    calls: list[Callable[[], Any]] = [
        lambda: groups(storage, slice_, ["endpoint"], span_ms, bucket=axis),
        (lambda: groups(storage, slice_, [], span_ms, bucket=axis, histogram=True))
        if rollup
        else (lambda: storage.fact_histogram(slice_, bucket=axis)),
    ]
    if group_by != "endpoint":
        calls.append(lambda: groups(storage, slice_, [group_by], span_ms))
    cells, histograms, *grouped = await in_threads(*calls)
    if rollup:
        overall, per_bucket = _coarse_quantiles(histograms)
    else:
        overall, per_bucket = await asyncio.to_thread(_fine_quantiles, storage, slice_, histograms)
    return cells, grouped[0] if grouped else None, overall, per_bucket


def _coarse_quantiles(rows: list[dict[str, Any]]) -> tuple[Quantiles, dict[int, Quantiles]]:
    """p50/p95 overall and per bucket from the rollup's coarse histograms (± a few %)."""
    by_bucket: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_bucket.setdefault(row["bucket"], []).append(row)
    per_bucket = {
        b: {q: coarse_quantile(add_histograms(r), q) for q in QUANTILES}
        for b, r in by_bucket.items()
    }
    overall = add_histograms(rows)
    return {q: coarse_quantile(overall, q) for q in QUANTILES}, per_bucket


def _fine_quantiles(
    storage: SqlAnalytics, slice_: FactFilter, histograms: dict[int, list[tuple[int, int]]]
) -> tuple[Quantiles, dict[int, Quantiles]]:
    """Exact p50/p95 overall (two small queries) and per bucket approximately (±3%)."""
    per_bucket = {b: {q: approx_quantile(h, q) for q in QUANTILES} for b, h in histograms.items()}
    overall = exact_quantiles(storage, slice_, QUANTILES, merge_fine(histograms.values()))
    return overall, per_bucket


def _series(
    cells: list[dict[str, Any]], quantiles: dict[int, Quantiles], start: int, width: int
) -> list[dict[str, Any]]:
    """One point per bucket with traffic: its sums, rates and latency quantiles."""
    points = []
    for b, sums in sorted(combine(cells, "bucket").items()):
        q = quantiles.get(b, {})
        points.append(
            {
                "t": start + b * width,
                **sums,
                "latency_p50_ms": q.get(0.5),
                "latency_p95_ms": q.get(0.95),
            }
        )
    return points


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
    """Usage, spans (the waterfall), events, the fact row, the decision, the outcome and the
    feedback of one request."""
    services = services_of(request)
    await flush(services)
    # by the record's id or the client's own x-request-id
    request_id, usage = services.storage.usage.lookup(request.path_params["request_id"])
    if not usage:
        raise not_found("request", request_id)
    decision = services.storage.decisions.get(usage[0]["routing_decision_id"])
    facts = services.storage.analytics.fact_for(request_id)
    spans = services.storage.traces.spans_for(request_id)
    body = {
        "request_id": request_id,
        "usage": usage,
        "spans": spans,
        "events": services.storage.traces.events_for(request_id),
        "decision": decision,
        "facts": facts,
        "outcome": outcome_view(facts, usage[0], decision, spans),
        "identity": services.storage.usage.identity_for(request_id),
        "feedback": [r.to_json() for r in services.storage.feedback.for_request(request_id)],
    }
    return reply(body)
