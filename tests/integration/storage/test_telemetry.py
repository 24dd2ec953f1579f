"""DecisionStore, TraceStore and UsageStore on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from rolecall.protocol import validate_artifact
from rolecall.storage import SqlStorage
from tests.integration.storage.builders import NOW_MS, decision, event, span, usage


def test_decision_round_trip(storage: SqlStorage) -> None:
    written = decision("dec-1")
    validate_artifact("router-decision", written)
    storage.decisions.put(written, created_ms=NOW_MS)
    read = storage.decisions.get("dec-1")
    assert read == written
    validate_artifact("router-decision", read)
    assert storage.decisions.get("missing") is None


def test_decision_upsert_replaces_artifact(storage: SqlStorage) -> None:
    storage.decisions.put(decision("dec-1", chosen="e1"), created_ms=NOW_MS)
    storage.decisions.put(decision("dec-1", chosen="e2"), created_ms=NOW_MS + 5)
    assert storage.decisions.count() == 1
    assert storage.decisions.recent(endpoint_id="e1") == []
    assert storage.decisions.recent(endpoint_id="e2") == [decision("dec-1", chosen="e2")]


def test_decisions_newest_first_with_pagination_and_filter(storage: SqlStorage) -> None:
    for n in range(7):
        chosen = "even" if n % 2 == 0 else "odd"
        storage.decisions.put(decision(f"dec-{n}", chosen=chosen), created_ms=NOW_MS + n)
    assert storage.decisions.count() == 7

    def ids(page: list[dict[str, object]]) -> list[object]:
        return [d["routing_decision_id"] for d in page]

    assert ids(storage.decisions.recent(limit=3)) == ["dec-6", "dec-5", "dec-4"]
    assert ids(storage.decisions.recent(limit=3, offset=3)) == ["dec-3", "dec-2", "dec-1"]
    assert ids(storage.decisions.recent(limit=3, offset=6)) == ["dec-0"]
    assert ids(storage.decisions.recent(endpoint_id="odd")) == ["dec-5", "dec-3", "dec-1"]


def test_decision_without_required_key_is_refused(storage: SqlStorage) -> None:
    broken = decision("dec-1")
    del broken["request_id"]
    with pytest.raises(ValueError, match="request_id"):
        storage.decisions.put(broken, created_ms=NOW_MS)
    assert storage.decisions.count() == 0


def test_spans_round_trip_in_start_order(storage: SqlStorage) -> None:
    spans = [span("s2", started=NOW_MS + 5), span("s1"), span("other", request_id="req-2")]
    storage.traces.add_spans(spans)
    read = storage.traces.spans_for("req-1")
    assert read == [spans[1], spans[0]]
    for item in read:
        validate_artifact("trace-span", item)
    assert storage.traces.spans_for("nothing") == []


def test_events_round_trip_in_time_order(storage: SqlStorage) -> None:
    events = [event("ev2", at=NOW_MS + 3), event("ev1"), event("ev3", request_id="req-2")]
    storage.traces.add_events(events)
    read = storage.traces.events_for("req-1")
    assert read == [events[1], events[0]]
    for item in read:
        validate_artifact("trace-event", item)


def test_duplicate_telemetry_is_ignored(storage: SqlStorage) -> None:
    storage.traces.add_spans([span("s1")])
    storage.traces.add_spans([span("s1"), span("s2")])
    storage.traces.add_events([event("ev1")])
    storage.traces.add_events([event("ev1")])
    storage.usage.add([usage("u1")])
    storage.usage.add([usage("u1"), usage("u2")])
    assert len(storage.traces.spans_for("req-1")) == 2
    assert len(storage.traces.events_for("req-1")) == 1
    assert len(storage.usage.for_request("req-1")) == 2


def test_usage_round_trip_order_and_pagination(storage: SqlStorage) -> None:
    written = [
        usage(f"u{n}", request_id=f"req-{n % 2}", endpoint_id=f"e{n % 3}", at=NOW_MS + n)
        for n in range(6)
    ]
    storage.usage.add(written)
    for item in storage.usage.for_request("req-1"):
        validate_artifact("usage-event", item)
    assert storage.usage.for_request("req-1") == [written[1], written[3], written[5]]

    def ids(page: list[dict[str, object]]) -> list[object]:
        return [u["event_id"] for u in page]

    assert ids(storage.usage.recent(limit=4)) == ["u5", "u4", "u3", "u2"]
    assert ids(storage.usage.recent(limit=4, offset=4)) == ["u1", "u0"]
    assert ids(storage.usage.recent(endpoint_id="e0")) == ["u3", "u0"]


def test_negative_page_is_refused(storage: SqlStorage) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        storage.usage.recent(limit=-1)
