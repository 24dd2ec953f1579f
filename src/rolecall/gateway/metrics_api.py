"""``GET /metrics``: Prometheus metrics in the text exposition format (docs/operate.md).

Mounted unless ``ROLECALL_METRICS`` is off. Open like ``/healthz`` unless ``ROLECALL_METRICS_TOKEN``
is set; then the scraper sends it as a bearer token (a wrong one counts as a failed check from
its address, like a wrong key). Rendering reads every worker's files in multiprocess mode, so it
runs off the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from rolecall.gateway.auth import KeyChecker, bearer, same_secret
from rolecall.gateway.context import services_of
from rolecall.gateway.openapi import Operation
from rolecall.telemetry.prometheus import CONTENT_TYPE

__all__ = ["OPERATIONS", "PATH", "metrics"]

PATH: Final = "/metrics"


async def metrics(request: Request) -> Response:
    services = services_of(request)
    token = services.settings.metrics_token
    if token is not None and not same_secret(bearer(request.headers.get("authorization")), token):
        keys: KeyChecker = request.app.state.keys
        keys.refuse(
            request.client.host if request.client is not None else "",
            "metrics token required: send 'Authorization: Bearer <ROLECALL_METRICS_TOKEN>'",
            "invalid_metrics_token",
        )
    exported = services.metrics
    assert exported is not None  # mounted only when metrics are on
    body = await asyncio.to_thread(exported.exposition)
    return Response(body, media_type=CONTENT_TYPE)


OPERATIONS: Final = [
    Operation(
        "get",
        PATH,
        "Prometheus metrics of the whole gateway (every worker), text exposition format; a "
        "bearer token only when ROLECALL_METRICS_TOKEN is set",
        "none",
        {"type": "string"},
        media="text/plain",
        errors=(401, 429),
    )
]
