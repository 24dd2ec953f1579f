"""SampleStore and ProfileStore on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from rolecall.protocol import validate_artifact
from rolecall.storage import SqlStorage
from tests.integration.storage.builders import NOW_MS, profile, sample


def test_samples_round_trip_every_field(storage: SqlStorage) -> None:
    full = sample(
        "e1",
        tokens_per_sec=41.5,
        cold_start_ms=900.0,
        cost_per_1k_tokens=0.002,
        cost_usd=0.00013,
        judge_score=0.75,
        error_class="timeout",
        difficulty_bucket="hard",
        membership_revision="rev-3",
        benchmark_mode="full",
        source="benchmark",
    )
    sparse = sample("e1", at=NOW_MS + 1, latency_ms=None)
    storage.samples.add([full, sparse])
    assert storage.samples.for_endpoint("e1") == [full, sparse]


def test_samples_filters_and_order(storage: SqlStorage) -> None:
    storage.samples.add([sample("e1", at=NOW_MS + 20), sample("e1", at=NOW_MS)])
    storage.samples.add([sample("e1", at=NOW_MS + 10, source="benchmark"), sample("e2")])
    assert [s.timestamp_ms - NOW_MS for s in storage.samples.for_endpoint("e1")] == [0, 10, 20]
    assert [
        s.timestamp_ms - NOW_MS for s in storage.samples.for_endpoint("e1", since_ms=NOW_MS + 10)
    ] == [
        10,
        20,
    ]
    benchmark = storage.samples.for_endpoint("e1", source="benchmark")
    assert [s.source for s in benchmark] == ["benchmark"]
    assert storage.samples.for_endpoint("e1", since_ms=NOW_MS + 11, source="benchmark") == []
    assert storage.samples.for_endpoint("nobody") == []


def test_delete_samples_by_endpoint_source_and_all(storage: SqlStorage) -> None:
    storage.samples.add(
        [
            sample("e1"),
            sample("e1", source="benchmark"),
            sample("e2"),
            sample("e2", source="benchmark"),
            sample("e3"),
        ]
    )
    assert storage.samples.delete("e1", source="benchmark") == 1
    assert storage.samples.delete(source="benchmark") == 1
    assert storage.samples.delete("e2") == 1
    assert [s.endpoint_id for s in storage.samples.for_endpoint("e1")] == ["e1"]
    assert storage.samples.delete() == 2
    assert storage.samples.for_endpoint("e3") == []


def test_add_no_samples_is_a_no_op(storage: SqlStorage) -> None:
    storage.samples.add([])
    assert storage.samples.delete() == 0


def test_profile_round_trip_and_upsert(storage: SqlStorage) -> None:
    assert storage.profiles.get("e1") is None
    first = profile("e1")
    storage.profiles.put(first)
    stored = storage.profiles.get("e1")
    assert stored == first
    assert stored is not None
    validate_artifact("observed-performance-profile", stored)

    newer = profile("e1", p50=99.5)
    storage.profiles.put(newer)
    storage.profiles.put(profile("e0"))
    assert storage.profiles.get("e1") == newer
    assert [p.endpoint_id for p in storage.profiles.all()] == ["e0", "e1"]


def test_failed_batch_writes_nothing(storage: SqlStorage) -> None:
    good = sample("e1")
    bad = object.__new__(type(good))  # bypasses validation: no fields set at all
    with pytest.raises(AttributeError):
        storage.samples.add([good, bad])
    assert storage.samples.for_endpoint("e1") == []
