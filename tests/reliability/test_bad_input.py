"""Hostile client input gets an OpenAI-style 4xx naming the field: never a 500, never an echo of
a huge value (on SQLite and PostgreSQL)."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import orjson
import pytest

from tests.integration.gateway.harness import ADMIN_TOKEN, Gateway

USER = [{"role": "user", "content": "hi"}]


@pytest.fixture
def gateway(shared_gateway: Gateway) -> Gateway:
    """One gateway per backend for the module: every request here is refused, or answered
    without a trace another test looks at."""
    return shared_gateway


def _auth(gw: Gateway, **extra: str) -> dict[str, str]:
    return {"authorization": f"Bearer {gw.api_key}", **extra}


def _body(**fields: Any) -> bytes:
    return orjson.dumps({"model": "default", "messages": USER, **fields})


def _deep(depth: int) -> bytes:
    """A JSON value nested ``depth`` arrays deep (written by hand: the encoder stops at 254)."""
    return b"[" * depth + b'"deep"' + b"]" * depth


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (_body(messages=[{"role": [], "content": "x"}]), "messages[0].role"),
        (_body(messages=[{"role": {}, "content": "x"}]), "messages[0].role"),
        (_body(rolecall={"strategy": {}}), "rolecall.strategy"),
        (_body(rolecall={"strategy": []}), "rolecall.strategy"),
        (_body(rolecall={"budget": True}), "rolecall.budget"),
        (_body(rolecall={"budget": "nan"}), "rolecall.budget"),
        (_body(rolecall={"budget": []}), "rolecall.budget"),
        (_body(rolecall={"role": 7}), "rolecall.role"),
    ],
    ids=[
        "role-list",
        "role-object",
        "strategy-object",
        "strategy-list",
        "budget-bool",
        "budget-nan",
        "budget-list",
        "role-hint-number",
    ],
)
def test_a_wrong_type_is_a_400_naming_the_field(gateway: Gateway, body: bytes, param: str) -> None:
    status, payload = gateway.raw("/v1/chat/completions", body, _auth(gateway))
    assert (status, payload["error"]["param"]) == (400, param), payload
    assert payload["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("depth", [255, 600, 1000])
@pytest.mark.parametrize("where", ["message part", "extra field"])
def test_deep_nesting_is_refused_not_a_500(gateway: Gateway, depth: int, where: str) -> None:
    # the parser accepts 1,024 levels and the encoder writes 254: in between was a 500
    if where == "message part":
        raw = (
            b'{"model":"default","messages":[{"role":"user","content":[{"type":"text",'
            b'"text":"x","extra":' + _deep(depth) + b"}]}]}"
        )
    else:
        # a field forwarded as it is (``metadata`` is checked, and kept by rolecall)
        raw = _body()[:-1] + b',"prediction":' + _deep(depth) + b"}"
    status, payload = gateway.raw("/v1/chat/completions", raw, _auth(gateway))
    assert status == 400, payload
    assert payload["error"]["code"] == "invalid_json"
    assert payload["error"]["param"] == ("messages" if where == "message part" else "prediction")
    assert "nest" in payload["error"]["message"]


@pytest.mark.parametrize("budget", ["nan", "NaN", "inf", "-inf", "1e309", "-1", "abc", ""])
def test_a_budget_header_that_is_not_a_finite_amount_is_refused(
    gateway: Gateway, budget: str
) -> None:
    headers = _auth(gateway, **{"x-rolecall-budget": budget})
    status, payload = gateway.raw("/v1/chat/completions", _body(), headers)
    assert (status, payload["error"]["param"]) == (400, "rolecall.budget"), payload


def test_a_finite_budget_still_routes(gateway: Gateway) -> None:
    headers = _auth(gateway, **{"x-rolecall-budget": "0.5"})
    status, payload = gateway.raw("/v1/chat/completions", _body(), headers)
    assert status == 200, payload


@pytest.mark.parametrize("field", ["model", "rolecall.role", "rolecall.task", "rolecall.strategy"])
def test_a_huge_value_is_not_echoed_back_whole(gateway: Gateway, field: str) -> None:
    huge = "x" * 7_000_000  # under the 8 MiB body limit
    hint = {field.removeprefix("rolecall."): huge}
    body = _body(model=huge) if field == "model" else _body(rolecall=hint)
    status, payload = gateway.raw("/v1/chat/completions", body, _auth(gateway))
    assert status in (400, 404), payload
    assert payload["error"]["param"] == field
    assert len(orjson.dumps(payload)) < 1_000
    assert "7000000 characters" in payload["error"]["message"]


def _admin(gw: Gateway, method: str, path: str, body: bytes) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{gw.port}{path}",
        data=body,
        method=method,
        headers={"authorization": f"Bearer {ADMIN_TOKEN}", "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, orjson.loads(exc.read())


# The fuzzers' findings, each case a regression test (several cases per test)

NUL_PARAMS = [
    ("/api/decisions/a%00b", "decision_id"),
    ("/api/requests/%00", "request_id"),
    ("/api/console/decisions/x%00", "decision_id"),
    ("/api/decisions?endpoint_id=%00", "endpoint_id"),
    ("/api/console/requests?endpoint=a%00", "endpoint"),
    ("/api/bench/runs/%00/progress", "run_id"),
]


def test_a_nul_in_an_admin_path_or_query_is_a_400_not_a_database_error(gateway: Gateway) -> None:
    # PostgreSQL text cannot hold NUL: the lookup failed with a 500
    for path, param in NUL_PARAMS:
        status, payload = gateway.admin(path)
        assert (status, payload["error"]["param"]) == (400, param), (path, payload)


def test_a_value_nested_to_the_encoders_limit_is_refused_where_it_would_be_forwarded(
    gateway: Gateway,
) -> None:
    # a top-level field nested exactly 254 deep passed the check (made on the value alone) and
    # failed one level down in the upstream body: a 500
    for depth, expected in ((253, 200), (254, 400)):
        raw = _body()[:-1] + b',"prediction":' + _deep(depth) + b"}"
        status, payload = gateway.raw("/v1/chat/completions", raw, _auth(gateway))
        assert status == expected, (depth, payload)
        if status == 400:
            assert payload["error"]["param"] == "prediction"


SCHEMA_STATES = [
    (_body(max_completion_tokens=5, max_tokens="lots"), "max_tokens"),  # was unchecked
    (_body(max_tokens=2**63), "max_tokens"),  # past a 32-bit column
    (_body(tools=[1]), "tools[0]"),
    (_body(tools=[{"function": {}}]), "tools[0]"),
    (_body(rolecall={"budget": "0.5"}), "rolecall.budget"),  # text is for headers
    (_body(rolecall={"deny_remote": "yes"}), "rolecall.deny_remote"),
    (_body(rolecall={"x" * 100_000: 1}), "rolecall." + "x" * 71 + "... (100009 characters)"),
]


def test_chat_checks_what_the_published_schema_states(gateway: Gateway) -> None:
    for body, param in SCHEMA_STATES:
        status, payload = gateway.raw("/v1/chat/completions", body, _auth(gateway))
        assert (status, payload["error"]["param"]) == (400, param), payload
        assert len(orjson.dumps(payload)) < 2_000
    for budget in ("1e3", "1_000", "0x10", "1.", "1\xe9"):
        headers = _auth(gateway, **{"x-rolecall-budget": budget})
        status, payload = gateway.raw("/v1/chat/completions", _body(), headers)
        assert (status, payload["error"]["param"]) == (400, "rolecall.budget"), (budget, payload)


ADMIN_BODIES = [
    ("POST", "/api/console/prompt", {"prompt": "hi", "max_tokens": "abc"}, "max_tokens"),
    ("POST", "/api/console/prompt", {"prompt": "hi", "max_tokens": [1]}, "max_tokens"),
    ("POST", "/api/console/prompt", {"prompt": "hi", "model": {}}, "model"),
    (
        "PUT",
        "/api/console/bindings",
        {"role_id": [], "endpoint_id": "e", "status": "auto"},
        "role_id",
    ),
    ("PUT", "/api/console/posture", {"strategy": 1}, "strategy"),
    ("POST", "/api/console/discover", {"url": 5}, "url"),
    ("POST", "/api/bench/runs", {"mode": "quick", "endpoints": [1]}, "endpoints.0"),
    ("POST", "/api/bench/runs", {"mode": "fast"}, "mode"),
    ("POST", "/api/bench/runs", {"mode": "quick", "max_cases": 0}, "max_cases"),
    ("POST", "/api/bench/runs", {"mode": "quick", "max_cases": "ten"}, "max_cases"),
    ("POST", "/api/bench/runs", {"mode": "quick", "adaptive": "yes"}, "adaptive"),
    ("POST", "/api/bench/runs", {"mode": "quick", "precision": 2}, "precision"),
]


def test_admin_bodies_of_the_wrong_type_are_a_400_naming_the_field(gateway: Gateway) -> None:
    # the console's prompt box did int(max_tokens): a 500 for "abc"
    for method, path, body, param in ADMIN_BODIES:
        status, payload = _admin(gateway, method, path, orjson.dumps(body))
        assert (status, payload["error"]["param"]) == (400, param), (path, payload)
    # a 5,000-character provider name came back whole in the error
    body = orjson.dumps({"url": "http://127.0.0.1:9", "provider": "p" * 5_000})
    status, payload = _admin(gateway, "POST", "/api/console/endpoints", body)
    assert status == 400, payload
    assert len(orjson.dumps(payload)) < 2_000
