"""Captured prompts on each backend: stored with their request's records (once, however often a
spool is replayed; a malformed one skipped, never the records), joined to the scores their
answers got, and deleted by age."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from rolecall.observe.feedback import FeedbackRecord
from rolecall.observe.observation import encode_observations
from rolecall.profiles.samples import Sample
from rolecall.storage import SqlStorage
from rolecall.storage.record_writer import store_observed
from rolecall.storage.sql_prompt_tables import CAPTURED_PROMPTS
from tests.integration.storage import builders

NOW = builders.NOW_MS


def _row(request_id: str, prompt: str = "Capital of Peru?", at: int = NOW) -> dict[str, Any]:
    return {"request_id": request_id, "prompt": prompt, "truncated": False, "created_ms": at}


def _observed(request_id: str, captured: Any) -> bytes:
    observation = builders.observation(request_id)
    observation.captured_prompt = captured
    return encode_observations([observation])


def _count(storage: SqlStorage) -> int:
    with storage.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(CAPTURED_PROMPTS)).scalar())


def test_a_prompt_is_stored_once_with_its_records(storage: SqlStorage) -> None:
    parts = [_observed("req-1", _row("req-1", "é 漢 🎉\nline two"))]
    store_observed(storage, parts)
    store_observed(storage, parts)  # a spool replayed after a crash
    stored = storage.prompts.get("req-1")
    assert stored is not None
    assert (stored.prompt, stored.truncated, stored.created_ms) == ("é 漢 🎉\nline two", False, NOW)
    assert _count(storage) == 1
    assert storage.prompts.get("req-unknown") is None


def test_a_malformed_prompt_is_skipped_and_its_records_kept(storage: SqlStorage) -> None:
    bad = {**_row("req-2"), "truncated": "no"}
    store_observed(storage, [_observed("req-2", bad), _observed("req-3", {"prompt": "x"})])
    assert storage.usage.lookup("req-2")[1] != []
    assert storage.usage.lookup("req-3")[1] != []
    assert _count(storage) == 0


def _feedback(request_id: str, giver: str, score: float | None, at: int) -> FeedbackRecord:
    return FeedbackRecord(
        f"fb-{request_id}-{giver}",
        request_id,
        None,
        "e1",
        "1.0.0",
        giver,
        score,
        None,
        None,
        at,
        at,
    )


def _grade(request_id: str, score: float | None, at: int) -> Sample:
    error = None if score is not None else "judge_failed"
    return Sample(
        "e1",
        "1.0.0",
        "live_judged",
        at,
        None,
        judge_score=score,
        error_class=error,
        request_id=request_id,
    )


def test_scores_of_captured_prompts_are_their_outcomes(storage: SqlStorage) -> None:
    storage.prompts.add_rows([_row("req-a", "A?"), _row("req-b", "B?")])
    storage.feedback.put(_feedback("req-a", "key-1", 0.25, NOW + 1))
    storage.feedback.put(_feedback("req-a", "admin", None, NOW + 2))  # a comment only: no score
    storage.feedback.put(_feedback("req-x", "key-1", 1.0, NOW + 3))  # its prompt was not captured
    storage.samples.add(
        [_grade("req-b", 7 / 9, NOW + 4), _grade("req-b", None, NOW + 5), _grade("req-x", 1.0, NOW)]
    )
    outcomes = sorted(storage.prompts.outcomes(), key=lambda o: o.request_id)
    got = [(o.request_id, o.prompt, o.endpoint_id, o.score, o.source, o.at_ms) for o in outcomes]
    assert got == [
        ("req-a", "A?", "e1", 0.25, "feedback", NOW + 1),
        ("req-b", "B?", "e1", 7 / 9, "live_judged", NOW + 4),
    ]
    # the grade names its request on the way back too
    [graded, _] = storage.samples.for_endpoint("e1", source="live_judged", since_ms=NOW + 1)
    assert graded.request_id == "req-b"


def test_prune_deletes_by_age_and_the_outcomes_go_with_the_prompts(storage: SqlStorage) -> None:
    storage.prompts.add_rows([_row("old", at=NOW - 10_000), _row("new", at=NOW)])
    storage.feedback.put(_feedback("old", "key-1", 0.5, NOW))
    assert [o.request_id for o in storage.prompts.outcomes()] == ["old"]
    assert storage.prompts.prune(NOW - 1) == 1
    assert storage.prompts.get("old") is None
    assert storage.prompts.get("new") is not None
    assert storage.prompts.outcomes() == []
