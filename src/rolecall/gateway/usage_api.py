"""``GET /api/usage`` (admin token): spend, tokens and requests per key, team, user or tag over
time, from the hourly usage rollup (`rolecall.storage.usage_rollup`).

Query: ``group_by`` (``key``, ``team``, ``user``, ``tag``; default ``key``), ``bucket`` (``hour``
or ``day``, UTC; default ``day``), ``since`` and ``until`` (epoch milliseconds or an ISO 8601
date or time, UTC unless it says otherwise; default: the last 30 days, or 24 hours with hourly
buckets; edges widen to whole hours), ``value`` (one group only) and ``limit`` (groups, most
spent first; default 50). A bad value is a 400 naming the parameter.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rolecall.gateway.context import services_of
from rolecall.gateway.openapi import Operation, array, obj, query
from rolecall.gateway.responses import json_response
from rolecall.gateway.wire import WireError, int_param, shown
from rolecall.storage.keys import ApiKeyRecord
from rolecall.storage.sql_analytics_tables import USAGE_DIMENSIONS
from rolecall.storage.usage_rollup import USAGE_SUMS, UsageSlice

__all__ = ["OPERATIONS", "ROUTES"]

HOUR_MS: Final = 3_600_000
BUCKETS: Final = {"hour": HOUR_MS, "day": 24 * HOUR_MS}
DEFAULT_SPAN_MS: Final = {"hour": 24 * HOUR_MS, "day": 30 * 24 * HOUR_MS}
MAX_BUCKETS: Final = 1000  # points per group in one answer


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _choice(request: Request, name: str, allowed: Any, default: str) -> str:
    value = request.query_params.get(name) or default
    if value not in allowed:
        choices = ", ".join(allowed)
        raise WireError(400, f"'{name}' must be one of {choices}, got {shown(value)}", param=name)
    return value


def time_param(request: Request, name: str, default: int) -> int:
    """A time in epoch milliseconds, from digits or an ISO 8601 date or time (UTC unless it
    carries an offset)."""
    raw = (request.query_params.get(name) or "").strip()
    if not raw:
        return default
    if raw.isascii() and raw.isdigit() and len(raw) <= 15:
        return int(raw)
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise WireError(
            400,
            f"'{name}' must be epoch milliseconds or an ISO 8601 date or time like "
            f"2026-12-01 or 2026-12-01T09:00:00Z, got {shown(raw)}",
            param=name,
        ) from None
    when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return max(0, int(when.timestamp() * 1000))


def _window(request: Request, bucket: str) -> tuple[int, int]:
    until = time_param(request, "until", _now_ms())
    since = time_param(request, "since", max(0, until - DEFAULT_SPAN_MS[bucket]))
    if since >= until:
        raise WireError(400, "'since' must be before 'until'", param="since")
    if (until - since) // BUCKETS[bucket] > MAX_BUCKETS:
        raise WireError(
            400,
            f"'since' to 'until' spans more than {MAX_BUCKETS} {bucket}s: narrow the window"
            + (" or use bucket=day" if bucket == "hour" else ""),
            param="since",
        )
    return since, until


def _key_view(record: ApiKeyRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    revoked = record.revoked_ms is not None
    return {"name": record.name, "team": record.team, "prefix": record.prefix, "revoked": revoked}


async def usage(request: Request) -> Response:
    services = services_of(request)
    group_by = _choice(request, "group_by", USAGE_DIMENSIONS, "key")
    bucket = _choice(request, "bucket", BUCKETS, "day")
    since, until = _window(request, bucket)
    limit = int_param(request, "limit", 50, 500)
    value = request.query_params.get("value") or None
    await services.recorder.flushed()  # the requests just answered count
    rollup = services.storage.usage_rollup
    slice_ = UsageSlice(group_by, since, until, value)
    groups = rollup.totals(slice_, limit=limit)
    series = rollup.series(slice_, [g["value"] for g in groups], BUCKETS[bucket])
    for group in groups:
        group["series"] = [
            {k: v for k, v in point.items() if k != "value"}
            for point in series
            if point["value"] == group["value"]
        ]
    if group_by == "key":
        keys = {k.key_id: k for k in services.storage.keys.all()}
        for group in groups:
            group["key"] = _key_view(keys.get(group["value"]))
    body = {
        "group_by": group_by,
        "bucket": bucket,
        "bucket_ms": BUCKETS[bucket],
        "since_ms": since,
        "until_ms": until,
        # every request in the window once: each has exactly one key
        "totals": rollup.sums(UsageSlice("key", since, until)),
        "groups": groups,
        "truncated": len(groups) < rollup.count(slice_),
    }
    return json_response(orjson.dumps(body))


ROUTES = [("/api/usage", usage, ["GET"])]

_SUMS_SCHEMA: Final = {name: {"type": "number"} for name in USAGE_SUMS}
_GROUP: Final = obj("value", "requests", "cost_usd", "series", **_SUMS_SCHEMA, series=array())
OPERATIONS = [
    Operation(
        "get",
        "/api/usage",
        "Spend, tokens and requests per key, team, user or tag over time",
        "admin_token",
        obj("group_by", "bucket", "totals", "groups", groups=array(_GROUP)),
        params=[
            query("group_by", {"enum": list(USAGE_DIMENSIONS)}, "what to group by"),
            query("bucket", {"enum": list(BUCKETS)}, "series bucket (UTC)"),
            query("since", {"type": "string"}, "epoch ms or ISO 8601"),
            query("until", {"type": "string"}, "epoch ms or ISO 8601"),
            query("value", {"type": "string"}, "one group only"),
            query("limit", {"type": "integer", "minimum": 0, "maximum": 500, "default": 50}),
        ],
        errors=(400,),
    )
]
