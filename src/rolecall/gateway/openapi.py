"""The OpenAPI 3.1 document the gateway serves at ``GET /openapi.json``.

Each module that mounts routes declares its `Operation`s beside them (``admin.OPERATIONS``,
``bench_api.OPERATIONS``, the console's ``api_spec.OPERATIONS``, `V1_OPERATIONS` here); request
bodies are the pydantic models the handlers validate with (the chat body's models are checked
against `rolecall.gateway.wire` by a differential test). A test lists every route the app mounts
and fails when one has no operation, and schemathesis checks the answers against the document.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from rolecall.gateway.embeddings_models import EmbeddingsRequest
from rolecall.gateway.wire_models import ChatCompletionRequest, routing_headers

Auth = Literal["gateway_key", "admin_token", "none"]
REF: Final = "#/components/schemas/{model}"
ERROR_REF: Final = {"$ref": "#/components/schemas/ErrorResponse"}
ERROR_SCHEMA: Final = {
    "type": "object",
    "description": "OpenAI-style error object: the message names the field and the fix",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}
# the Anthropic Messages routes answer errors in Anthropic's shape (`rolecall.gateway.messages_wire`)
ANTHROPIC_ERROR_REF: Final = {"$ref": "#/components/schemas/AnthropicErrorResponse"}
ANTHROPIC_ERROR_SCHEMA: Final = {
    "type": "object",
    "description": "Anthropic-style error object: the message names the field and the fix",
    "required": ["type", "error"],
    "properties": {
        "type": {"const": "error"},
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
        },
    },
}
ERROR_TEXT: Final = {
    400: "the request is malformed; the error names the field",
    401: "missing or invalid credentials",
    404: "no such resource",
    405: "method not allowed",
    409: "conflicts with the current state",
    413: "the body is too large",
    429: "too many failed authentication attempts, or a rate limit or budget reached (see "
    "Retry-After)",
    502: "every eligible upstream endpoint failed",
    503: "no endpoint can serve now (see Retry-After)",
}
REQUEST_ID: Final = {
    "x-request-id": {
        "schema": {"type": "string"},
        "description": "the client's own x-request-id when sane (up to 128 of A-Z a-z 0-9 . _ : "
        "-), else the gateway's (on chat completions: the record's request id)",
    }
}
TRACE_HEADERS: Final = {
    **REQUEST_ID,
    "x-rolecall-decision-id": {"schema": {"type": "string"}, "description": "the decision"},
    "x-rolecall-request-id": {"schema": {"type": "string"}, "description": "the request"},
}


def obj(*required: str, **properties: Any) -> dict[str, Any]:
    """A JSON object schema with these properties (``{}``: anything) and required keys."""
    schema: dict[str, Any] = {"type": "object", "required": list(required)}
    schema["properties"] = {name: prop for name, prop in properties.items()}
    return schema


def array(items: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "array", "items": items or {}}


def query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def page_params(limit_default: int = 50) -> list[dict[str, Any]]:
    """``limit``/``offset`` as `rolecall.gateway.wire.int_param` reads them."""
    return [
        query("limit", {"type": "integer", "minimum": 0, "maximum": 500, "default": limit_default}),
        query("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000, "default": 0}),
    ]


@dataclass(frozen=True, slots=True)
class Operation:
    """One method on one path, as the document shows it."""

    method: str
    path: str
    summary: str
    auth: Auth
    response: dict[str, Any]  # the success body's JSON schema
    status: int = 200
    media: str = "application/json"
    params: list[dict[str, Any]] = field(default_factory=list)
    body: type[BaseModel] | dict[str, Any] | None = None
    errors: tuple[int, ...] = ()
    headers: dict[str, Any] = field(default_factory=dict)
    also: dict[str, Any] = field(default_factory=dict)  # other media types of the success body
    # other statuses that are answers, not errors: status → (description, JSON schema)
    answers: dict[int, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    error: dict[str, Any] = field(default_factory=lambda: ERROR_REF)  # the error body's schema

    def path_params(self) -> list[dict[str, Any]]:
        names = [part[1:-1] for part in self.path.split("/") if part.startswith("{")]
        schema = {"type": "string", "minLength": 1}
        return [{"name": n, "in": "path", "required": True, "schema": schema} for n in names]


def _responses(op: Operation) -> dict[str, Any]:
    success: dict[str, Any] = {"description": op.summary}
    success["content"] = {op.media: {"schema": op.response}, **op.also}
    if op.headers:
        success["headers"] = op.headers
    out: dict[str, Any] = {str(op.status): success}
    for status, (text, schema) in op.answers.items():
        out[str(status)] = {"description": text, "content": {op.media: {"schema": schema}}}
    statuses = set(op.errors) | ({401, 429} if op.auth != "none" else set())
    for status in sorted(statuses):
        error: dict[str, Any] = {
            "description": ERROR_TEXT[status],
            "content": {"application/json": {"schema": op.error}},
        }
        if status in (429, 503):
            error["headers"] = {"retry-after": {"schema": {"type": "string"}}}
        out[str(status)] = error
    return out


def _operation(op: Operation, models: dict[type[BaseModel], str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "summary": op.summary,
        "operationId": f"{op.method}_{op.path}".replace("/", "_").replace("{", "").replace("}", ""),
        "responses": _responses(op),
    }
    params = op.path_params() + op.params
    if params:
        out["parameters"] = params
    if op.auth == "none":
        out["security"] = []
    else:
        out["security"] = [{"gatewayKey" if op.auth == "gateway_key" else "adminToken": []}]
    if op.body is not None:
        schema = (
            op.body if isinstance(op.body, dict) else {"$ref": REF.format(model=models[op.body])}
        )
        content = {"application/json": {"schema": schema}}
        out["requestBody"] = {"required": True, "content": content}
    return out


def document(operations: Iterable[Operation], version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``operations``."""
    ops = list(operations)
    model_types = sorted({op.body for op in ops if isinstance(op.body, type)}, key=str)
    keys, defs = models_json_schema([(m, "validation") for m in model_types], ref_template=REF)
    names = {model: keys[(model, "validation")]["$ref"].rsplit("/", 1)[1] for model in model_types}
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(op.path, {})[op.method] = _operation(op, names)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "rolecall gateway",
            "version": version,
            "description": "OpenAI-compatible routing gateway (/v1) and its admin API (/api).",
        },
        "paths": paths,
        "components": {
            "schemas": {
                **defs.get("$defs", {}),
                "ErrorResponse": ERROR_SCHEMA,
                "AnthropicErrorResponse": ANTHROPIC_ERROR_SCHEMA,
            },
            "securitySchemes": {
                "gatewayKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a gateway API key (rolecall keys create)",
                },
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the admin token (ROLECALL_ADMIN_TOKEN or DATA_DIR/admin_token)",
                },
            },
        },
    }


