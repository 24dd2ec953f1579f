"""Feedback on answered requests on SQL (`SqlFeedback`).

A giver's feedback on a request is one row: sending again replaces the score, label and comment
and keeps the row's id and first time. Scored rows are also read as quality samples of the
endpoint that answered (`feedback_samples`, joined into `rolecall.storage.samples`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import ColumnElement, func, select

from rolecall.observe.feedback import Answered, FeedbackRecord
from rolecall.profiles.samples import Sample
from rolecall.storage.database import Database
from rolecall.storage.sql_feedback_tables import FEEDBACK

__all__ = ["SqlFeedback", "answered_request", "feedback_samples"]


_FIELDS: Final = tuple(f.name for f in dataclasses.fields(FeedbackRecord))
_REPLACED: Final = ("score", "label", "comment", "updated_ms", "endpoint_id", "endpoint_version")


def _sample(row: Any) -> Sample:
    return Sample(
        endpoint_id=row.endpoint_id,
        endpoint_version=row.endpoint_version,
        source="feedback",
        timestamp_ms=row.updated_ms,
        latency_ms=None,
        judge_score=row.score,
    )


def feedback_samples(
    db: Database, endpoint_id: str, *, since_ms: int | None = None
) -> list[Sample]:
    """The scored feedback on one endpoint's answers as quality samples, oldest first."""
    c = FEEDBACK.c
    condition = (c.endpoint_id == endpoint_id) & c.score.is_not(None)
    if since_ms is not None:
        condition &= c.updated_ms >= since_ms
    query = (
        select(c.endpoint_id, c.endpoint_version, c.updated_ms, c.score)
        .where(condition)
        .order_by(c.updated_ms, c.feedback_id)
    )
    with db.read() as connection:
        return [_sample(row) for row in connection.execute(query)]


class SqlFeedback:
    """Feedback rows on SQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, record: FeedbackRecord) -> FeedbackRecord:
        """Store ``record``, replacing the same giver's earlier feedback on the request; the row
        as stored (an earlier row keeps its id and first time)."""
        row = {name: getattr(record, name) for name in _FIELDS}
        insert = self._db.insert(FEEDBACK).values(row)
        statement = insert.on_conflict_do_update(
            index_elements=[FEEDBACK.c.request_id, FEEDBACK.c.giver],
            set_={name: insert.excluded[name] for name in _REPLACED},
        )
        with self._db.begin() as connection:
            connection.execute(statement)
            stored = self._one(
                connection,
                (FEEDBACK.c.request_id == record.request_id) & (FEEDBACK.c.giver == record.giver),
            )
        assert stored is not None  # written in this transaction
        return stored

    def for_request(self, request_id: str) -> list[FeedbackRecord]:
        """Every giver's feedback on one request, oldest first."""
        query = (
            select(*(FEEDBACK.c[n] for n in _FIELDS))
            .where(FEEDBACK.c.request_id == request_id)
            .order_by(FEEDBACK.c.created_ms, FEEDBACK.c.feedback_id)
        )
        with self._db.read() as connection:
            return [FeedbackRecord(**row) for row in connection.execute(query).mappings()]

    def summary(self, endpoint_ids: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """Per endpoint: how many feedback rows, how many scored, and their mean score."""
        c = FEEDBACK.c
        query = select(
            c.endpoint_id, func.count(), func.count(c.score), func.avg(c.score)
        ).group_by(c.endpoint_id)
        if endpoint_ids is not None:
            query = query.where(c.endpoint_id.in_(list(endpoint_ids)))
        with self._db.read() as connection:
            rows = connection.execute(query).all()
        return {
            endpoint: {
                "feedback": int(total),
                "scored": int(scored),
                "mean_score": None if mean is None else float(mean),
            }
            for endpoint, total, scored, mean in rows
        }

    def _one(self, connection: Any, condition: ColumnElement[bool]) -> FeedbackRecord | None:
        query = select(*(FEEDBACK.c[n] for n in _FIELDS)).where(condition)
        row = connection.execute(query).mappings().one_or_none()
        return None if row is None else FeedbackRecord(**row)


def answered_request(usage_events: list[dict[str, Any]], request_id: str) -> Answered | None:
    """What feedback needs of a stored request, from its usage events (the last one is the
    attempt that answered, or the failure); None without events."""
    if not usage_events:
        return None
    last = usage_events[-1]
    return Answered(
        request_id=request_id,
        routing_decision_id=last.get("routing_decision_id"),
        endpoint_id=str(last.get("endpoint_id")),
        app_id=str(last.get("app_id") or "default"),
        error_class=last.get("error_class"),
    )
