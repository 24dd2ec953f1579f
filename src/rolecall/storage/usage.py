"""UsageEvent artifacts on SQL (`SqlUsage`): tokens, latency, cost and outcome per executed request,
what each gateway key (the event's ``app_id``) used, and who each request was for (its key's team,
``user``, the client's ``x-request-id`` and ``metadata``: columns beside the artifact, whose schema
has no place for them).

Insert-only: an event already stored (same event id) is kept as it was, so a retried or replayed
batch is harmless. The console's request facts are written beside them by the record writer
(`rolecall.storage.analytics.SqlAnalytics.add_facts`), not here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func, select

from rolecall.observe.identity import TAGS_KEY, split_tags
from rolecall.storage.database import Artifact, Database, artifact_rows
from rolecall.storage.sql_tables import USAGE_EVENTS

__all__ = ["AppUsage", "SqlUsage"]

# column → key of the identity the record writer passes (`rolecall.observe.rows.build_batch`)
_IDENTITY_COLUMNS: Final = {
    "team": "team",
    "user_id": "user",
    "client_request_id": "client_request_id",
    "request_metadata": "metadata",
}


@dataclass(frozen=True, slots=True)
class AppUsage:
    """What one gateway key (``app_id``) used since a time: requests, tokens, USD."""

    app_id: str
    requests: int
    tokens_in: int
    tokens_out: int
    cost_usd: float


_USAGE_COLUMNS: Final = {
    name: name
    for name in ("event_id", "request_id", "routing_decision_id", "endpoint_id", "timestamp_ms")
}


class SqlUsage:
    """Usage events on SQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(
        self,
        events: Sequence[Mapping[str, Any]],
        identities: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Store usage events; one already stored (same event id) is kept as it was.
        ``identities``: who each request was for, by request id (``team``, ``user``,
        ``client_request_id``, ``metadata``)."""
        rows = artifact_rows(events, _USAGE_COLUMNS, kind="usage-event")
        known = identities or {}
        for row in rows:
            row["app_id"] = row["artifact"].get("app_id")
            identity = known.get(row["request_id"]) or {}
            for column, key in _IDENTITY_COLUMNS.items():
                row[column] = identity.get(key)
        self._db.insert_new(USAGE_EVENTS, rows)

    def lookup(self, any_id: str) -> tuple[str, list[Artifact]]:
        """(request id, usage events) of the request with this id, or whose client sent this
        ``x-request-id`` (the newest such request); no events when neither is stored."""
        found = self.for_request(any_id)
        if found:
            return any_id, found
        query = (
            select(USAGE_EVENTS.c.request_id)
            .where(USAGE_EVENTS.c.client_request_id == any_id)
            .order_by(USAGE_EVENTS.c.timestamp_ms.desc())
            .limit(1)
        )
        with self._db.read() as connection:
            request_id = connection.execute(query).scalar_one_or_none()
        return (any_id, []) if request_id is None else (request_id, self.for_request(request_id))

    def identity_for(self, request_id: str) -> dict[str, Any]:
        """Who the request was for, as stored: ``team``, ``user``, ``client_request_id``,
        ``metadata`` and ``tags`` (None and empty when it was not said)."""
        c = USAGE_EVENTS.c
        query = (
            select(c.team, c.user_id, c.client_request_id, c.request_metadata)
            .where(c.request_id == request_id)
            .limit(1)
        )
        with self._db.read() as connection:
            row = connection.execute(query).one_or_none()
        team, user, client_id, metadata = row if row is not None else (None,) * 4
        tags = split_tags(metadata.get(TAGS_KEY, "")) if isinstance(metadata, dict) else ()
        return {
            "team": team,
            "user": user,
            "client_request_id": client_id,
            "metadata": metadata,
            "tags": list(tags),
        }

    def by_app(self, since_ms: int, app_id: str | None = None) -> list[AppUsage]:
        """What each key (or only ``app_id``) used since ``since_ms``, most spent first; events
        stored before keys were told apart count as ``default``."""
        artifact = USAGE_EVENTS.c.artifact
        app = func.coalesce(USAGE_EVENTS.c.app_id, "default")
        query = (
            select(
                app,
                func.count(),
                func.coalesce(func.sum(artifact["tokens_in"].as_integer()), 0),
                func.coalesce(func.sum(artifact["tokens_out"].as_integer()), 0),
                func.coalesce(func.sum(artifact["cost_actual"].as_float()), 0.0),
            )
            .where(USAGE_EVENTS.c.timestamp_ms >= since_ms)
            .group_by(app)
        )
        if app_id is not None:
            query = query.where(app == app_id)
        with self._db.read() as connection:
            rows = [
                AppUsage(str(a), int(n), int(i), int(o), float(c))
                for a, n, i, o, c in connection.execute(query)
            ]
        return sorted(rows, key=lambda u: (-u.cost_usd, -u.requests, u.app_id))

    def for_request(self, request_id: str) -> list[Artifact]:
        """Usage events of one request, oldest first."""
        query = (
            select(USAGE_EVENTS.c.artifact)
            .where(USAGE_EVENTS.c.request_id == request_id)
            .order_by(USAGE_EVENTS.c.timestamp_ms, USAGE_EVENTS.c.event_id)
        )
        with self._db.read() as connection:
            return [dict(artifact) for artifact in connection.execute(query).scalars()]

    def recent(
        self, *, limit: int = 100, offset: int = 0, endpoint_id: str | None = None
    ) -> list[Artifact]:
        """Usage events newest first, optionally of one endpoint only."""
        query = select(USAGE_EVENTS.c.artifact).order_by(
            USAGE_EVENTS.c.timestamp_ms.desc(), USAGE_EVENTS.c.event_id.desc()
        )
        if endpoint_id is not None:
            query = query.where(USAGE_EVENTS.c.endpoint_id == endpoint_id)
        return self._db.artifacts(query, limit=limit, offset=offset)
