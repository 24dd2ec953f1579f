"""The console's SQL aggregation (`SqlAnalytics`) on SQLite and PostgreSQL, against values
computed independently in Python from the same generated usage events."""

from __future__ import annotations

import random
from typing import Any

import pytest
from alembic import command
from sqlalchemy import insert

from rolecall.console.slices import (
    add_histograms,
    approx_quantile,
    coarse_quantile,
    combine,
    exact_quantiles,
)
from rolecall.storage import SqlStorage, open_storage
from rolecall.storage.analytics import FactFilter
from rolecall.storage.migrate import alembic_config
from rolecall.storage.sql_analytics_tables import status_family
from rolecall.storage.sql_engine import create_storage_engine
from rolecall.storage.sql_tables import DECISIONS, USAGE_EVENTS

T0 = 1_700_000_000_000
ENDPOINTS = ("ep-a", "ep-b", "ep-c")
ERRORS = (None, None, None, None, "timeout", "invalid_request")


def decision(i: int, chosen: str, strategy: str) -> dict[str, Any]:
    return {
        "routing_decision_id": f"decision-r{i}",
        "request_id": f"r{i}",
        "app_id": "default",
        "org_id": None,
        "policy_snapshot": {"strategy": strategy},
        "eligibility": [],
        "scored_candidates": [],
        "chosen_endpoint_id": chosen,
        "fallback_endpoint_ids": [],
        "selection_reasons": [],
        "used_measured": False,
        "used_declared": True,
        "scoring_version": "baseline-v2",
    }


def usage(i: int, endpoint: str, rng: random.Random) -> dict[str, Any]:
    error = rng.choice(ERRORS)
    event: dict[str, Any] = {
        "event_id": f"u{i}",
        "timestamp_ms": T0 + i * 1000,
        "app_id": "default",
        "request_id": f"r{i}",
        "routing_decision_id": f"decision-r{i}",
        "endpoint_id": endpoint,
        "model_id": f"model-{endpoint}",
        "provider_kind": "remote_openai_compat",
        "tokens_in": rng.randint(1, 500),
        "tokens_out": rng.randint(0, 300),
        "latency_ms": round(rng.uniform(5, 900), 3),
        "sample_source": "live_request",
    }
    if error:
        event["error_class"] = error
    elif endpoint != "ep-c":  # ep-c has no price: cost is partial across the slice
        event["cost_actual"] = round(event["tokens_in"] * 1e-6 + event["tokens_out"] * 3e-6, 9)
    return event


def populate(storage: SqlStorage, n: int = 240) -> list[dict[str, Any]]:
    """n requests; every 7th ran on a fallback (executed endpoint ≠ chosen)."""
    rng = random.Random(7)
    events, decisions = [], []
    for i in range(n):
        chosen = ENDPOINTS[i % 3]
        executed = ENDPOINTS[(i + 1) % 3] if i % 7 == 0 else chosen
        decisions.append((decision(i, chosen, "cost" if i % 2 else "balanced"), T0 + i * 1000))
        events.append(usage(i, executed, rng))
    with storage.batch():  # as the record writer stores them
        storage.decisions.put_many(decisions)
        storage.usage.add(events)
        storage.analytics.add_facts(events, [d for d, _ in decisions])
    return events


def add_usage_and_facts(storage: SqlStorage, events: list[dict[str, Any]]) -> None:
    """Usage events and their request facts, in one transaction (the decisions read back)."""
    with storage.batch():
        storage.usage.add(events)
        storage.analytics.add_facts(events)


def nearest_rank(values: list[float], q: float) -> float:
    """The smallest value with at least a fraction q of the values at or below it."""
    ordered = sorted(values)
    for i, value in enumerate(ordered, start=1):
        if i >= q * len(ordered):
            return value
    return ordered[-1]


def test_facts_follow_usage_and_decisions(storage: SqlStorage) -> None:
    events = populate(storage)
    rows, total = storage.analytics.fact_page(FactFilter(), limit=500, offset=0)
    assert total == len(events) == len(rows)
    by_id = {r["request_id"]: r for r in rows}
    for e in events:
        fact = by_id[e["request_id"]]
        assert fact["endpoint_id"] == e["endpoint_id"]
        assert fact["status_family"] == status_family(e.get("error_class"))
        if "cost_actual" in e:
            assert fact["cost_usd"] == pytest.approx(e["cost_actual"])
        else:  # failed, or no price (and no estimate): unknown, not zero
            assert fact["cost_usd"] is None
    assert by_id["r0"]["chosen_endpoint_id"] == "ep-a"
    assert by_id["r0"]["endpoint_id"] == "ep-b"
    assert by_id["r1"]["strategy"] == "cost"
    # newest first, and pages do not overlap
    first, _ = storage.analytics.fact_page(FactFilter(), limit=10, offset=0)
    second, _ = storage.analytics.fact_page(FactFilter(), limit=10, offset=10)
    assert [r["timestamp_ms"] for r in first] == sorted(
        (r["timestamp_ms"] for r in first), reverse=True
    )
    assert first[-1]["timestamp_ms"] > second[0]["timestamp_ms"]


