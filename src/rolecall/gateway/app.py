"""The ASGI application: routes, auth guards, and OpenAI-style errors for every failure.

Routes are thin: each parses, calls one use case, renders. Auth: ``/v1/*`` takes a gateway API key
(``Authorization: Bearer rc-...``), ``/api/*`` the admin token; ``/healthz`` is open. Chat
completions, the proxied hot path, are served on raw ASGI (`rolecall.gateway.chat_asgi`); every
other route by Starlette.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from rolecall.gateway import admin, bench_api, models
from rolecall.gateway.auth import KeyChecker, bearer, same_secret
from rolecall.gateway.chat_asgi import GatewayApp
from rolecall.gateway.context import services_of
from rolecall.gateway.failed_auth import FailedAuthLimiter
from rolecall.gateway.responses import json_response
from rolecall.gateway.wire import WireError, error_body
from rolecall.services import Services

log = logging.getLogger("rolecall.gateway")
Handler = Callable[[Request], Awaitable[Response]]
Guard = Callable[[Handler], Handler]
# more routes served by the same app behind the same guards (the console): given the admin-token
# guard, they return their routes; mounted last, so they may serve '/'
ExtraRoutes = Callable[[Guard], list[BaseRoute]]


def gateway_key(handler: Handler) -> Handler:
    async def guarded(request: Request) -> Response:
        services = services_of(request)
        request.state.app_id = "default"
        if services.settings.require_api_key:
            keys: KeyChecker = request.app.state.keys
            keys.check(request.headers.get("authorization"), _client(request))
        return await handler(request)

    return guarded


def admin_token(handler: Handler) -> Handler:
    async def guarded(request: Request) -> Response:
        expected = services_of(request).admin_token
        if not same_secret(bearer(request.headers.get("authorization")), expected):
            keys: KeyChecker = request.app.state.keys
            keys.refuse(
                _client(request),
                "admin token required: send 'Authorization: Bearer <admin token>'",
                "invalid_admin_token",
            )
        return await handler(request)

    return guarded


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else ""


async def healthz(request: Request) -> Response:
    body = {"status": "ok", "endpoints": len(services_of(request).routing.inventory.endpoints)}
    return json_response(orjson.dumps(body))


async def _wire_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WireError)
    return json_response(exc.body(), exc.status, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
    return json_response(error_body(str(exc.detail), kind), exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # message and traceback to the log (never the request body); nothing of it on the wire
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return json_response(error_body("internal error; see the rolecall log", "server_error"), 500)


def create_app(services: Services, extra_routes: ExtraRoutes | None = None) -> GatewayApp:
    """The gateway over ``services``; ``extra_routes`` (the console) are mounted last."""

    settings = services.settings
    limiter = FailedAuthLimiter(settings.auth_failure_limit, settings.auth_failure_window_s)
    keys = KeyChecker(services.storage.keys, limiter)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        keys.start()
        await services.start()
        yield
        keys.stop()
        await services.stop()

    routes = [
        Route("/healthz", healthz),
        Route("/v1/models", gateway_key(models.list_models)),
        Route("/v1/rolecall/discovery", gateway_key(models.discovery)),
        *[Route(path, admin_token(fn), methods=methods) for path, fn, methods in admin.ROUTES],
        *[Route(path, admin_token(fn), methods=methods) for path, fn, methods in bench_api.routes],
        *(extra_routes(admin_token) if extra_routes is not None else []),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            WireError: _wire_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    app.state.services = services
    app.state.keys = keys
    return GatewayApp(services, keys, app)
