"""RouterDecision artifacts on SQL (`SqlDecisions`), for decision review and explanation.

Each decision is stored whole (JSON) beside the columns it is looked up and sorted by, upserted by
``routing_decision_id``, and read back as the dict that was written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select

from rolecall.storage.database import Artifact, Database, artifact_rows
from rolecall.storage.sql_tables import DECISIONS

__all__ = ["SqlDecisions"]


def _decision_row(
    decision: Mapping[str, Any], created_ms: int, plan: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    (row,) = artifact_rows(
        [decision],
        {"routing_decision_id": "routing_decision_id", "request_id": "request_id"},
        kind="router-decision",
    )
    policy = decision.get("policy_snapshot")
    row["chosen_endpoint_id"] = decision.get("chosen_endpoint_id")
    row["strategy"] = policy.get("strategy") if isinstance(policy, Mapping) else None
    row["created_ms"] = created_ms
    row["plan"] = plan
    return row


class SqlDecisions:
    """Decisions on SQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, decision: Mapping[str, Any], *, created_ms: int) -> None:
        """Insert or replace the decision keyed by its ``routing_decision_id``."""
        self._db.upsert(
            DECISIONS, [_decision_row(decision, created_ms)], key=["routing_decision_id"]
        )

    def put_many(
        self,
        decisions: Sequence[tuple[Mapping[str, Any], int]],
        plans: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Many decisions (artifact, created_ms) in one transaction, with the plans of those
        that had one (by ``routing_decision_id``)."""
        if decisions:
            plans = plans or {}
            rows = [
                _decision_row(d, created_ms, plans.get(str(d.get("routing_decision_id"))))
                for d, created_ms in decisions
            ]
            self._db.upsert(DECISIONS, rows, key=["routing_decision_id"])

    def plan(self, routing_decision_id: str) -> Artifact | None:
        """The routing mode's plan of a decision (None: none was made, or no such decision)."""
        query = select(DECISIONS.c.plan).where(
            DECISIONS.c.routing_decision_id == routing_decision_id
        )
        with self._db.read() as connection:
            plan = connection.execute(query).scalar_one_or_none()
        return None if plan is None else dict(plan)

    def get(self, routing_decision_id: str) -> Artifact | None:
        """The decision artifact, if stored."""
        query = select(DECISIONS.c.artifact).where(
            DECISIONS.c.routing_decision_id == routing_decision_id
        )
        with self._db.read() as connection:
            artifact = connection.execute(query).scalar_one_or_none()
        return None if artifact is None else dict(artifact)

    def recent(
        self, *, limit: int = 50, offset: int = 0, endpoint_id: str | None = None
    ) -> list[Artifact]:
        """Decisions newest first, optionally only those that chose ``endpoint_id``."""
        query = select(DECISIONS.c.artifact).order_by(
            DECISIONS.c.created_ms.desc(), DECISIONS.c.routing_decision_id.desc()
        )
        if endpoint_id is not None:
            query = query.where(DECISIONS.c.chosen_endpoint_id == endpoint_id)
        return self._db.artifacts(query, limit=limit, offset=offset)

    def count(self) -> int:
        """How many decisions are stored."""
        with self._db.read() as connection:
            return int(connection.execute(select(func.count()).select_from(DECISIONS)).scalar_one())
