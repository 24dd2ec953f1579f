"""Budgets and rate limits through a real gateway (SQLite and PostgreSQL counters, no Redis):
keys carry limits, 429s look like OpenAI's, refusals are recorded, usage is per key.

Prices are chosen so a request's estimate is its cost: input is free and the answer has exactly
``max_tokens`` tokens, at 1,000 USD per million output tokens: 5,000 micro-USD a request.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from rolecall.errors import ConfigError
from rolecall.gateway.auth import create_api_key
from rolecall.limits.policy import LimitSpec
from rolecall.providers.scripted import ScriptedUpstream
from rolecall.storage.sql_tables import LIMIT_COUNTERS

from .harness import Gateway, openai_provider

ANSWER = "one two three four five"  # 5 tokens
REQUEST = {
    "model": "default",
    "messages": [{"role": "user", "content": "hello"}],
    "max_tokens": 5,
}
PER_REQUEST_USD = 0.005


@pytest.fixture
def upstream() -> Iterator[Any]:
    handle = ScriptedUpstream.start_in_thread(
        {"models": {"paid": {"answer": ANSWER}, "free": {"answer": ANSWER}}}
    )
    yield handle
    handle.stop()


def inventory(upstream: Any, *, free: bool = False, limits: Any = None) -> dict[str, Any]:
    providers = {"remote": openai_provider(upstream.base_url, local=False)}
    endpoints = [
        {
            "provider": "remote",
            "model": "paid",
            "id": "ep-paid",
            "price": {"input_per_1m": 0.0, "output_per_1m": 1000.0},
        }
    ]
    if free:  # a local model that costs nothing: ranked second (the posture prefers remote)
        providers["local"] = openai_provider(upstream.base_url, local=True)
        price = {"input_per_1m": 0.0, "output_per_1m": 0.0}
        endpoints.append({"provider": "local", "model": "free", "id": "ep-free", "price": price})
    # a cost target so high that both endpoints score as free: the posture decides
    policy = {"budget": {"target_cost_per_request": 1_000_000.0}}
    config: dict[str, Any] = {
        "providers": providers,
        "endpoints": endpoints,
        "routing": {"compute_preference": "remote", "policy": policy},
    }
    if limits is not None:
        config["limits"] = limits
    return config


def chat(gw: Gateway, key: str, body: dict[str, Any] | None = None) -> tuple[int, Any, Any]:
    """(status, headers, JSON body) of one chat completion with ``key``."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{gw.port}/v1/chat/completions",
        data=json.dumps(body or REQUEST).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.headers, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, json.loads(exc.read())


