"""Captured prompts on SQL (`SqlPrompts`): one row per request, stored with its records.

A captured prompt travels with its request's records (`rolecall.observe.observation`, the spool,
`rolecall.storage.request_extras`) and is stored in their transaction, so `add_rows` keeps a
row already stored (a replayed spool stores nothing twice) and skips a malformed one rather than
hold back the records it came with. `outcomes` joins the prompts to the scores their answers
got — scored feedback, and shadow grades (the ``live_judged`` samples naming their request) —
for the learned-routing records (`rolecall.learned.store_records`). `prune` is the retention
(``routing.prompt_capture.keep_days``). Nothing here logs a prompt.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from rolecall.learned.store_records import LiveOutcome
from rolecall.observe.prompt_capture import PROMPT_ROW_KEYS
from rolecall.storage.database import Database
from rolecall.storage.sql_feedback_tables import FEEDBACK
from rolecall.storage.sql_prompt_tables import CAPTURED_PROMPTS
from rolecall.storage.sql_tables import SAMPLES

__all__ = ["CapturedPrompt", "SqlPrompts"]

log = logging.getLogger("rolecall.observe")


@dataclass(frozen=True, slots=True)
class CapturedPrompt:
    """A request's prompt as captured: its conversation as text, whether it was cut to
    ``max_chars``, and when it was captured."""

    request_id: str
    prompt: str
    truncated: bool
    created_ms: int

    def to_json(self) -> dict[str, Any]:
        return {"text": self.prompt, "truncated": self.truncated, "created_ms": self.created_ms}


def _well_formed(row: object) -> bool:
    return (
        isinstance(row, Mapping)
        and row.keys() == PROMPT_ROW_KEYS
        and isinstance(row["request_id"], str)
        and isinstance(row["prompt"], str)
        and isinstance(row["truncated"], bool)
        and isinstance(row["created_ms"], int)
    )


class SqlPrompts:
    """Captured prompts on SQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Store rows as `rolecall.observe.prompt_capture.captured_prompt` makes them (in the
        open transaction, if any); a prompt already stored is kept as it is."""
        good = [dict(row) for row in rows if _well_formed(row)]
        if len(good) < len(rows):
            log.error("%d malformed captured prompts skipped", len(rows) - len(good))
        self._db.insert_new(CAPTURED_PROMPTS, good)

    def get(self, request_id: str) -> CapturedPrompt | None:
        c = CAPTURED_PROMPTS.c
        query = select(c.request_id, c.prompt, c.truncated, c.created_ms).where(
            c.request_id == request_id
        )
        with self._db.read() as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else CapturedPrompt(*row)

    def prune(self, before_ms: int) -> int:
        """Delete the prompts captured before ``before_ms``; how many."""
        statement = delete(CAPTURED_PROMPTS).where(CAPTURED_PROMPTS.c.created_ms < before_ms)
        with self._db.begin() as connection:
            return int(connection.execute(statement).rowcount)

    def outcomes(self) -> list[LiveOutcome]:
        """Every score of an answer whose prompt is captured: each giver's scored feedback and
        each valid shadow grade (a failed or invalid grade has no score)."""
        return [*self._scored_feedback(), *self._shadow_grades()]

    def _scored_feedback(self) -> Iterator[LiveOutcome]:
        p, f = CAPTURED_PROMPTS.c, FEEDBACK.c
        query = (
            select(p.request_id, p.prompt, f.endpoint_id, f.score, f.updated_ms)
            .join_from(CAPTURED_PROMPTS, FEEDBACK, f.request_id == p.request_id)
            .where(f.score.is_not(None))
        )
        for request_id, prompt, endpoint_id, score, at_ms in self._rows(query):
            yield LiveOutcome(request_id, prompt, endpoint_id, score, "feedback", at_ms)

    def _shadow_grades(self) -> Iterator[LiveOutcome]:
        p, s = CAPTURED_PROMPTS.c, SAMPLES.c
        query = (
            select(p.request_id, p.prompt, s.endpoint_id, s.judge_score, s.timestamp_ms)
            .join_from(CAPTURED_PROMPTS, SAMPLES, s.request_id == p.request_id)
            .where((s.source == "live_judged") & s.judge_score.is_not(None))
        )
        for request_id, prompt, endpoint_id, score, at_ms in self._rows(query):
            yield LiveOutcome(request_id, prompt, endpoint_id, score, "live_judged", at_ms)

    def _rows(self, query: Any) -> list[Any]:
        with self._db.read() as connection:
            return list(connection.execute(query))
