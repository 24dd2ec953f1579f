"""Windows read from the rollup count exactly the facts of the window (their first, partial
5-minute bucket read from the facts), and revision 0008 gives stored facts their outcomes."""

from __future__ import annotations

import random
from typing import Any

import pytest
from alembic import command
from sqlalchemy import insert

from rolecall.console.slices import add_histograms, combine
from rolecall.storage import SqlStorage, open_storage
from rolecall.storage.analytics import FactFilter
from rolecall.storage.migrate import alembic_config
from rolecall.storage.sql_analytics_tables import ROLLUP_MS, histogram_bin
from rolecall.storage.sql_engine import create_storage_engine
from rolecall.storage.sql_tables import DECISIONS, REQUEST_TRACES, USAGE_EVENTS

from .test_analytics import ENDPOINTS, decision, usage

# not on a 5-minute boundary: every window starts inside a bucket
NOW = 1_700_000_000_000 + 2 * ROLLUP_MS + 123_457
SUMMED = ("requests", "ok", "failed", "refused", "decisions", "executed", "fallbacks", "costed")
REFUSALS = ("no_eligible_endpoint", "budget_exceeded")


def spread(storage: SqlStorage, n: int = 600) -> None:
    """``n`` requests over the 30 hours before NOW, of every outcome, some refused and some
    decision-only (told apart by the annotation of whether they ran)."""
    rng = random.Random(11)
    events, decisions, ran = [], [], []
    for i in range(n):
        chosen = ENDPOINTS[i % 3]
        event = usage(i, ENDPOINTS[(i + 1) % 3] if i % 7 == 0 else chosen, rng)
        event["timestamp_ms"] = NOW - rng.randrange(30 * 3_600_000)
        executed = i % 11 != 0
        if i % 13 == 0:  # refused: ran nowhere, chosen none
            event |= {"error_class": REFUSALS[i % 2], "endpoint_id": "none"}
            event.pop("cost_actual", None)
            chosen, executed = "", False
        elif not executed:  # decision-only: no error, nothing ran
            event.pop("error_class", None)
        decisions.append((decision(i, chosen, "balanced"), event["timestamp_ms"]))
        events.append(event)
        ran.append({"request_id": f"r{i}", "role_id": None, "task_type": "x", "executed": executed})
    with storage.batch():
        storage.decisions.put_many(decisions)
        storage.analytics.annotate_requests(ran)
        storage.usage.add(events)
        storage.analytics.add_facts(events, [d for d, _ in decisions])


@pytest.mark.parametrize("span_ms", [6 * 3_600_000, 24 * 3_600_000, 29 * 3_600_000 + 17])
def test_rollup_windows_equal_the_facts(storage: SqlStorage, span_ms: int) -> None:
    spread(storage)
    slice_ = FactFilter(since_ms=NOW - span_ms)
    analytics = storage.analytics
    exact = combine(analytics.fact_groups(slice_, ["endpoint"]), "endpoint")
    windowed = combine(analytics.window_groups(slice_, ["endpoint"]), "endpoint")
    assert windowed.keys() == exact.keys()
    for endpoint, sums in exact.items():
        assert {k: windowed[endpoint][k] for k in SUMMED} == {k: sums[k] for k in SUMMED}
        assert windowed[endpoint]["latency_sum_ms"] == pytest.approx(sums["latency_sum_ms"])
        assert windowed[endpoint]["cost_usd"] == pytest.approx(sums["cost_usd"])
    # the coarse histogram of the window: the executed facts' latencies, binned
    rows, _ = analytics.fact_page(slice_, limit=10_000, offset=0)
    ran = [r for r in rows if r["outcome"] in ("served", "failed")]
    histogram = add_histograms(analytics.window_groups(slice_, [], histogram=True))
    expected = [0] * len(histogram)
    for r in ran:
        expected[histogram_bin(r["latency_ms"])] += 1
    assert histogram == expected
    # without the partial first bucket from the facts, the rollup would count more
    widened = combine(analytics.rollup_groups(slice_))
    assert widened["requests"] + widened["decisions"] >= len(rows)


