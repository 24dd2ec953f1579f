"""The operator console: static pages served from the package at ``/`` and their JSON APIs.

`console_routes` is what the composition root mounts beside the gateway's routes. The pages
(``static/``: HTML, CSS and vanilla JS modules, no build step, no CDN) call the admin API with
the admin token the operator types in, kept in ``sessionStorage`` only. The APIs live under
``/api/console/*`` and ``/api/lab/*`` behind the gateway's admin-token guard; the page shell itself
holds no data and is served openly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from rolecall.console import (
    models_api,
    observe_api,
    router_api,
    routing_analytics,
    system_api,
    tail,
)
from rolecall.console.api_spec import OPERATIONS
from rolecall.console.common import Guard

__all__ = ["OPERATIONS", "STATIC_DIR", "console_routes"]

STATIC_DIR: Final = Path(__file__).parent / "static"
# everything the page loads comes from this origin; no inline script, no third-party anything
SECURITY_HEADERS: Final = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}

API: Final = [
    ("/api/console/models", models_api.models, ["GET"]),
    ("/api/console/bindings", models_api.bindings, ["GET"]),
    ("/api/console/bindings", models_api.set_binding, ["PUT"]),
    ("/api/console/discover", models_api.discover_endpoints, ["POST"]),
    ("/api/console/endpoints", models_api.add_endpoints, ["POST"]),
    ("/api/console/posture", router_api.posture, ["GET"]),
    ("/api/console/posture", router_api.save_posture, ["PUT"]),
    ("/api/console/posture/preview", router_api.preview, ["POST"]),
    ("/api/console/candidates", router_api.candidates, ["GET"]),
    ("/api/console/decisions", router_api.decisions, ["GET"]),
    ("/api/console/decisions/{decision_id}", router_api.decision_detail, ["GET"]),
    ("/api/console/prompt", router_api.prompt, ["POST"]),
    ("/api/console/requests", observe_api.ledger, ["GET"]),
    ("/api/console/requests/stream", tail.stream, ["GET"]),  # before the {request_id} route
    ("/api/console/requests/{request_id}", observe_api.request_detail, ["GET"]),
    ("/api/console/analytics", observe_api.analytics, ["GET"]),
    ("/api/console/routing", routing_analytics.routing, ["GET"]),
    ("/api/console/agreement", routing_analytics.agreement, ["GET"]),
    ("/api/console/system", system_api.system, ["GET"]),
    ("/api/lab/results", system_api.lab_results, ["GET"]),
    ("/api/lab/retrain", system_api.lab_retrain, ["POST"]),
    ("/api/lab/plots/{name}", system_api.lab_plot, ["GET"]),
]


async def index(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", headers=SECURITY_HEADERS)


def console_routes(guard: Guard) -> list[BaseRoute]:
    """The console's routes; ``guard`` is the gateway's admin-token wrapper."""
    api: list[BaseRoute] = [Route(path, guard(fn), methods=m) for path, fn, m in API]
    return [
        *api,
        Route("/", index),
        Mount("/ui", app=StaticFiles(directory=STATIC_DIR), name="console-static"),
    ]