def totals(storage: SqlStorage, slice_: FactFilter) -> dict[str, Any]:
    return combine(storage.analytics.fact_groups(slice_))


def test_sums_quantiles_and_groups_match_python(storage: SqlStorage) -> None:
    events = populate(storage)
    slice_ = FactFilter(since_ms=T0 + 20_000, equals={"endpoint": "ep-a"})
    chosen = [e for e in events if e["timestamp_ms"] >= T0 + 20_000 and e["endpoint_id"] == "ep-a"]
    sums = totals(storage, slice_)
    assert sums["requests"] == len(chosen)
    assert sums["ok"] == sum(1 for e in chosen if "error_class" not in e)
    assert sums["tokens_in"] == sum(e["tokens_in"] for e in chosen)
    assert sums["cost_usd"] == pytest.approx(sum(e.get("cost_actual", 0.0) for e in chosen))
    assert sums["latency_avg_ms"] == pytest.approx(
        sum(e["latency_ms"] for e in chosen) / len(chosen)
    )
    latencies = [e["latency_ms"] for e in chosen]
    for q in (0.0, 0.5, 0.95, 1.0):
        (exact,) = exact_quantiles(storage.analytics, slice_, (q,)).values()
        assert exact == pytest.approx(nearest_rank(latencies, q)), q
    histogram = storage.analytics.fact_histogram(slice_)[None]
    approx = approx_quantile(histogram, 0.5)
    assert approx == pytest.approx(nearest_rank(latencies, 0.5), rel=0.04)

    by_endpoint = combine(storage.analytics.fact_groups(FactFilter(), ["endpoint"]), "endpoint")
    assert {k: v["requests"] for k, v in by_endpoint.items()} == {
        ep: sum(1 for e in events if e["endpoint_id"] == ep) for ep in ENDPOINTS
    }
    fallbacks = sum(v["fallbacks"] for v in by_endpoint.values())
    assert fallbacks == len(range(0, len(events), 7))


