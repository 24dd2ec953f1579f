"""Benchmark, live and feedback samples on SQL (`SqlSamples`): the input of profile aggregation.

A sample is stored as one column per `Sample` field; a call appends its samples in one transaction.
Feedback samples are not stored here: they are the scored rows of the feedback table, read with
the rest (`rolecall.storage.feedback`), because a giver's new feedback replaces its old one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import ColumnElement, delete, func, select, true

from rolecall.profiles.samples import Sample
from rolecall.storage.database import Database
from rolecall.storage.feedback import feedback_samples
from rolecall.storage.sql_tables import SAMPLES

__all__ = ["SAMPLE_FIELDS", "SqlSamples"]

SAMPLE_FIELDS: Final = tuple(field.name for field in dataclasses.fields(Sample))


def _sample_row(sample: Sample) -> dict[str, Any]:
    return {name: getattr(sample, name) for name in SAMPLE_FIELDS}


class SqlSamples:
    """Samples on SQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, samples: Sequence[Sample]) -> None:
        """Append ``samples`` (all or none)."""
        self._db.insert_rows(SAMPLES, [_sample_row(sample) for sample in samples])

    def for_endpoint(
        self, endpoint_id: str, *, since_ms: int | None = None, source: str | None = None
    ) -> list[Sample]:
        """Samples of one endpoint, oldest first, at or after ``since_ms``, of ``source``
        (feedback included unless another source is asked for)."""
        stored = [] if source == "feedback" else self._stored(endpoint_id, since_ms, source)
        if source not in (None, "feedback"):
            return stored
        scored = feedback_samples(self._db, endpoint_id, since_ms=since_ms)
        return sorted([*stored, *scored], key=lambda s: s.timestamp_ms) if scored else stored

    def _stored(self, endpoint_id: str, since_ms: int | None, source: str | None) -> list[Sample]:
        condition = SAMPLES.c.endpoint_id == endpoint_id
        if since_ms is not None:
            condition &= SAMPLES.c.timestamp_ms >= since_ms
        if source is not None:
            condition &= SAMPLES.c.source == source
        columns = [SAMPLES.c[name] for name in SAMPLE_FIELDS]
        query = (
            select(*columns).where(condition).order_by(SAMPLES.c.timestamp_ms, SAMPLES.c.sample_id)
        )
        with self._db.read() as connection:
            return [Sample(**row) for row in connection.execute(query).mappings()]

    def spent(self, source: str, since_ms: int) -> float:
        """The USD the samples of ``source`` recorded since ``since_ms`` cost (a shadow judge's
        calls, counted by every process on the database)."""
        query = select(func.coalesce(func.sum(SAMPLES.c.cost_usd), 0.0)).where(
            (SAMPLES.c.source == source) & (SAMPLES.c.timestamp_ms >= since_ms)
        )
        with self._db.read() as connection:
            return float(connection.execute(query).scalar_one())

    def delete(self, endpoint_id: str | None = None, *, source: str | None = None) -> int:
        """Delete the matching stored samples (every one when no filter is given; feedback is
        not a stored sample and stays); return how many."""
        condition: ColumnElement[bool] = true()
        if endpoint_id is not None:
            condition &= SAMPLES.c.endpoint_id == endpoint_id
        if source is not None:
            condition &= SAMPLES.c.source == source
        with self._db.begin() as connection:
            return connection.execute(delete(SAMPLES).where(condition)).rowcount
