"""Usage per key, team, user and tag (``GET /api/usage``) matches the requests each made: two
keys of two teams send N and M requests through the official openai SDK, some for named users
and with tags; every grouping counts them, prices them and buckets them over time."""

from __future__ import annotations

import time
from typing import Any

import openai
import pytest

from rolecall.gateway.auth import create_api_key

from .harness import Gateway

HELLO = [{"role": "user", "content": "hello"}]
DAY_MS = 86_400_000


def _client(gw: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key=key, max_retries=0)


def _send(client: openai.OpenAI, n: int, **fields: Any) -> float:
    """``n`` chat completions; what they cost by the gateway's cost header."""
    spent = 0.0
    for _ in range(n):
        raw = client.chat.completions.with_raw_response.create(
            model="default", messages=HELLO, **fields
        )
        spent += float(raw.headers["x-rolecall-cost-usd"])
    return spent


def _usage(gw: Gateway, query: str) -> dict[str, Any]:
    status, body = gw.admin(f"/api/usage?{query}")
    assert status == 200, body
    return body  # type: ignore[no-any-return]


def _by_value(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {group["value"]: group for group in body["groups"]}


@pytest.fixture
def traffic(gateway: Gateway) -> dict[str, Any]:
    """Key A (team eng) sends 3 requests for alice tagged prod; key B (team ops) 5, two of
    them for bob tagged prod,beta."""
    keys = gateway.services.storage.keys
    a, key_a = create_api_key(keys, "alpha", team="eng")
    b, key_b = create_api_key(keys, "bravo", team="ops")
    gateway.keys.refresh()  # as the refresh thread would within a second
    client_a, client_b = _client(gateway, key_a), _client(gateway, key_b)
    spent_a = _send(client_a, 3, user="alice", metadata={"tags": "prod"})
    spent_b = _send(client_b, 3)
    spent_b += _send(client_b, 2, user="bob", metadata={"tags": "prod,beta", "run": "r-1"})
    for client in (client_a, client_b):
        client.close()
    return {"a": a.key_id, "b": b.key_id, "spent_a": spent_a, "spent_b": spent_b}


def test_usage_by_key_matches_the_requests_each_key_made(
    gateway: Gateway, traffic: dict[str, Any]
) -> None:
    body = _usage(gateway, "group_by=key")
    groups = _by_value(body)
    a, b = groups[traffic["a"]], groups[traffic["b"]]
    assert (a["requests"], b["requests"]) == (3, 5)
    assert (a["ok"], b["ok"]) == (3, 5)
    assert a["cost_usd"] == pytest.approx(traffic["spent_a"], abs=1e-7)
    assert b["cost_usd"] == pytest.approx(traffic["spent_b"], abs=1e-7)
    assert a["cost_usd"] > 0
    assert a["tokens_in"] > 0
    assert a["tokens_out"] > 0
    assert a["key"] == {
        "name": "alpha",
        "team": "eng",
        "prefix": a["key"]["prefix"],
        "revoked": False,
    }
    assert body["groups"][0]["value"] == traffic["b"]  # most spent first
    assert body["totals"]["requests"] == 8
    # the per-key sums of the older route agree
    status, old = gateway.admin("/api/keys/usage")
    assert status == 200
    per_app = {row["app_id"]: row for row in old["data"]}
    assert per_app[traffic["b"]]["requests"] == 5
    assert per_app[traffic["b"]]["cost_usd"] == pytest.approx(b["cost_usd"])


def test_usage_by_team_user_and_tag(gateway: Gateway, traffic: dict[str, Any]) -> None:
    teams = _by_value(_usage(gateway, "group_by=team"))
    assert {team: g["requests"] for team, g in teams.items()} == {"eng": 3, "ops": 5}
    assert teams["ops"]["cost_usd"] == pytest.approx(traffic["spent_b"], abs=1e-7)
    users = _by_value(_usage(gateway, "group_by=user"))
    assert {user: g["requests"] for user, g in users.items()} == {"alice": 3, "bob": 2}
    tags = _by_value(_usage(gateway, "group_by=tag"))
    assert {tag: g["requests"] for tag, g in tags.items()} == {"prod": 5, "beta": 2}
    one = _usage(gateway, "group_by=tag&value=beta")
    assert [g["value"] for g in one["groups"]] == ["beta"]
    assert one["totals"]["requests"] == 8  # the window's every request, whatever the grouping


def test_series_sum_to_the_totals_in_hours_and_days(
    gateway: Gateway, traffic: dict[str, Any]
) -> None:
    now = time.time_ns() // 1_000_000
    for bucket, width in (("hour", 3_600_000), ("day", DAY_MS)):
        body = _usage(gateway, f"group_by=key&bucket={bucket}&until={now + 1000}")
        assert body["bucket_ms"] == width
        for group in body["groups"]:
            series = group["series"]
            assert series, bucket
            assert sum(p["requests"] for p in series) == group["requests"]
            assert sum(p["cost_usd"] for p in series) == pytest.approx(group["cost_usd"])
            assert all(p["start_ms"] % width == 0 for p in series)
    # a window that ended before the traffic holds none of it
    empty = _usage(gateway, f"group_by=key&since={now - 2 * DAY_MS}&until={now - DAY_MS}")
    assert empty["groups"] == []
    assert empty["totals"]["requests"] == 0
    iso = _usage(gateway, "group_by=key&since=2020-01-01&until=2020-01-02T00:00:00Z")
    assert iso["since_ms"] == 1_577_836_800_000
    assert iso["until_ms"] == 1_577_923_200_000


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("group_by=model", "group_by"),
        ("bucket=week", "bucket"),
        ("since=yesterday", "since"),
        ("since=2026-01-02&until=2026-01-01", "since"),
        ("bucket=hour&since=2020-01-01&until=2026-01-01", "since"),
        ("limit=-1", "limit"),
        ("until=12x", "until"),
        ("until=%C2%B2", "until"),  # a digit, but not an ASCII one
    ],
)
def test_bad_usage_queries_are_400s_naming_the_parameter(
    shared_gateway: Gateway, query: str, param: str
) -> None:
    # refusals: one gateway per module serves them all (the traffic tests count from zero)
    status, body = shared_gateway.admin(f"/api/usage?{query}")
    assert status == 400
    assert body["error"]["param"] == param
