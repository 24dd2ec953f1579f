"""The OpenAPI document the gateway serves describes every route it mounts, with the methods it
answers, and is served without credentials."""

from __future__ import annotations

import re

import pytest
from starlette.routing import Mount, Route

from rolecall.gateway.chat_asgi import CHAT_PATH
from tests.integration.gateway.harness import Gateway


@pytest.fixture
def gateway(shared_gateway: Gateway) -> Gateway:
    """One gateway per backend: these tests only read its document and its routes."""
    return shared_gateway


def _mounted(gateway: Gateway) -> set[tuple[str, str]]:
    """(method, path) of every route of the served app: the Starlette routes, the static mount,
    and the front doors (chat completions and the routes translated to it, served on raw ASGI
    before Starlette)."""
    mounted = {("post", path) for path in gateway.app.doors}
    for route in gateway.app.app.routes:
        if isinstance(route, Route):
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)  # {id:path} is {id} there
            mounted |= {(m.lower(), path) for m in route.methods or () if m != "HEAD"}
        elif isinstance(route, Mount):
            mounted.add(("get", f"{route.path}/{{path}}"))
        else:
            raise AssertionError(f"a route of an unknown kind: {route!r}")
    return mounted


def test_every_mounted_route_is_in_the_document_and_nothing_else(gateway: Gateway) -> None:
    status, document = gateway.raw("/openapi.json", None, {})  # no credentials
    assert status == 200
    documented = {(m, p) for p, ops in document["paths"].items() for m in ops}
    mounted = _mounted(gateway)
    assert len(mounted) >= 40
    assert mounted - documented == set(), "routes missing from the OpenAPI document"
    assert documented - mounted == set(), "operations the app does not serve"


def test_the_document_names_auth_errors_and_routing_headers(gateway: Gateway) -> None:
    _, document = gateway.raw("/openapi.json", None, {})
    assert document["openapi"].startswith("3.1")
    chat = document["paths"][CHAT_PATH]["post"]
    assert chat["security"] == [{"gatewayKey": []}]
    assert {p["name"] for p in chat["parameters"]} >= {"x-rolecall-budget", "x-rolecall-strategy"}
    assert chat["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ChatCompletionRequest"
    )
    for status in ("400", "401", "404", "413", "502", "503"):
        error = chat["responses"][status]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/ErrorResponse"}
    assert document["paths"]["/api/endpoints"]["get"]["security"] == [{"adminToken": []}]
    assert document["paths"]["/healthz"]["get"]["security"] == []
    request = document["components"]["schemas"]["ChatCompletionRequest"]
    assert set(request["required"]) == {"model", "messages"}


def test_the_embeddings_operation(gateway: Gateway) -> None:
    _, document = gateway.raw("/openapi.json", None, {})
    embeddings = document["paths"]["/v1/embeddings"]["post"]
    assert embeddings["security"] == [{"gatewayKey": []}]
    assert {p["name"] for p in embeddings["parameters"]} >= {"x-rolecall-role", "x-rolecall-task"}
    schema = embeddings["requestBody"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/EmbeddingsRequest")
    request = document["components"]["schemas"]["EmbeddingsRequest"]
    assert set(request["required"]) == {"model", "input"}
    assert request["properties"]["encoding_format"]["anyOf"][0]["enum"] == ["float", "base64"]
    assert {"x-rolecall-decision-id", "x-rolecall-endpoint"} <= set(
        embeddings["responses"]["200"]["headers"]
    )


def test_the_anthropic_routes_document_anthropic_errors(gateway: Gateway) -> None:
    _, document = gateway.raw("/openapi.json", None, {})
    anthropic = {"$ref": "#/components/schemas/AnthropicErrorResponse"}
    for path in ("/v1/messages", "/v1/messages/count_tokens"):
        responses = document["paths"][path]["post"]["responses"]
        for status in ("400", "401", "404", "413"):
            assert responses[status]["content"]["application/json"]["schema"] == anthropic
    completions = document["paths"]["/v1/completions"]["post"]["responses"]["400"]
    assert completions["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert "AnthropicErrorResponse" in document["components"]["schemas"]
