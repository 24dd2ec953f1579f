"""Shared plumbing of the console's JSON handlers: services access, parameters, responses, slices.

Every handler answers JSON through `reply`; bad input raises `WireError` naming the parameter and
what to send instead, which the gateway renders as an OpenAI-style error body.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rolecall.gateway.wire import WireError
from rolecall.services import Services
from rolecall.storage.analytics import DIMENSIONS, OUTCOMES, FactFilter

Handler = Callable[[Request], Awaitable[Response]]
Guard = Callable[[Handler], Handler]

HOUR_MS: Final = 3_600_000
WINDOWS_MS: Final = {
    "15m": 15 * 60_000,
    "1h": HOUR_MS,
    "6h": 6 * HOUR_MS,
    "24h": 24 * HOUR_MS,
    "7d": 7 * 24 * HOUR_MS,
    "30d": 30 * 24 * HOUR_MS,
}
SERIES_BUCKETS: Final = 48


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def reply(body: Any, status: int = 200) -> Response:
    """JSON with no caching: console data is live and admin-only."""
    return Response(
        orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
        status_code=status,
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )


def not_found(what: str, ident: str | None = None) -> WireError:
    named = f" {ident!r}" if ident is not None else ""
    return WireError(404, f"no such {what}{named}", code="not_found", kind="not_found_error")


def window_ms(request: Request, default: str = "24h") -> tuple[str, int]:
    name = request.query_params.get("window") or default
    if name not in WINDOWS_MS:
        raise WireError(
            400,
            f"'window' must be one of {', '.join(WINDOWS_MS)}, got {name!r}",
            param="window",
        )
    return name, WINDOWS_MS[name]


CLOSED_VALUES: Final = {
    "status": ("2xx", "4xx", "5xx"),
    "source": ("live_request", "benchmark"),
    "outcome": OUTCOMES,
}


def fact_filter(request: Request, *, since_ms: int | None) -> FactFilter:
    """The shared Observe filters from the query string (empty values mean "any")."""
    equals = {
        name: value for name in DIMENSIONS if (value := request.query_params.get(name, "").strip())
    }
    for name, allowed in CLOSED_VALUES.items():
        if name in equals and equals[name] not in allowed:
            raise WireError(
                400,
                f"'{name}' must be one of {', '.join(allowed)}, got {equals[name]!r}",
                param=name,
            )
    return FactFilter(since_ms=since_ms, equals=equals)


def applied_filters(slice_: FactFilter) -> dict[str, Any]:
    return {"since_ms": slice_.since_ms, "until_ms": slice_.until_ms, **slice_.equals}


async def flush(services: Services) -> None:
    """Let queued telemetry reach the database first, so pages show the request just sent."""
    await services.recorder.flushed()
