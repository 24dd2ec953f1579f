"""`FeedbackDesk`'s rules: own requests only, answered ones only, configured endpoints only."""

from __future__ import annotations

import pytest

from rolecall.observe.feedback import (
    Answered,
    FeedbackDesk,
    FeedbackIn,
    FeedbackRecord,
    FeedbackRefusedError,
)


class Store:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], FeedbackRecord] = {}

    def put(self, record: FeedbackRecord) -> FeedbackRecord:
        self.rows[(record.request_id, record.giver)] = record
        return record

    def for_request(self, request_id: str) -> list[FeedbackRecord]:
        return [r for (rid, _), r in self.rows.items() if rid == request_id]


REQUESTS = {
    "req-ok": Answered("req-ok", "dec-1", "ep-a", "key-1", None),
    "req-failed": Answered("req-failed", "dec-2", "ep-a", "key-1", "upstream_5xx"),
    "req-gone": Answered("req-gone", "dec-3", "ep-retired", "key-1", None),
}


def desk(changed: list[list[str]]) -> tuple[FeedbackDesk, Store]:
    store = Store()
    versions = {"ep-a": "v1"}
    return (
        FeedbackDesk(
            store,
            lookup=REQUESTS.get,
            version=versions.get,
            evidence_changed=changed.append,
            clock_ms=lambda: 1234,
        ),
        store,
    )


def test_feedback_on_an_answered_request_is_stored_and_refreshes_the_endpoint() -> None:
    changed: list[list[str]] = []
    feedback, store = desk(changed)
    record = feedback.give(FeedbackIn("req-ok", score=0.25), "key-1", owner="key-1")
    assert (record.endpoint_id, record.endpoint_version, record.score) == ("ep-a", "v1", 0.25)
    assert (record.routing_decision_id, record.created_ms) == ("dec-1", 1234)
    assert record.to_json()["object"] == "feedback"
    assert changed == [["ep-a"]]
    assert list(store.rows) == [("req-ok", "key-1")]


@pytest.mark.parametrize(
    ("request_id", "owner", "status", "code"),
    [
        ("req-ok", "key-2", 404, "request_not_found"),
        ("nope", None, 404, "request_not_found"),
        ("req-failed", "key-1", 409, "request_not_answered"),
        ("req-gone", None, 409, "endpoint_not_configured"),
    ],
)
def test_refusals_name_why(request_id: str, owner: str | None, status: int, code: str) -> None:
    changed: list[list[str]] = []
    feedback, store = desk(changed)
    with pytest.raises(FeedbackRefusedError) as refused:
        feedback.give(FeedbackIn(request_id, score=1.0), owner or "admin", owner=owner)
    assert (refused.value.status, refused.value.code) == (status, code)
    assert request_id in refused.value.message
    assert (changed, store.rows) == ([], {})


def test_a_key_reads_only_its_own_feedback_and_the_admin_reads_all() -> None:
    feedback, _ = desk([])
    feedback.give(FeedbackIn("req-ok", label="good"), "key-1", owner="key-1")
    feedback.give(FeedbackIn("req-ok", comment="fine"), "admin", owner=None)
    assert [r.giver for r in feedback.for_request("req-ok", owner="key-1")] == ["key-1"]
    assert len(feedback.for_request("req-ok", owner=None)) == 2
    with pytest.raises(FeedbackRefusedError):
        feedback.for_request("req-ok", owner="key-2")