def test_buckets_add_up_to_the_totals(storage: SqlStorage) -> None:
    events = populate(storage)
    cells = storage.analytics.fact_groups(FactFilter(), ["endpoint"], bucket=(T0, 60_000))
    series = combine(cells, "bucket")
    assert sorted(series) == list(range(len(events) // 60))
    assert sum(v["requests"] for v in series.values()) == len(events)
    assert combine(cells)["tokens_out"] == sum(e["tokens_out"] for e in events)


SUM_KEYS = ("requests", "ok", "costed", "tokens_in", "tokens_out", "fallbacks")


def test_rollup_matches_facts_and_is_not_double_counted(storage: SqlStorage) -> None:
    events = populate(storage)
    storage.usage.add(events[:50])  # a replayed batch: ignored by facts and rollup alike
    storage.analytics.add_facts(events[:50])
    exact = combine(storage.analytics.fact_groups(FactFilter(), ["endpoint"]), "endpoint")
    rolled = combine(storage.analytics.rollup_groups(FactFilter(), ["endpoint"]), "endpoint")
    assert exact.keys() == rolled.keys()
    for endpoint, sums in exact.items():
        for key in SUM_KEYS:
            assert rolled[endpoint][key] == sums[key], (endpoint, key)
        assert rolled[endpoint]["latency_sum_ms"] == pytest.approx(sums["latency_sum_ms"])
    histogram = add_histograms(storage.analytics.rollup_groups(FactFilter(), [], histogram=True))
    assert sum(histogram) == len(events)
    latencies = [e["latency_ms"] for e in events]
    for q in (0.5, 0.95):
        assert coarse_quantile(histogram, q) == pytest.approx(nearest_rank(latencies, q), rel=0.1)


def test_status_and_role_filters(storage: SqlStorage) -> None:
    events = populate(storage, 30)
    storage.analytics.annotate_requests(
        [
            {"request_id": e["request_id"], "role_id": "coder.patch", "task_type": "code.edit"}
            for e in events[:5]
        ]
    )
    assert totals(storage, FactFilter(equals={"role": "coder.patch"}))["requests"] == 5
    assert totals(storage, FactFilter(equals={"operation": "code.edit"}))["requests"] == 5
    # the rollup moved those five from "no role" to the role
    by_role = combine(storage.analytics.rollup_groups(FactFilter(), ["role"]), "role")
    assert by_role["coder.patch"]["requests"] == 5
    assert by_role[None]["requests"] == len(events) - 5
    errors = sum(1 for e in events if e.get("error_class") == "timeout")
    assert totals(storage, FactFilter(equals={"status": "5xx"}))["requests"] == errors
    # annotated before its usage is stored: written with the fact row, no update needed
    storage.analytics.annotate_requests(
        [{"request_id": "r500", "role_id": "tool.agent", "task_type": "x"}]
    )
    storage.decisions.put(decision(500, "ep-a", "cost"), created_ms=T0)
    add_usage_and_facts(storage, [usage(500, "ep-a", random.Random(2))])
    fact = storage.analytics.fact_for("r500")
    assert fact is not None
    assert (fact["role_id"], fact["task_type"]) == ("tool.agent", "x")
    assert (
        combine(storage.analytics.rollup_groups(FactFilter(equals={"role": "tool.agent"})))[
            "requests"
        ]
        == 1
    )
    with pytest.raises(ValueError, match="unknown filter 'colour'"):
        FactFilter(equals={"colour": "red"})
    with pytest.raises(ValueError, match="unknown dimension 'colour'"):
        storage.analytics.fact_groups(FactFilter(), ["colour"])


def test_decision_page_filters(storage: SqlStorage) -> None:
    populate(storage, 30)
    storage.decisions.put(decision(999, "", "quality"), created_ms=T0 + 999_000)
    add_usage_and_facts(storage, [usage(999, "none", random.Random(1))])
    items, total = storage.analytics.decision_page(limit=5, offset=0, outcome="no_endpoint")
    assert total == 1
    assert items[0]["request_id"] == "r999"
    items, total = storage.analytics.decision_page(
        limit=50, offset=0, endpoint_id="ep-b", strategy="cost"
    )
    assert total == len(items) > 0
    assert all(
        i["chosen_endpoint_id"] == "ep-b" and i["policy_snapshot"]["strategy"] == "cost"
        for i in items
    )


def test_decision_stored_elsewhere_is_read_back(db_url: str) -> None:
    """Usage whose decision another process stored: the facts read it from the database."""
    first, second = open_storage(db_url), open_storage(db_url)
    try:
        first.decisions.put(decision(7, "ep-b", "latency"), created_ms=T0)
        add_usage_and_facts(second, [usage(7, "ep-c", random.Random(4))])
        fact = second.analytics.fact_for("r7")
        assert fact is not None
        assert (fact["chosen_endpoint_id"], fact["strategy"]) == ("ep-b", "latency")
        assert combine(second.analytics.fact_groups(FactFilter()))["fallbacks"] == 1
    finally:
        first.close()
        second.close()


def test_migration_backfills_facts_of_earlier_data(db_url: str) -> None:
    engine = create_storage_engine(db_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0002_benchmark")
        rng = random.Random(3)
        events = [usage(i, ENDPOINTS[i % 3], rng) for i in range(20)]
        with engine.begin() as connection:
            connection.execute(
                insert(DECISIONS),
                [
                    {
                        "routing_decision_id": f"decision-r{i}",
                        "request_id": f"r{i}",
                        "chosen_endpoint_id": ENDPOINTS[i % 3],
                        "strategy": "latency",
                        "created_ms": T0,
                        "artifact": decision(i, ENDPOINTS[i % 3], "latency"),
                    }
                    for i in range(20)
                ],
            )
            connection.execute(
                insert(USAGE_EVENTS),
                [
                    {
                        k: e[k]
                        for k in (
                            "event_id",
                            "request_id",
                            "routing_decision_id",
                            "endpoint_id",
                            "timestamp_ms",
                        )
                    }
                    | {"artifact": e}
                    for e in events
                ],
            )
    finally:
        engine.dispose()
    storage = open_storage(db_url)
    try:
        rows, total = storage.analytics.fact_page(FactFilter(), limit=100, offset=0)
        assert total == 20
        assert {r["strategy"] for r in rows} == {"latency"}
        assert totals(storage, FactFilter())["tokens_in"] == sum(e["tokens_in"] for e in events)
        rolled = combine(storage.analytics.rollup_groups(FactFilter()))
        assert rolled["requests"] == 20
        assert rolled["tokens_in"] == sum(e["tokens_in"] for e in events)
    finally:
        storage.close()
