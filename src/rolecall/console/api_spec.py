"""The console API in the gateway's OpenAPI document: request bodies the handlers validate with,
and one `Operation` per route of `rolecall.console.API` (a test keeps the two lists in step)."""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from rolecall.console.common import CLOSED_VALUES, WINDOWS_MS
from rolecall.console.system_api import RetrainRequest
from rolecall.gateway.openapi import Operation, array, obj, page_params, query
from rolecall.inventory.config import ExecutionScope
from rolecall.operator.posture import Compute, Strategy
from rolecall.storage.analytics import DIMENSIONS

STRICT: Final = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
Mode = Literal["baseline", "learned", "controller", "difficulty", "hybrid"]


class BindingRequest(BaseModel):
    model_config = STRICT
    role_id: str
    endpoint_id: str
    status: Literal["active", "disabled", "auto"]


class DiscoverRequest(BaseModel):
    model_config = STRICT
    url: str = Field(min_length=1, description="an OpenAI-compatible, Ollama or llama.cpp server")


class AddEndpointsRequest(BaseModel):
    model_config = STRICT
    url: str = Field(min_length=1)
    provider: str = Field(min_length=1, description="the provider name to add it as")


class PostureRequest(BaseModel):
    """Missing keys keep the current value."""

    model_config = STRICT
    strategy: Strategy | None = None
    execution_scope: ExecutionScope | None = None
    compute_preference: Compute | None = None
    mode: Mode | None = None


class PromptRequest(BaseModel):
    model_config = STRICT
    prompt: str = Field(min_length=1, pattern=r"\S", description="the message to send")
    model: str | None = Field(None, description="a model the gateway resolves; default 'default'")
    max_tokens: int | None = Field(None, ge=1, le=32_768)


WINDOW: Final = {"type": "string", "enum": list(WINDOWS_MS)}
# the Observe filters as `rolecall.console.common.fact_filter` reads them
FILTERS: Final = [
    query(name, {"type": "string", "enum": ["", *CLOSED_VALUES[name]]})
    if name in CLOSED_VALUES
    else query(name, {"type": "string"})
    for name in DIMENSIONS
]
BINDINGS: Final = obj("roles", "endpoints", "cells", cells=array(obj("role_id", "endpoint_id")))
POSTURE: Final = obj("strategy", "execution_scope", "compute_preference", "mode")
ADMIN: Final = "admin_token"
# one Server-Sent Event of the live tail: a request (a ledger row as JSON) or the end of the stream
TAIL_EVENT: Final = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["request", "end"]},
        "data": {"type": "string", "description": "JSON: a ledger row, or {since_ms} to resume"},
    },
    "required": ["event", "data"],
}


def _get(path: str, summary: str, response: dict[str, Any], **kw: Any) -> Operation:
    return Operation("get", path, summary, ADMIN, response, **kw)


OPERATIONS: Final = [
    _get("/api/console/models", "Endpoints with health and evidence", obj("data", "now_ms")),
    _get("/api/console/bindings", "The role × endpoint binding matrix", BINDINGS),
    Operation(
        "put",
        "/api/console/bindings",
        "Set one role × endpoint binding",
        ADMIN,
        BINDINGS,
        body=BindingRequest,
        errors=(400,),
    ),
    Operation(
        "post",
        "/api/console/discover",
        "Ask a server what models it serves",
        ADMIN,
        obj("base_url", "kind", "models"),
        body=DiscoverRequest,
        errors=(400,),
    ),
    Operation(
        "post",
        "/api/console/endpoints",
        "Discover a server and add its models as endpoints",
        ADMIN,
        obj("added", "endpoints", "benchmark_run"),
        status=201,
        body=AddEndpointsRequest,
        errors=(400,),
    ),
    _get("/api/console/posture", "The routing posture and its choices", obj("posture", "choices")),
    Operation(
        "put",
        "/api/console/posture",
        "Change the routing posture",
        ADMIN,
        obj("posture", "saved", posture=POSTURE),
        body=PostureRequest,
        errors=(400,),
    ),
    Operation(
        "post",
        "/api/console/posture/preview",
        "What a posture would change, replayed over recent requests",
        ADMIN,
        {"type": "object"},
        body=PostureRequest,
        params=[query("limit", {"type": "integer", "minimum": 0, "maximum": 2000})],
        errors=(400,),
    ),
    _get("/api/console/candidates", "The current ranking for each role", {"type": "object"}),
    _get(
        "/api/console/decisions",
        "Routing decisions, newest first",
        obj("data", "total"),
        params=[
            *page_params(),
            query("outcome", {"type": "string", "enum": ["", "routed", "no_endpoint"]}),
            query("endpoint", {"type": "string"}),
            query("strategy", {"type": "string"}),
        ],
        errors=(400,),
    ),
    _get(
        "/api/console/decisions/{decision_id}",
        "A decision with its request's facts and outcome, and evidence",
        obj("decision", "facts", "outcome", "evidence"),
        errors=(404,),
    ),
    Operation(
        "post",
        "/api/console/prompt",
        "Send one chat request through the gateway",
        ADMIN,
        obj("ok", "status", ok={"type": "boolean"}, status={"type": "integer"}),
        body=PromptRequest,
        errors=(400,),
    ),
    _get(
        "/api/console/requests",
        "The request ledger",
        obj("query", "data", "total"),
        params=[query("window", WINDOW), *FILTERS, *page_params()],
        errors=(400,),
    ),
    Operation(
        "get",
        "/api/console/requests/stream",
        "New requests of a slice as they are stored (Server-Sent Events)",
        ADMIN,
        TAIL_EVENT,
        media="text/event-stream",
        params=[
            *FILTERS,
            query("since_ms", {"type": "integer", "minimum": 0}),
        ],
        errors=(400,),
    ),
    _get(
        "/api/console/requests/{request_id}",
        "One request: usage, spans, events, decision, facts, outcome",
        obj("request_id", "usage", "spans", "events", "outcome"),
        errors=(404,),
    ),
    _get(
        "/api/console/analytics",
        "Totals, quantiles, series and a breakdown of a slice",
        obj("query", "totals", "series", "breakdown"),
        params=[
            query("window", WINDOW),
            query("group_by", {"type": "string", "enum": list(DIMENSIONS)}),
            *FILTERS,
        ],
        errors=(400,),
    ),
    _get(
        "/api/console/routing",
        "Routing analytics over a window",
        {"type": "object"},
        params=[query("window", WINDOW), *FILTERS],
        errors=(400,),
    ),
    _get(
        "/api/console/agreement",
        "Benchmark evidence against live outcomes per endpoint",
        {"type": "object"},
        params=[query("window", WINDOW), *FILTERS],
        errors=(400,),
    ),
    _get("/api/console/system", "Readiness, storage, version", obj("version", "storage")),
    _get("/api/lab/results", "Lab result files", obj("results", "problems")),
    Operation(
        "post",
        "/api/lab/retrain",
        "Train a router on this deployment's graded benchmark cases; its artifact is kept only "
        "if it does no harm on held-out cases",
        ADMIN,
        obj("kind", "deployed", "held_out"),
        body=RetrainRequest,
        errors=(400,),
    ),
    Operation(
        "get",
        "/api/lab/plots/{name}",
        "A lab plot",
        ADMIN,
        {"type": "string", "format": "binary"},
        media="image/png",
        errors=(404,),
    ),
    Operation("get", "/", "The console page", "none", {"type": "string"}, media="text/html"),
    Operation(
        "get",
        "/ui/{path}",
        "The console's static files",
        "none",
        {"type": "string"},
        media="*/*",
        errors=(404,),
    ),
]
