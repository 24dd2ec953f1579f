"""The OpenAPI document the gateway serves describes every route it mounts, with the methods it
answers, and is served without credentials."""

from __future__ import annotations

import re

from starlette.routing import Mount, Route

from rolecall.gateway.chat_asgi import CHAT_PATH
from tests.integration.gateway.harness import Gateway


def _mounted(gateway: Gateway) -> set[tuple[str, str]]:
    """(method, path) of every route of the served app: the Starlette routes, the static mount,
    and chat completions (served on raw ASGI before Starlette)."""
    mounted = {("post", CHAT_PATH)}
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
