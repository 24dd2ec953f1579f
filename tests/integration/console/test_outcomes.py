"""Observe counts what requests became, over real traffic (SQLite and PostgreSQL): a refusal is a
refusal and never a fallback, a decision-only call is a decision and never traffic, and every
window — facts or rollup — counts the same facts the same way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.gateway.harness import Gateway

from .conftest import call
from .traffic import Sent, outcomes_inventory, send_each_outcome, upstreams

EXACT = ("requests", "ok", "failed", "refused", "decisions", "executed", "fallbacks", "costed")
EXACT += ("tokens_in", "tokens_out")
WINDOWS = ("15m", "1h", "6h", "24h", "7d", "30d")


@pytest.fixture
def traffic(db_url: str, tmp_path: Path) -> Iterator[tuple[Gateway, Sent]]:
    with (
        upstreams() as (local, remote),
        Gateway(outcomes_inventory(local, remote), db_url, tmp_path) as gw,
    ):
        yield gw, send_each_outcome(gw)


def analytics(gw: Gateway, query: str) -> dict[str, Any]:
    status, body = call(gw, f"/api/console/analytics?{query}")
    assert status == 200, body
    return body


def ledger(gw: Gateway, query: str = "window=1h") -> list[dict[str, Any]]:
    status, body = call(gw, f"/api/console/requests?{query}&limit=500")
    assert status == 200, body
    assert body["total"] == len(body["data"])
    return list(body["data"])


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return next(v for i, v in enumerate(ordered, start=1) if i >= q * len(ordered))


def test_each_outcome_is_counted_as_what_it_was(traffic: tuple[Gateway, Sent]) -> None:
    gw, sent = traffic
    totals = analytics(gw, "window=1h")["totals"]
    refused = sent.count("no_eligible", "budget")
    assert totals["requests"] == sent.count("served", "fallback", "failed") + refused
    assert totals["ok"] == sent.count("served", "fallback")
    assert (totals["failed"], totals["refused"]) == (sent.count("failed"), refused)
    assert totals["decisions"] == sent.count("decision_only")
    assert totals["executed"] == sent.count("served", "fallback", "failed")
    # the local model failed both: one ran on the remote and was served, one failed there too;
    # the refusals (chosen: none) are not fallbacks
    assert totals["fallbacks"] == 2
    rows = {r["request_id"]: r for r in ledger(gw)}
    assert len(rows) == totals["requests"] + totals["decisions"]
    ran = [r for r in rows.values() if r["outcome"] in ("served", "failed")]
    latencies = [r["latency_ms"] for r in ran]
    assert totals["latency_p50_ms"] == nearest_rank(latencies, 0.5)
    assert totals["latency_avg_ms"] == pytest.approx(sum(latencies) / len(latencies))
    assert totals["cost_usd"] == pytest.approx(sum(r["cost_usd"] or 0.0 for r in ran))
    [decided] = sent.ids["decision_only"]
    assert rows[decided]["outcome"] == "decision_only"
    assert rows[decided]["cost_usd"] is None  # nothing ran: no cost, not even an estimate
    for kind in ("no_eligible", "budget"):
        [rid] = sent.ids[kind]
        assert (rows[rid]["outcome"], rows[rid]["endpoint_id"]) == ("refused", "none")


def test_every_window_counts_the_same_facts(traffic: tuple[Gateway, Sent]) -> None:
    gw, _ = traffic
    seen = {w: analytics(gw, f"window={w}") for w in WINDOWS}
    reference = seen["15m"]["totals"]
    for window, body in seen.items():
        totals = body["totals"]
        assert {k: totals[k] for k in EXACT} == {k: reference[k] for k in EXACT}, window
        assert totals["cost_usd"] == pytest.approx(reference["cost_usd"]), window
        assert totals["latency_sum_ms"] == pytest.approx(reference["latency_sum_ms"]), window
        # long windows read the rollup's coarse histogram: within its ≈9%
        assert totals["latency_p95_ms"] == pytest.approx(reference["latency_p95_ms"], rel=0.1)
        assert body["quantiles_approximate"] == (window in ("6h", "24h", "7d", "30d"))
        series = body["series"]
        assert sum(p["requests"] for p in series) == totals["requests"], window
        assert sum(p["decisions"] for p in series) == totals["decisions"], window
        assert all(p["latency_p95_ms"] is None or p["latency_p95_ms"] > 0 for p in series)
        breakdown = {r["value"]: r for r in body["breakdown"]["rows"]}
        assert sum(r["refused"] for r in breakdown.values()) == totals["refused"]


def test_outcome_is_a_filter_and_a_grouping(traffic: tuple[Gateway, Sent]) -> None:
    gw, sent = traffic
    refused = {r["request_id"] for r in ledger(gw, "window=24h&outcome=refused")}
    assert refused == {*sent.ids["no_eligible"], *sent.ids["budget"]}
    for window in ("1h", "24h"):
        body = analytics(gw, f"window={window}&group_by=outcome")
        rows = {r["value"]: r for r in body["breakdown"]["rows"]}
        assert rows["served"]["requests"] == sent.count("served", "fallback")
        assert rows["failed"]["failed"] == sent.count("failed")
        assert rows["refused"]["refused"] == len(refused)
        assert (rows["decision_only"]["requests"], rows["decision_only"]["decisions"]) == (0, 1)
    status, body = call(gw, "/api/console/analytics?outcome=fallback")
    assert status == 400
    assert body["error"]["param"] == "outcome"
    assert "served, failed, refused, decision_only" in body["error"]["message"]


def test_routing_and_agreement_leave_refusals_out_of_endpoints(
    traffic: tuple[Gateway, Sent],
) -> None:
    gw, sent = traffic
    for window in ("1h", "24h"):
        status, routing = call(gw, f"/api/console/routing?window={window}")
        assert status == 200, routing
        volume = {r["value"]: r for r in routing["volume"]}
        assert (volume["none"]["refused"], volume["none"]["fallbacks"]) == (2, 0)
        assert sum(r["fallbacks"] for r in routing["strategies"]) == 2
        assert routing["cost_avoided"]["requests"] == sent.count("served", "fallback")
        status, agreement = call(gw, f"/api/console/agreement?window={window}")
        assert status == 200, agreement
        remote = next(e for e in agreement["endpoints"] if e["endpoint_id"] == "cloud-large")
        live = remote["live"]
        assert live["failure_rate"] == pytest.approx(live["failed"] / live["executed"])


def test_request_and_decision_pages_say_what_became_of_it(
    traffic: tuple[Gateway, Sent],
) -> None:
    gw, sent = traffic
    expected = {
        "served": ("served", False),
        "fallback": ("served", True),
        "failed": ("failed", True),
        "decision_only": ("decision_only", False),
        "no_eligible": ("refused", False),
        "budget": ("refused", False),
    }
    for kind, (outcome, fallback) in expected.items():
        rid = sent.ids[kind][0]
        status, body = call(gw, f"/api/console/requests/{rid}")
        assert status == 200, body
        view = body["outcome"]
        assert (view["outcome"], view["fallback"]) == (outcome, fallback), kind
        if outcome in ("refused", "decision_only"):
            assert (view["executed_on"], view["latency_ms"], view["cost_actual_usd"]) == (
                None,
                None,
                None,
            )
        status, detail = call(gw, f"/api/console/decisions/{sent.decisions[rid]}")
        assert status == 200, detail
        assert detail["outcome"] == view
    reasons = {
        k: call(gw, f"/api/console/requests/{sent.ids[k][0]}")[1]["outcome"]["reason"]
        for k in ("budget", "no_eligible", "failed", "decision_only")
    }
    assert reasons["budget"].startswith("refused: a budget had no room")
    assert "Budget exceeded" in reasons["budget"]
    assert reasons["no_eligible"].startswith("refused: no endpoint was eligible")
    assert "upstream_5xx" in reasons["failed"]
    assert "HTTP 500" in reasons["failed"]
    assert "decision-only" in reasons["decision_only"]
    status, body = call(gw, "/api/console/requests/req-nothing-like-it")
    assert status == 404
    assert "req-nothing-like-it" in body["error"]["message"]
