"""Hostile client input gets an OpenAI-style 4xx naming the field: never a 500, never an echo of
a huge value (on SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.integration.gateway.harness import Gateway

USER = [{"role": "user", "content": "hi"}]


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
        raw = _body()[:-1] + b',"metadata":' + _deep(depth) + b"}"
    status, payload = gateway.raw("/v1/chat/completions", raw, _auth(gateway))
    assert status == 400, payload
    assert payload["error"]["code"] == "invalid_json"
    assert payload["error"]["param"] == ("messages" if where == "message part" else "metadata")
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