def test_refusals_and_decisions_keep_out_of_traffic_figures(storage: SqlStorage) -> None:
    spread(storage, 200)
    rows, _ = storage.analytics.fact_page(FactFilter(), limit=1000, offset=0)
    by_outcome: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_outcome.setdefault(r["outcome"], []).append(r)
    totals = combine(storage.analytics.fact_groups(FactFilter()))
    ran = by_outcome["served"] + by_outcome["failed"]
    assert totals["requests"] == len(rows) - len(by_outcome["decision_only"])
    assert totals["refused"] == len(by_outcome["refused"]) > 0
    assert totals["decisions"] == len(by_outcome["decision_only"]) > 0
    assert totals["latency_sum_ms"] == pytest.approx(sum(r["latency_ms"] for r in ran))
    assert totals["fallbacks"] == sum(
        1 for r in ran if r["chosen_endpoint_id"] and r["chosen_endpoint_id"] != r["endpoint_id"]
    )
    assert all(r["cost_usd"] is None for r in by_outcome["decision_only"])


def _old_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("event_id", "request_id", "routing_decision_id", "endpoint_id", "timestamp_ms")
    return [{k: e[k] for k in keys} | {"artifact": e} for e in events]


def test_revision_0008_gives_stored_facts_their_outcomes(db_url: str) -> None:
    """Facts stored before outcomes existed: refused and failed from their error class, a
    request with no error, no tokens and no provider span decision-only, the rest served."""
    rng = random.Random(5)
    events = [usage(i, ENDPOINTS[i % 3], rng) for i in range(8)]
    for e in events:
        e.pop("error_class", None)
    events[1] |= {"error_class": "budget_exceeded", "endpoint_id": "none"}
    events[2] |= {"error_class": "upstream_5xx"}
    events[3] |= {"tokens_in": 0, "tokens_out": 0, "cost_estimate": 0.5}  # decision-only
    events[3].pop("cost_actual", None)
    events[4] |= {"tokens_in": 0, "tokens_out": 0}  # no tokens, yet it ran: served
    chosen = [e["endpoint_id"] for e in events]
    engine = create_storage_engine(db_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0002_benchmark")
            connection.execute(
                insert(DECISIONS),
                [
                    {
                        "routing_decision_id": f"decision-r{i}",
                        "request_id": f"r{i}",
                        "chosen_endpoint_id": chosen[i],
                        "strategy": "cost",
                        "created_ms": e["timestamp_ms"],
                        "artifact": decision(i, chosen[i], "cost"),
                    }
                    for i, e in enumerate(events)
                ],
            )
            connection.execute(insert(USAGE_EVENTS), _old_rows(events))
            command.upgrade(alembic_config(connection), "0006_limits")
            traces = [_trace(e, ran=i != 3) for i, e in enumerate(events)]
            connection.execute(insert(REQUEST_TRACES), traces)
    finally:
        engine.dispose()
    storage = open_storage(db_url)  # migrates to the head
    try:
        rows, total = storage.analytics.fact_page(FactFilter(), limit=100, offset=0)
        outcomes = {r["request_id"]: r["outcome"] for r in rows}
        assert total == len(events)
        assert (outcomes["r1"], outcomes["r2"], outcomes["r3"], outcomes["r4"]) == (
            "refused",
            "failed",
            "decision_only",
            "served",
        )
        assert {outcomes[f"r{i}"] for i in (0, 5, 6, 7)} == {"served"}
        assert storage.analytics.fact_for("r3")["cost_usd"] is None  # type: ignore[index]
        rolled = combine(storage.analytics.rollup_groups(FactFilter()))
        exact = combine(storage.analytics.fact_groups(FactFilter()))
        assert {k: rolled[k] for k in SUMMED} == {k: exact[k] for k in SUMMED}
        assert (rolled["refused"], rolled["failed"], rolled["decisions"]) == (1, 1, 1)
    finally:
        storage.close()


def _trace(event: dict[str, Any], *, ran: bool) -> dict[str, Any]:
    span = {"span_id": "s", "span_type": "router.selection", "started_at_ms": 1, "ended_at_ms": 2}
    spans = [span | {"status": "ok", "attributes": {}}]
    if ran:
        spans.append(spans[0] | {"span_id": "p", "span_type": "provider.prefill"})
    return {
        "request_id": event["request_id"],
        "trace_id": f"t-{event['request_id']}",
        "routing_decision_id": event["routing_decision_id"],
        "started_at_ms": event["timestamp_ms"],
        "spans": spans,
        "events": [],
    }
