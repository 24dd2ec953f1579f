"""The admin API of drift alarms: ``GET /api/alarms`` and ``DELETE /api/alarms/{endpoint_id}``.

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

__all__ = ["OPERATIONS", "ROUTES"]


async def list_alarms(request: Request) -> Response:
    """Open drift alarms by endpoint, and the recently cleared ones."""
    alarms = await asyncio.to_thread(services_of(request).drift.alarms)
    return json_response(orjson.dumps(alarms))


async def clear_alarm(request: Request) -> Response:
    """Close an endpoint's open alarm: it is no longer demoted."""
    endpoint_id = request.path_params["endpoint_id"]
    drift = services_of(request).drift
    cleared = await asyncio.to_thread(drift.clear, endpoint_id, "cleared by an operator")
    if not cleared:
        raise WireError(
            404,
            f"no open drift alarm on endpoint {endpoint_id!r}",
            code="not_found",
            kind="not_found_error",
        )
    return json_response(orjson.dumps({"cleared": True}))


ROUTES: Final = [
    ("/api/alarms", list_alarms, ["GET"]),
    ("/api/alarms/{endpoint_id}", clear_alarm, ["DELETE"]),
]

ALARM: Final = obj("endpoint_id", "metric", "opened_ms", "summary", "evidence", "action")
OPERATIONS: Final = [
    Operation(
        "get",
        "/api/alarms",
        "Open quality-drift alarms by endpoint (each demotes its endpoint) and recently cleared "
        "ones",
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
        "/api/alarms/{endpoint_id}",
        "Clear an endpoint's open drift alarm (it is demoted no longer)",
        "admin_token",
        obj("cleared", cleared={"type": "boolean"}),
        errors=(404,),
    ),
]
