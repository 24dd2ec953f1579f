"""The admin API of drift alarms: ``GET /api/alarms``, ``DELETE /api/alarms/{endpoint_id}`` (the
endpoint's demoting alarm) and ``DELETE /api/alarms/{endpoint_id}/{metric}`` (a warning).

Thin handlers over `rolecall.judging.drift_watch.DriftWatch`, whose reads and writes of the
shared alarms document run on a worker thread.
"""

from __future__ import annotations

import asyncio
from typing import Final

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rolecall.gateway.context import services_of
from rolecall.gateway.openapi import Operation, array, obj
from rolecall.gateway.responses import json_response
from rolecall.gateway.wire import WireError
from rolecall.judging.drift_watch import alarm_key
from rolecall.judging.service_drift import METRICS as WARNING_METRICS

__all__ = ["OPERATIONS", "ROUTES"]


async def list_alarms(request: Request) -> Response:
    """Open drift alarms by key (`alarm_key`), and the recently cleared ones."""
    alarms = await asyncio.to_thread(services_of(request).drift.alarms)
    return json_response(orjson.dumps(alarms))


async def clear_alarm(request: Request) -> Response:
    """Close an endpoint's open alarm: its demoting one, or the one on a warning metric.

    One route for both (``{target:path}``): endpoint ids may hold ``/`` (a model named
    ``org/model``), so the last segment is a metric only when it names a warning metric."""
    target = request.path_params["target"]
    endpoint_id, _, last = target.rpartition("/")
    metric = last if endpoint_id and last in WARNING_METRICS else None
    if metric is None:
        endpoint_id = target
    key = endpoint_id if metric is None else alarm_key(endpoint_id, metric)
    drift = services_of(request).drift
    cleared = await asyncio.to_thread(drift.clear, key, "cleared by an operator")
    if not cleared:
        what = "demoting drift alarm" if metric is None else f"{metric!r} drift alarm"
        raise WireError(
            404,
            f"no open {what} on endpoint {endpoint_id!r}; GET /api/alarms lists the open ones",
            code="not_found",
            kind="not_found_error",
        )
    return json_response(orjson.dumps({"cleared": True}))


ROUTES: Final = [
    ("/api/alarms", list_alarms, ["GET"]),
    ("/api/alarms/{target:path}", clear_alarm, ["DELETE"]),
]

ALARM: Final = obj(
    "endpoint_id",
    "metric",
    "opened_ms",
    "summary",
    "evidence",
    "action",
    demotes={"type": "boolean"},
)
OPERATIONS: Final = [
    Operation(
        "get",
        "/api/alarms",
        "Open drift alarms (quality and canary alarms, kept under their endpoint, demote it; "
        "failure_rate and throughput alarms, kept under endpoint/metric, only warn) and "
        "recently cleared ones",
        "admin_token",
        obj(
            "open",
            "cleared",
            open={"type": "object", "additionalProperties": ALARM},
            cleared=array(ALARM),
        ),
    ),
    Operation(
        "delete",
        "/api/alarms/{target}",
        "Clear an open drift alarm: target is an endpoint id (its demoting alarm) or "
        "endpoint_id/metric (its failure_rate or throughput warning); ids may hold '/'",
        "admin_token",
        obj("cleared", cleared={"type": "boolean"}),
        errors=(404,),
    ),
]
