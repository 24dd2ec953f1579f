"""Feedback on answered requests: the use case that turns a score into quality evidence.

Owns `FeedbackRecord`, `FeedbackIn`, `Answered`, `FeedbackRefusedError` and `FeedbackDesk`. A client
(with the gateway key that made the request) or an operator gives a score (0 to 1), a label or a
comment on a request by its id or the client's ``x-request-id``. The desk finds the stored
request, checks it was answered (a failed or refused request has no answer to score) and was made
by the same key, stores the feedback (one row per request and giver, replaced when the giver
sends again), and, when it carries a score, hands the endpoint to ``evidence_changed`` so its
profile is re-aggregated with the score in it (`rolecall.profiles.quality`, feedback weight).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Final, Protocol

__all__ = [
    "ADMIN_GIVER",
    "Answered",
    "FeedbackDesk",
    "FeedbackIn",
    "FeedbackRecord",
    "FeedbackRefusedError",
    "FeedbackStore",
]

ADMIN_GIVER: Final = "admin"  # the giver of feedback sent through the admin API


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """One giver's feedback on one answered request, as stored."""

    feedback_id: str
    request_id: str
    routing_decision_id: str | None
    endpoint_id: str
    endpoint_version: str
    giver: str
    score: float | None
    label: str | None
    comment: str | None
    created_ms: int
    updated_ms: int

    def to_json(self) -> dict[str, Any]:
        return {"object": "feedback", **asdict(self)}


@dataclass(frozen=True, slots=True)
class FeedbackIn:
    """What a giver said (already checked by the wire layer: score in [0, 1], bounded texts)."""

    request_id: str
    score: float | None = None
    label: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Answered:
    """A stored request, as feedback needs it: who made it and which endpoint answered."""

    request_id: str
    routing_decision_id: str | None
    endpoint_id: str
    app_id: str
    error_class: str | None


class FeedbackRefusedError(Exception):
    """Feedback that cannot be taken: ``status`` 404 or 409, ``code`` and a message naming why."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class FeedbackStore(Protocol):
    def put(self, record: FeedbackRecord) -> FeedbackRecord: ...

    def for_request(self, request_id: str) -> list[FeedbackRecord]: ...


class FeedbackDesk:
    """Takes feedback (blocking: call it from a worker thread, not the event loop).

    ``lookup`` finds a stored request by either id; ``version`` gives a configured endpoint's
    version (None for one no longer configured); ``evidence_changed`` re-aggregates and
    publishes the profiles of the endpoints given.
    """

    def __init__(
        self,
        store: FeedbackStore,
        *,
        lookup: Callable[[str], Answered | None],
        version: Callable[[str], str | None],
        evidence_changed: Callable[[list[str]], object],
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._store = store
        self._lookup = lookup
        self._version = version
        self._evidence_changed = evidence_changed
        self._clock_ms = clock_ms

    def give(self, item: FeedbackIn, giver: str, *, owner: str | None) -> FeedbackRecord:
        """Store ``item`` from ``giver`` on a request ``owner`` made (None: any request, the
        admin API); raise `FeedbackRefusedError` when it cannot be taken."""
        answered = self._answered(item.request_id, owner)
        version = self._version(answered.endpoint_id)
        if version is None:
            raise FeedbackRefusedError(
                409,
                "endpoint_not_configured",
                f"endpoint {answered.endpoint_id!r}, which answered request "
                f"{answered.request_id!r}, is no longer configured: its feedback has no profile "
                "to go to",
            )
        now = self._clock_ms()
        record = self._store.put(
            FeedbackRecord(
                feedback_id=f"fb_{secrets.token_hex(12)}",
                request_id=answered.request_id,
                routing_decision_id=answered.routing_decision_id,
                endpoint_id=answered.endpoint_id,
                endpoint_version=version,
                giver=giver,
                score=item.score,
                label=item.label,
                comment=item.comment,
                created_ms=now,
                updated_ms=now,
            )
        )
        self._evidence_changed([answered.endpoint_id])
        return record

    def for_request(self, request_id: str, *, owner: str | None) -> list[FeedbackRecord]:
        """The feedback on one request (only the owner's own, unless ``owner`` is None)."""
        answered = self._answered(request_id, owner, answered_only=False)
        records = self._store.for_request(answered.request_id)
        return records if owner is None else [r for r in records if r.giver == owner]

    def _answered(self, any_id: str, owner: str | None, *, answered_only: bool = True) -> Answered:
        found = self._lookup(any_id)
        if found is None or (owner is not None and found.app_id != owner):
            raise FeedbackRefusedError(
                404,
                "request_not_found",
                f"no request with id {any_id!r} (it was never made, was made with another key, "
                "or is older than the records kept)",
            )
        if answered_only and found.error_class is not None:
            raise FeedbackRefusedError(
                409,
                "request_not_answered",
                f"request {found.request_id!r} got no answer ({found.error_class}): feedback "
                "scores answers",
            )
        return found
