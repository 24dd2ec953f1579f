"""`EvidenceIntake`, the one use case for benchmark samples: stored, profiles refreshed from
every stored sample, stored and published (on SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rolecall.observe.evidence import EvidenceIntake
from rolecall.profiles import Sample
from rolecall.protocol import ObservedPerformanceProfile
from rolecall.storage import SqlStorage
from tests.integration.storage import builders


def _intake(
    storage: SqlStorage,
    published: list[ObservedPerformanceProfile],
    live: list[list[Sample]],
) -> EvidenceIntake:
    def facts(endpoint_id: str) -> tuple[str, str | None] | None:
        return ("1.0.0", "rev-1") if endpoint_id in ("e1", "e2") else None

    def feed(samples: Sequence[Sample]) -> None:
        live.append(list(samples))

    return EvidenceIntake(
        storage.samples, storage.profiles, facts=facts, publish=published.append, live=feed
    )


def test_samples_stored_then_profiles_refreshed_and_published(storage: SqlStorage) -> None:
    published: list[ObservedPerformanceProfile] = []
    live: list[list[Sample]] = []
    intake = _intake(storage, published, live)
    now = time.time_ns() // 1_000_000
    graded = [
        builders.sample(
            "e1", at=now - i, source="benchmark", judge_score=0.8, membership_revision="rev-1"
        )
        for i in range(3)
    ]
    with storage.batch():  # the benchmark commits a result and its sample together
        intake.add(graded)
    assert len(storage.samples.for_endpoint("e1", source="benchmark")) == 3
    assert live == [graded]  # fed to the live profiles too
    assert published == []  # a refresh is asked for, not implied

    refreshed = intake.refresh(["e1", "e2", "gone"])
    assert list(refreshed) == ["e1"]  # e2 has no sample; "gone" is not in the inventory
    profile = refreshed["e1"]
    assert profile.sample_size == 3
    assert profile.judge_score is not None
    assert published == [profile]
    stored = storage.profiles.get("e1")
    assert stored is not None
    assert stored.sample_size == 3


def test_a_failed_transaction_stores_no_sample(storage: SqlStorage) -> None:
    live: list[list[Sample]] = []
    intake = _intake(storage, [], live)
    try:
        with storage.batch():
            intake.add([builders.sample("e1", source="benchmark")])
            raise RuntimeError("the result could not be stored")
    except RuntimeError:
        pass
    assert storage.samples.for_endpoint("e1") == []