LIMITS: Final = obj(
    "routable_endpoints",
    routable_endpoints={"type": "integer"},
    context_window={"type": "integer"},
    max_output_tokens={"type": ["integer", "null"]},
    input_modalities=array({"type": "string"}),
    tools={"type": "boolean"},
    structured_output={"type": "boolean"},
)
MODEL_ENTRY: Final = obj(
    "id",
    "object",
    "rolecall",
    id={"type": "string"},
    object={"const": "model"},
    rolecall=obj(
        "kind",
        "posture",
        "limits",
        kind={"enum": ["alias", "posture", "endpoint", "role", "model"]},
        posture=obj("execution_scope", "mode", "strategy"),
        limits=LIMITS,
    ),
)
DOWNSTREAM: Final = obj(
    "contractVersion",
    "kind",
    "providerId",
    "baseUrl",
    "authentication",
    "models",
    "setup",
    contractVersion={"const": "role-model.downstream.openai.v1"},
    kind={"const": "openai-compatible"},
    baseUrl={"type": "string"},
    authentication=obj("type", "required", type={"const": "bearer"}, required={"type": "boolean"}),
    models=array(
        obj(
            "id",
            "object",
            "type",
            "limits",
            "piMapping",
            id={"type": "string"},
            type={"enum": ["alias", "model", "endpoint"]},
            limits=obj("safeContextWindow", "safeMaxOutputTokens"),
        )
    ),
    setup=obj("recommendedModel", "notes"),
)
CHAT_REPLY: Final = {
    "type": "object",
    "description": "the upstream's chat completion, or a rolecall.decision for decision-only",
    "required": ["object"],
    "properties": {"object": {"type": "string"}},
}
CHAT_HEADERS: Final = {
    **TRACE_HEADERS,
    "x-rolecall-endpoint": {
        "schema": {"type": "string"},
        "description": "the endpoint that answered",
    },
    "x-rolecall-model": {"schema": {"type": "string"}, "description": "its upstream model"},
    "x-rolecall-intent": {
        "schema": {"type": "string"},
        "description": "when the request carried role_model.intent: JSON of what was used "
        "(role, task, capabilities) and what was ignored and why",
    },
    "x-rolecall-cost-usd": {
        "schema": {"type": "string"},
        "description": "what the answer cost at the endpoint's prices (non-streamed answers of "
        "priced endpoints only)",
    },
}
EMBEDDINGS_REPLY: Final = {
    "type": "object",
    "description": "a list of embeddings in input order (usage: the input tokens), or a "
    "rolecall.decision for decision-only",
    "required": ["object"],
    "properties": {
        "object": {"type": "string"},
        "data": array(
            obj(
                "object",
                "index",
                "embedding",
                object={"const": "embedding"},
                index={"type": "integer"},
                embedding={"type": ["array", "string"]},
            )
        ),
        "model": {"type": ["string", "null"]},
        "usage": obj("prompt_tokens", "total_tokens"),
    },
}
_PROBLEMS: Final = array(obj("check", "detail", "fix"))
READY: Final = obj(
    "status",
    "problems",
    "degraded",
    "checks",
    status={"enum": ["ready", "degraded", "unready"]},
    problems=_PROBLEMS,
    degraded=_PROBLEMS,
    checks=array(obj("check", "ok", "on_failure", "detail")),
)
V1_OPERATIONS: Final = [
    Operation(
        "post",
        "/v1/chat/completions",
        "Route and execute a chat completion (SSE when stream is true)",
        "gateway_key",
        CHAT_REPLY,
        params=routing_headers(),
        body=ChatCompletionRequest,
        errors=(400, 404, 413, 502, 503),
        headers=CHAT_HEADERS,
        also={"text/event-stream": {"schema": {"type": "string"}}},
    ),
    Operation(
        "post",
        "/v1/embeddings",
        "Route and execute an embeddings request (endpoints that declare embeddings.text)",
        "gateway_key",
        EMBEDDINGS_REPLY,
        params=routing_headers(),
        body=EmbeddingsRequest,
        errors=(400, 404, 413, 502, 503),
        headers=CHAT_HEADERS,
    ),
    Operation(
        "get",
        "/v1/models",
        "Aliases, postures, endpoints, roles and upstream model names a request may name as "
        "its model, each with its posture and conservative limits",
        "gateway_key",
        obj("object", "data", object={"const": "list"}, data=array(MODEL_ENTRY)),
    ),
    Operation(
        "get",
        "/v1/models/{model_id}",
        "One alias, posture, endpoint, role or model name as an OpenAI model object",
        "gateway_key",
        MODEL_ENTRY,
        errors=(404,),
    ),
    Operation(
        "get",
        "/v1/rolecall/discovery",
        "Per alias, posture and role: safe limits over the endpoints it can route to now",
        "gateway_key",
        obj(
            "object", "data", object={"const": "list"}, data=array(obj("id", "routable_endpoints"))
        ),
    ),
    Operation(
        "get",
        "/api/role-model/downstream/openai",
        "role-model's downstream discovery contract: base URL, authentication, and each model "
        "name with capability metadata and conservative limits (takes a gateway key)",
        "gateway_key",
        DOWNSTREAM,
    ),
    Operation(
        "get",
        "/livez",
        "Liveness: 200 while the process serves",
        "none",
        obj("status", status={"const": "alive"}),
    ),
    Operation(
        "get",
        "/healthz",
        "Liveness and the number of configured endpoints",
        "none",
        obj("status", "endpoints", status={"const": "ok"}, endpoints={"type": "integer"}),
    ),
    Operation(
        "get",
        "/readyz",
        "Readiness: 200 ready or degraded (serving on a fallback), 503 unready with the problems "
        "(database, records, endpoints) and their fixes",
        "none",
        READY,
        answers={503: ("unready: the problems name the check, what was found and the fix", READY)},
    ),
    Operation(
        "get",
        "/openapi.json",
        "This document",
        "none",
        obj("openapi", "paths", openapi={"type": "string"}, paths={"type": "object"}),
    ),
]
