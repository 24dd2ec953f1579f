"""SQL implementation of the measurement ports: `SampleStore` and `ProfileStore`.

Owns `SqlSampleMixin` (samples as one column per `Sample` field, appended in one batched
transaction) and `SqlProfileMixin` (one ObservedPerformanceProfile artifact per endpoint, upserted).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import ColumnElement, delete, select, true

from rolecall.profiles.samples import Sample
from rolecall.protocol import ObservedPerformanceProfile, load_artifact
from rolecall.storage.sql_base import SqlBase
from rolecall.storage.sql_tables import PROFILES, SAMPLES

__all__ = ["SqlProfileMixin", "SqlSampleMixin"]

SAMPLE_FIELDS: Final = tuple(field.name for field in dataclasses.fields(Sample))


def _sample_row(sample: Sample) -> dict[str, Any]:
    return {name: getattr(sample, name) for name in SAMPLE_FIELDS}


class SqlSampleMixin(SqlBase):
    """`SampleStore` on SQL."""

    def add_samples(self, samples: Sequence[Sample]) -> None:
        self._insert_rows(SAMPLES, [_sample_row(sample) for sample in samples])

    def samples_for(
        self, endpoint_id: str, *, since_ms: int | None = None, source: str | None = None
    ) -> list[Sample]:
        condition = SAMPLES.c.endpoint_id == endpoint_id
        if since_ms is not None:
            condition &= SAMPLES.c.timestamp_ms >= since_ms
        if source is not None:
            condition &= SAMPLES.c.source == source
        columns = [SAMPLES.c[name] for name in SAMPLE_FIELDS]
        query = (
            select(*columns).where(condition).order_by(SAMPLES.c.timestamp_ms, SAMPLES.c.sample_id)
        )
        with self._read() as connection:
            return [Sample(**row) for row in connection.execute(query).mappings()]

    def delete_samples(self, endpoint_id: str | None = None, *, source: str | None = None) -> int:
        condition: ColumnElement[bool] = true()
        if endpoint_id is not None:
            condition &= SAMPLES.c.endpoint_id == endpoint_id
        if source is not None:
            condition &= SAMPLES.c.source == source
        with self._begin() as connection:
            return connection.execute(delete(SAMPLES).where(condition)).rowcount


class SqlProfileMixin(SqlBase):
    """`ProfileStore` on SQL."""

    def put_profile(self, profile: ObservedPerformanceProfile) -> None:
        row = {
            "endpoint_id": profile.endpoint_id,
            "endpoint_version": profile.endpoint_version,
            "measured_at_ms": profile.measured_at_ms,
            "artifact": profile.to_artifact(),
        }
        self._upsert(PROFILES, [row], key=["endpoint_id"])

    def get_profile(self, endpoint_id: str) -> ObservedPerformanceProfile | None:
        query = select(PROFILES.c.artifact).where(PROFILES.c.endpoint_id == endpoint_id)
        with self._read() as connection:
            artifact = connection.execute(query).scalar_one_or_none()
        return None if artifact is None else _profile(artifact)

    def list_profiles(self) -> list[ObservedPerformanceProfile]:
        query = select(PROFILES.c.artifact).order_by(PROFILES.c.endpoint_id)
        with self._read() as connection:
            return [_profile(artifact) for artifact in connection.execute(query).scalars()]


def _profile(artifact: object) -> ObservedPerformanceProfile:
    return load_artifact("observed-performance-profile", artifact)
