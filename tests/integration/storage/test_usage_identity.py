"""Who each request was for, stored: the identity columns of usage events, lookups by the
client's request id, the usage rollup counting each request once (a replayed batch adds
nothing), and migration 0007 backfilling usage per key — on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest
from alembic import command
from sqlalchemy import MetaData, Table, select

from rolecall.observe.observation import Observation, encode_observations
from rolecall.storage import migrate, open_storage
from rolecall.storage.migrate import alembic_config
from rolecall.storage.record_writer import store_observed
from rolecall.storage.sql import SqlStorage
from rolecall.storage.sql_analytics_tables import USAGE_ROLLUP, fact_row
from rolecall.storage.sql_engine import create_storage_engine
from rolecall.storage.usage_rollup import UsageSlice
from tests.integration.storage import builders
from tests.integration.storage.builders import NOW_MS

HOUR_MS = 3_600_000


def _observed(request_id: str, **identity: object) -> Observation:
    return replace(builders.observation(request_id), **identity)  # type: ignore[arg-type]


def test_identity_is_stored_and_found_by_either_id(storage: SqlStorage) -> None:
    identities = {
        "req-1": {
            "team": "eng",
            "user": "alice",
            "client_request_id": "client-1",
            "metadata": {"feature": "search", "tags": "prod, beta"},
        }
    }
    storage.usage.add([builders.usage("u1"), builders.usage("u2", request_id="req-2")], identities)
    request_id, found = storage.usage.lookup("client-1")
    assert request_id == "req-1"
    assert [u["event_id"] for u in found] == ["u1"]
    assert storage.usage.lookup("req-2")[0] == "req-2"
    assert storage.usage.lookup("nobody") == ("nobody", [])
    assert storage.usage.identity_for("req-1") == {
        "team": "eng",
        "user": "alice",
        "client_request_id": "client-1",
        "metadata": {"feature": "search", "tags": "prod, beta"},
        "tags": ["prod", "beta"],
    }
    assert storage.usage.identity_for("req-2") == {
        "team": None,
        "user": None,
        "client_request_id": None,
        "metadata": None,
        "tags": [],
    }


def test_the_rollup_counts_each_request_once_per_group(storage: SqlStorage) -> None:
    parts = [
        encode_observations(
            [
                _observed("req-1", app_id="key_a", team="eng", user="alice", tags=["prod"]),
                _observed("req-2", app_id="key_a", team="eng", tags=["prod", "beta"]),
                _observed("req-3", app_id="key_b", ok=False, error_class="upstream_5xx"),
            ]
        )
    ]
    store_observed(storage, parts)
    store_observed(storage, parts)  # a spool replayed after a crash: stored once
    rollup = storage.usage_rollup
    window = (NOW_MS - HOUR_MS, NOW_MS + HOUR_MS)

    def totals(dimension: str) -> dict[str, tuple[int, int, float]]:
        rows = rollup.totals(UsageSlice(dimension, *window), limit=10)
        return {r["value"]: (r["requests"], r["ok"], round(r["cost_usd"], 9)) for r in rows}

    assert totals("key") == {"key_a": (2, 2, 0.0002), "key_b": (1, 0, 0.0)}
    assert totals("team") == {"eng": (2, 2, 0.0002)}
    assert totals("user") == {"alice": (1, 1, 0.0001)}
    assert totals("tag") == {"prod": (2, 2, 0.0002), "beta": (1, 1, 0.0001)}
    assert rollup.sums(UsageSlice("key", *window))["requests"] == 3
    assert rollup.count(UsageSlice("tag", *window)) == 2
    [hour] = rollup.series(UsageSlice("key", *window, value="key_a"), ["key_a"], HOUR_MS)
    assert (hour["start_ms"], hour["requests"]) == (NOW_MS - NOW_MS % HOUR_MS, 2)
    # and the facts of the console count the same requests
    assert storage.analytics.stored_request_ids(["req-1", "req-2", "req-3"]) == {
        "req-1",
        "req-2",
        "req-3",
    }


def test_a_bucket_must_be_whole_hours(storage: SqlStorage) -> None:
    with pytest.raises(ValueError, match="whole number of hours"):
        storage.usage_rollup.series(UsageSlice("key", 0, HOUR_MS), ["a"], 60_000)
    with pytest.raises(ValueError, match="unknown dimension"):
        UsageSlice("model", 0, HOUR_MS)


def test_migration_0007_backfills_usage_per_key(db_url: str) -> None:
    """Requests stored before 0007 count per key in the rollup afterwards (their team, user and
    tags were never recorded), and the downgrade removes what 0007 added."""
    engine = create_storage_engine(db_url)
    events = [
        {**builders.usage("u1", request_id="req-1"), "app_id": "key_a"},
        {**builders.usage("u2", request_id="req-2", at=NOW_MS + HOUR_MS), "app_id": "key_a"},
        {**builders.usage("u3", request_id="req-3"), "app_id": "key_b"},
    ]
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0006_limits")
            meta = MetaData()
            usage = Table("usage_events", meta, autoload_with=connection)
            facts = Table("request_facts", meta, autoload_with=connection)
            connection.execute(
                usage.insert(),
                [
                    {
                        "event_id": e["event_id"],
                        "request_id": e["request_id"],
                        "routing_decision_id": e["routing_decision_id"],
                        "endpoint_id": e["endpoint_id"],
                        "timestamp_ms": e["timestamp_ms"],
                        "artifact": e,
                        "app_id": e["app_id"],
                    }
                    for e in events
                ],
            )
            connection.execute(facts.insert(), [fact_row(e, None) for e in events])
        migrate(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                select(USAGE_ROLLUP.c.value, USAGE_ROLLUP.c.bucket_ms, USAGE_ROLLUP.c.requests)
                .where(USAGE_ROLLUP.c.dimension == "key")
                .order_by(USAGE_ROLLUP.c.value, USAGE_ROLLUP.c.bucket_ms)
            ).all()
        hour = NOW_MS - NOW_MS % HOUR_MS
        assert [tuple(r) for r in rows] == [
            ("key_a", hour, 1),
            ("key_a", hour + HOUR_MS, 1),
            ("key_b", hour, 1),
        ]
        storage = open_storage(db_url)
        try:
            slice_ = UsageSlice("key", hour, hour + 2 * HOUR_MS)
            costs = {
                r["value"]: r["cost_usd"] for r in storage.usage_rollup.totals(slice_, limit=5)
            }
            assert costs == pytest.approx({"key_a": 0.0002, "key_b": 0.0001})
        finally:
            storage.close()
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0006_limits")
            columns = {
                c.name for c in Table("usage_events", MetaData(), autoload_with=connection).c
            }
            assert "client_request_id" not in columns
            assert "app_id" in columns
    finally:
        engine.dispose()
