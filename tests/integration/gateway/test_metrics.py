"""``GET /metrics`` of a real gateway after real traffic over scripted upstreams: the counts match
the requests made (by endpoint, key and status), a fallback is counted and a refusal is not one,
the histograms have observations, cooldowns and the spool are read at scrape time."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from rolecall.gateway.auth import create_api_key
from rolecall.limits.policy import LimitSpec

from .conftest import FAST, inventory
from .harness import Gateway

PROMPT = "the secret prompt text 7f3a"


def scrape(gw: Gateway, token: str | None = None) -> tuple[int, str]:
    headers = {} if token is None else {"authorization": f"Bearer {token}"}
    request = urllib.request.Request(f"http://127.0.0.1:{gw.port}/metrics", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert reply.headers["content-type"].startswith("text/plain")
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode()


def families(text: str) -> dict[str, Metric]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def total(found: dict[str, Metric], family: str, sample: str | None = None, **labels: str) -> float:
    """The sum of ``family``'s samples named ``sample`` (default: the family's name with
    ``_total`` for counters) whose labels include ``labels``."""
    metric = found.get(family)
    if metric is None:
        return 0.0
    name = sample or (f"{family}_total" if metric.type == "counter" else family)
    return sum(
        s.value
        for s in metric.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def chat(gw: Gateway, key: str, **body: Any) -> tuple[int, dict[str, str]]:
    payload = {"model": "default", "messages": [{"role": "user", "content": PROMPT}], **body}
    request = urllib.request.Request(
        f"http://127.0.0.1:{gw.port}/v1/chat/completions",
        data=json.dumps(payload).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            reply.read()
            return reply.status, dict(reply.headers)
    except urllib.error.HTTPError as exc:
        with exc:
            exc.read()
            return exc.code, dict(exc.headers)


def new_key(gw: Gateway, name: str, spec: LimitSpec) -> tuple[str, str]:
    record, key = create_api_key(gw.services.storage.keys, name, limits=spec)
    gw.keys.refresh()
    return record.key_id, key


@pytest.fixture
def gw(upstream_a: Any, upstream_b: Any, db_url: str, tmp_path: Path) -> Iterator[Gateway]:
    # 10 min × 0.01 = 6 s of cooldown: still cooling when scraped right after the fallback
    with Gateway(
        inventory(upstream_a, upstream_b),
        db_url,
        tmp_path,
        cooldown_scale=0.01,
        cooldown_consecutive_failures=2,
    ) as gateway:
        yield gateway


def test_metrics_count_the_requests_made(gw: Gateway, upstream_a: Any) -> None:
    [tests_key] = [k.key_id for k in gw.services.storage.keys.all() if k.name == "tests"]
    budget_id, budget_key = new_key(gw, "budget", LimitSpec(budget_micro_usd=1))
    rate_id, rate_key = new_key(gw, "rate", LimitSpec(rpm=1))
    # 3 answers on ep-a (the cheaper), one of them streamed
    assert [chat(gw, gw.api_key)[0] for _ in range(2)] == [200, 200]
    stream = gw.client().chat.completions.create(
        model="default", messages=[{"role": "user", "content": PROMPT}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "fast answer"
    # refused: a budget (recorded), a rate limit (turned away at the door), a bad key
    assert chat(gw, budget_key, max_tokens=1000)[0] == 429
    assert [chat(gw, rate_key)[0] for _ in range(2)] == [200, 429]
    assert chat(gw, "rc-not-a-key")[0] == 401
    # ep-a fails twice (an attempt and its retry), cools down; ep-b answers
    upstream_a.set_script(
        {"models": {"model-a": {**FAST, "fail": {"kind": "status", "status": 500}}}}
    )
    status, headers = chat(gw, gw.api_key)
    assert (status, headers["x-rolecall-endpoint"]) == (200, "ep-b")

    status, text = scrape(gw)
    assert status == 200
    assert PROMPT not in text
    found = families(text)
    requests = "rolecall_requests"
    assert total(found, requests, endpoint="ep-a", key_id=tests_key, status_class="2xx") == 3
    assert total(found, requests, endpoint="ep-b", key_id=tests_key, status_class="2xx") == 1
    assert total(found, requests, endpoint="ep-a", key_id=rate_id, status_class="2xx") == 1
    assert total(found, requests, endpoint="none", key_id=budget_id, status_class="4xx") == 1
    assert total(found, requests, endpoint="none", key_id=rate_id, status_class="4xx") == 1
    assert total(found, requests, endpoint="none", key_id="", status_class="4xx") == 1  # 401
    assert total(found, requests) == 8
    assert total(found, requests, strategy="cost") == 6  # routed: all but the two at the door
    # one fallback, after two 5xx on ep-a (the second a quick retry); refusals are no fallbacks
    assert total(found, "rolecall_fallbacks") == 1
    assert total(found, "rolecall_fallbacks", from_endpoint="ep-a", to_endpoint="ep-b") == 1
    assert total(found, "rolecall_retries", endpoint="ep-a") == 1
    assert (
        total(found, "rolecall_upstream_errors", endpoint="ep-a", error_class="upstream_5xx") == 2
    )
    assert total(found, "rolecall_refusals") == 2
    assert total(found, "rolecall_refusals", reason="budget_exceeded", key_id=budget_id) == 1
    assert total(found, "rolecall_refusals", reason="rate_limit_exceeded", key_id=rate_id) == 1
    # every request was timed; the stream's first token too
    duration = "rolecall_request_duration_seconds"
    assert total(found, duration, f"{duration}_count") == 8
    assert total(found, duration, f"{duration}_bucket", le="+Inf") == 8
    assert 0 < total(found, duration, f"{duration}_sum") < 60
    ttft = "rolecall_time_to_first_token_seconds"
    assert total(found, ttft, f"{ttft}_count", endpoint="ep-a") == 1
    # tokens and cost of the answers, by endpoint and key
    assert total(found, "rolecall_tokens", endpoint="ep-a", key_id=tests_key, type="output") > 0
    assert total(found, "rolecall_cost_usd", endpoint="ep-b", key_id=tests_key) > 0
    # routing: five decisions chose an endpoint, the budget's had none left
    assert total(found, "rolecall_routing_decisions", strategy="cost", outcome="chosen") == 5
    assert total(found, "rolecall_routing_decisions", outcome="none") == 1
    assert total(found, "rolecall_routing_selection_reasons", reason="BEST_TOTAL_SCORE") == 5
    assert total(found, "rolecall_routing_exclusions", code="BUDGET_EXCEEDED") == 2
    # read at scrape time: ep-a cools down; the spool's backlog
    assert total(found, "rolecall_endpoint_cooldown_active", endpoint="ep-a") == 1
    assert total(found, "rolecall_endpoint_cooldown_active", endpoint="ep-b") == 0
    assert 0 < total(found, "rolecall_endpoint_cooldown_remaining_seconds", endpoint="ep-a") <= 6
    assert total(found, "rolecall_spool_pending_bytes") >= 0
    assert "rolecall_record_writer_lag_seconds" in found


def test_a_metrics_token_is_required_once_set(
    upstream_a: Any, upstream_b: Any, db_url: str, tmp_path: Path
) -> None:
    config = inventory(upstream_a, upstream_b)
    with Gateway(config, db_url, tmp_path, metrics_token="scrape-secret") as gw:
        assert scrape(gw)[0] == 401
        assert scrape(gw, "wrong")[0] == 401
        status, text = scrape(gw, "scrape-secret")
        assert status == 200
        assert "rolecall_requests" in families(text)


def test_metrics_can_be_turned_off(
    upstream_a: Any, upstream_b: Any, db_url: str, tmp_path: Path
) -> None:
    with Gateway(inventory(upstream_a, upstream_b), db_url, tmp_path, metrics=False) as gw:
        assert chat(gw, gw.api_key)[0] == 200
        assert scrape(gw)[0] == 404
        _, document = gw.raw("/openapi.json", None, {})
        assert "/metrics" not in document["paths"]
