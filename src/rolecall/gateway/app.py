"""The ASGI application: routes, auth guards, and OpenAI-style errors for every failure.

Routes are thin: each parses, calls one use case, renders. Auth: ``/v1/*`` takes a gateway API key
(``Authorization: Bearer rc-...``), ``/api/*`` the admin token; ``/livez``, ``/healthz``,
``/readyz`` (`rolecall.gateway.health`), ``/openapi.json`` and ``/metrics`` (unless
``ROLECALL_METRICS_TOKEN`` is set) are open. Every answer carries ``x-request-id``
(`rolecall.gateway.request_ids`). Chat
completions, the proxied hot path, are served on raw ASGI (`rolecall.gateway.chat_asgi`); every
other route by Starlette.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from rolecall import __version__
from rolecall.cluster.sharing import KEYS
from rolecall.gateway import (
    admin,
    bench_api,
    completions,
    downstream,
    feedback_api,
    messages,
    metrics_api,
    models,
    openapi,
    responses_api,
    responses_spec,
)
from rolecall.gateway.auth import KeyChecker, bearer, same_secret
from rolecall.gateway.chat_asgi import CHAT_DOOR, FrontDoor, GatewayApp
from rolecall.gateway.context import services_of
from rolecall.gateway.embeddings import EMBEDDINGS_DOOR
from rolecall.gateway.failed_auth import FailedAuthLimiter
from rolecall.gateway.health import Readiness, healthz, livez, readyz
from rolecall.gateway.responses import json_response
from rolecall.gateway.wire import WireError, error_body
from rolecall.services import Services

log = logging.getLogger("rolecall.gateway")
Handler = Callable[[Request], Awaitable[Response]]
Guard = Callable[[Handler], Handler]
# more routes served by the same app behind the same guards (the console): given the admin-token
# guard, they return their routes; mounted last, so they may serve '/'
ExtraRoutes = Callable[[Guard], list[BaseRoute]]
# the proxied POST routes, served on raw ASGI (`rolecall.gateway.chat_asgi`)
DOORS: tuple[FrontDoor, ...] = (
    CHAT_DOOR,
    responses_api.RESPONSES_DOOR,
    messages.MESSAGES_DOOR,
    messages.COUNT_TOKENS_DOOR,
    completions.COMPLETIONS_DOOR,
    EMBEDDINGS_DOOR,
)


def gateway_key(handler: Handler) -> Handler:
    async def guarded(request: Request) -> Response:
        services = services_of(request)
        request.state.app_id = "default"
        if services.settings.require_api_key:
            keys: KeyChecker = request.app.state.keys
            key = keys.check(request.headers.get("authorization"), _client(request))
            request.state.app_id = key.key_id
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
        check_text_params(request)
        return await handler(request)

    return guarded


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else ""


def check_text_params(request: Request) -> None:
    """Path and query values become database parameters, and PostgreSQL text cannot hold a NUL
    character: refuse one here, naming the parameter, rather than fail in the query."""
    named = [*request.path_params.items(), *request.query_params.multi_items()]
    for name, value in named:
        if isinstance(value, str) and "\x00" in value:
            raise WireError(400, f"'{name}' must not contain a NUL character", param=name)


async def _wire_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WireError)
    return json_response(exc.body(), exc.status, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
    return json_response(error_body(str(exc.detail), kind), exc.status_code)


async def _client_gone(request: Request, exc: Exception) -> Response:
    # the client closed before its body arrived: nobody reads this answer, and it is no error of ours
    return json_response(
        error_body(
            "the client closed the connection before sending the body", "invalid_request_error"
        ),
        400,
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    # message and traceback to the log (never the request body); nothing of it on the wire
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return json_response(error_body("internal error; see the rolecall log", "server_error"), 500)


def openapi_route(operations: Sequence[openapi.Operation]) -> Route:
    """``GET /openapi.json``: the document of ``operations``, built once (it holds no secret)."""
    body = orjson.dumps(openapi.document(operations, __version__))

    async def serve(request: Request) -> Response:
        return json_response(body)

    return Route("/openapi.json", serve, methods=["GET"])


def create_app(
    services: Services,
    extra_routes: ExtraRoutes | None = None,
    extra_operations: Sequence[openapi.Operation] = (),
) -> GatewayApp:
    """The gateway over ``services``; ``extra_routes`` (the console) are mounted last, and
    ``extra_operations`` describe them in the OpenAPI document."""

    settings = services.settings
    limiter = FailedAuthLimiter(settings.auth_failure_limit, settings.auth_failure_window_s)
    keys = KeyChecker(services.storage.keys, limiter)
    services.node.feed.subscribe(KEYS, lambda _: keys.refresh())
    readiness = Readiness(services)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        keys.start()
        await services.start()
        yield
        keys.stop()
        readiness.close()
        await services.stop()

    exported = services.metrics is not None  # GET /metrics, unless turned off
    routes = [
        Route("/livez", livez),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        *([Route(metrics_api.PATH, metrics_api.metrics)] if exported else []),
        openapi_route(
            [
                *openapi.V1_OPERATIONS,
                *responses_spec.OPERATIONS,
                *messages.OPERATIONS,
                *completions.OPERATIONS,
                *(metrics_api.OPERATIONS if exported else []),
                *admin.OPERATIONS,
                *feedback_api.OPERATIONS,
                *bench_api.OPERATIONS,
                *extra_operations,
            ]
        ),
        Route("/v1/models", gateway_key(models.list_models)),
        Route("/v1/models/{model_id:path}", gateway_key(models.retrieve_model)),
        Route("/v1/rolecall/discovery", gateway_key(models.discovery)),
        Route(downstream.PATH, gateway_key(downstream.downstream_openai)),
        *[Route(path, gateway_key(fn), methods=m) for path, fn, m in responses_api.ROUTES],
        *[Route(path, gateway_key(fn), methods=m) for path, fn, m in feedback_api.ROUTES],
        *[Route(path, admin_token(fn), methods=m) for path, fn, m in feedback_api.ADMIN_ROUTES],
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
            ClientDisconnect: _client_gone,
            Exception: _unexpected,
        },
    )
    app.state.services = services
    app.state.keys = keys
    app.state.readiness = readiness
    return GatewayApp(services, keys, app, DOORS)