def admin(gw: Gateway, path: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{gw.port}{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"authorization": "Bearer rca-test-admin-token"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def new_key(gw: Gateway, spec: LimitSpec, team: str | None = None) -> tuple[str, str]:
    record, key = create_api_key(gw.services.storage.keys, "limited", team=team, limits=spec)
    gw.keys.refresh()  # as the refresh thread would within a second
    return record.key_id, key


def test_a_spent_budget_refuses_with_an_openai_style_429_and_a_recorded_decision(
    upstream: Any, db_url: str, tmp_path: Path
) -> None:
    with Gateway(inventory(upstream), db_url, tmp_path) as gw:
        key_id, key = new_key(gw, LimitSpec(budget_micro_usd=4 * 5_000))
        answered = [chat(gw, key) for _ in range(4)]
        assert [status for status, _, _ in answered] == [200] * 4
        status, headers, body = chat(gw, key)
        assert status == 429
        assert body["error"]["code"] == "budget_exceeded"
        assert body["error"]["type"] == "insufficient_quota"
        assert "budget of 0.02 USD per month" in body["error"]["message"]
        assert 0 < int(headers["retry-after"]) <= 31 * 86_400
        status, decision = admin(gw, f"/api/decisions/{headers['x-rolecall-decision-id']}")
        assert status == 200
        assert decision["app_id"] == key_id
        assert decision["chosen_endpoint_id"] == ""
        [entry] = decision["eligibility"]
        assert [x["code"] for x in entry["exclusions"]] == ["BUDGET_EXCEEDED"]
        status, usage = admin(gw, "/api/keys/usage")
        mine = next(row for row in usage["data"] if row["app_id"] == key_id)
        assert mine["requests"] == 5  # the refused one too, at no cost
        assert mine["cost_usd"] == pytest.approx(4 * PER_REQUEST_USD)


def test_a_spent_budget_still_runs_on_a_free_endpoint(
    upstream: Any, db_url: str, tmp_path: Path
) -> None:
    with Gateway(inventory(upstream, free=True), db_url, tmp_path) as gw:
        _, key = new_key(gw, LimitSpec(budget_micro_usd=5_000))
        status, headers, _ = chat(gw, key)
        assert (status, headers["x-rolecall-endpoint"]) == (200, "ep-paid")
        status, headers, _ = chat(gw, key)
        assert (status, headers["x-rolecall-endpoint"]) == (200, "ep-free")
        _, decision = admin(gw, f"/api/decisions/{headers['x-rolecall-decision-id']}")
        assert decision["chosen_endpoint_id"] == "ep-free"
        paid = next(e for e in decision["eligibility"] if e["endpoint_id"] == "ep-paid")
        assert [x["code"] for x in paid["exclusions"]] == ["BUDGET_EXCEEDED"]


def test_a_rate_limit_refuses_with_retry_after_and_records_nothing(
    upstream: Any, db_url: str, tmp_path: Path
) -> None:
    with Gateway(inventory(upstream), db_url, tmp_path) as gw:
        key_id, key = new_key(gw, LimitSpec(rpm=3))
        assert [chat(gw, key)[0] for _ in range(3)] == [200, 200, 200]
        status, headers, body = chat(gw, key)
        assert status == 429
        assert body["error"]["code"] == "rate_limit_exceeded"
        assert body["error"]["type"] == "rate_limit_error"
        assert f"key {key_id}: 3 requests per minute" in body["error"]["message"]
        assert 55 <= int(headers["retry-after"]) <= 60


def test_the_files_limits_apply_to_every_key_of_a_team(
    upstream: Any, db_url: str, tmp_path: Path
) -> None:
    limits = {"teams": {"eng": {"rpm": 2}}, "global": {"tpm": 10_000}}
    with Gateway(inventory(upstream, limits=limits), db_url, tmp_path) as gw:
        _, first = new_key(gw, LimitSpec(), team="eng")
        _, second = new_key(gw, LimitSpec(), team="eng")
        _, other = new_key(gw, LimitSpec(), team="ops")
        assert [chat(gw, k)[0] for k in (first, second, first, other)] == [200, 200, 429, 200]
        _, status = admin(gw, "/api/limits")
        assert status["teams"] == {"eng": {"rpm": 2}}
        assert status["status"]["store"] == "sql"


def test_a_key_without_limits_touches_no_counter(
    upstream: Any, db_url: str, tmp_path: Path
) -> None:
    with Gateway(inventory(upstream), db_url, tmp_path) as gw:
        assert [chat(gw, gw.api_key)[0] for _ in range(3)] == [200, 200, 200]
        with gw.services.storage.engine.connect() as connection:
            assert (
                connection.execute(select(func.count()).select_from(LIMIT_COUNTERS)).scalar() == 0
            )


def test_a_stream_settles_at_its_actual_cost(upstream: Any, db_url: str, tmp_path: Path) -> None:
    with Gateway(inventory(upstream), db_url, tmp_path) as gw:
        _, key = new_key(gw, LimitSpec(budget_micro_usd=1_000_000))
        body = {**REQUEST, "max_tokens": 50, "stream": True}  # reserves 50 tokens, uses 5
        client = gw.client(api_key=key)
        text = "".join(
            chunk.choices[0].delta.content or ""
            for chunk in client.chat.completions.create(**body)
            if chunk.choices
        )
        assert text == ANSWER
        assert _settled_usd(gw, 5_000) == 5_000


def _settled_usd(gw: Gateway, expected: int) -> int:
    """The key's USD counter once it reads ``expected`` (settling runs after the answer), or
    what it reads after 5 s."""
    query = select(LIMIT_COUNTERS.c.used).where(LIMIT_COUNTERS.c.counter.like("key:%:usd:%"))
    deadline = time.monotonic() + 5
    while True:
        with gw.services.storage.engine.connect() as connection:
            used = int(connection.execute(query).scalar() or 0)
        if used == expected or time.monotonic() > deadline:
            return used
        time.sleep(0.05)


def test_the_admin_api_creates_keys_with_limits_and_names_bad_fields(
    upstream: Any, db_url: str, tmp_path: Path
) -> None:
    with Gateway(inventory(upstream), db_url, tmp_path) as gw:
        status, created = admin(
            gw, "/api/keys", "POST", {"name": "ci", "team": "eng", "rpm": 1, "budget_usd": 5}
        )
        assert status == 201
        assert created["limits"] == {"budget_usd": 5.0, "per": "month", "rpm": 1}
        assert [chat(gw, created["key"])[0] for _ in range(2)] == [200, 429]
        for bad, field in (
            ({"rpm": 0}, "rpm"),
            ({"per": "week", "budget_usd": 1}, "per"),
            ({"team": "no spaces"}, "team"),
            ({"budget_usd": "5"}, "budget_usd"),
            ({"burst": 5}, "burst"),
        ):
            status, error = admin(gw, "/api/keys", "POST", bad)
            assert status == 400, bad
            assert error["error"]["param"] == field
        path = f"/api/keys/{created['key_id']}/limits"
        status, updated = admin(gw, path, "PUT", {"rpm": 100})
        assert (status, updated["limits"], updated["team"]) == (200, {"rpm": 100}, None)
        status, _ = admin(gw, "/api/keys/key_missing/limits", "PUT", {})
        assert status == 404
        status, listed = admin(gw, "/api/keys")
        assert created["key_id"] in [k["key_id"] for k in listed["data"]]
        assert all("key_hash" not in k for k in listed["data"])
        assert admin(gw, f"/api/keys/{created['key_id']}", "DELETE") == (200, {"revoked": True})


def test_a_bad_limits_section_stops_the_start_naming_the_key(upstream: Any, tmp_path: Path) -> None:
    limits = {"roles": {"coder": {"rpm": "lots"}}}
    with pytest.raises(ConfigError, match=r"limits\.roles\.coder\.rpm: must be a whole number"):
        Gateway(inventory(upstream, limits=limits), f"sqlite:///{tmp_path}/db.sqlite", tmp_path)
