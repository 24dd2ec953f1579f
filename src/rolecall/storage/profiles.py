"""The current observed performance profile of each endpoint on SQL (`SqlProfiles`): one
ObservedPerformanceProfile artifact per endpoint, upserted."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from rolecall.protocol import ObservedPerformanceProfile, load_artifact
from rolecall.storage.database import Database
from rolecall.storage.sql_tables import PROFILES

__all__ = ["SqlProfiles"]


class SqlProfiles:
    """Observed profiles on SQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, profile: ObservedPerformanceProfile) -> None:
        """Insert or replace the profile of ``profile.endpoint_id``."""
        row = {
            "endpoint_id": profile.endpoint_id,
            "endpoint_version": profile.endpoint_version,
            "measured_at_ms": profile.measured_at_ms,
            "artifact": profile.to_artifact(),
        }
        self._db.upsert(PROFILES, [row], key=["endpoint_id"])

    def get(self, endpoint_id: str) -> ObservedPerformanceProfile | None:
        """The stored profile of ``endpoint_id``, if any."""
        query = select(PROFILES.c.artifact).where(PROFILES.c.endpoint_id == endpoint_id)
        with self._db.read() as connection:
            artifact = connection.execute(query).scalar_one_or_none()
        return None if artifact is None else _profile(artifact)

    def newer(self, since_ms: int, known: Mapping[str, int]) -> list[ObservedPerformanceProfile]:
        """Profiles measured at or after ``since_ms`` and after what ``known`` (endpoint id →
        measured_at_ms of the profile the caller has) holds; only those artifacts are parsed."""
        query = select(
            PROFILES.c.endpoint_id, PROFILES.c.measured_at_ms, PROFILES.c.artifact
        ).where(PROFILES.c.measured_at_ms >= since_ms)
        with self._db.read() as connection:
            rows = connection.execute(query).all()
        return [
            _profile(artifact)
            for endpoint_id, measured_ms, artifact in rows
            if measured_ms > known.get(endpoint_id, -1)
        ]

    def all(self) -> list[ObservedPerformanceProfile]:
        """Every stored profile, by endpoint id."""
        query = select(PROFILES.c.artifact).order_by(PROFILES.c.endpoint_id)
        with self._db.read() as connection:
            return [_profile(artifact) for artifact in connection.execute(query).scalars()]


def _profile(artifact: object) -> ObservedPerformanceProfile:
    return load_artifact("observed-performance-profile", artifact)
