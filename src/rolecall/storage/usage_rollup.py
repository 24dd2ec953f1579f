"""Usage per key, team, user and tag over time: `SqlUsageRollup` keeps `USAGE_ROLLUP` and answers
its group queries.

The record writer adds each stored request once (`SqlAnalytics.add_facts` knows which requests a
batch really inserted) with the same cost, tokens and status as the console's request facts, so
this and the Observe pages agree. Rows are per hour; a window's edges are widened to whole hours
and buckets are hours or UTC days. A request counts once under its key (every request has one:
``default`` without keys), its team and its user when it has them, and once under each tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Select, func, select

from rolecall.storage.database import Database
from rolecall.storage.sql_analytics_tables import USAGE_DIMENSIONS, USAGE_ROLLUP, USAGE_ROLLUP_MS

__all__ = ["USAGE_SUMS", "SqlUsageRollup", "UsageSlice", "usage_rollup_rows"]

_U = USAGE_ROLLUP.c
_KEY: Final = ("dimension", "bucket_ms", "value")
USAGE_SUMS: Final = ("requests", "ok", "tokens_in", "tokens_out", "cost_usd", "costed")


def _values(app_id: str | None, identity: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(dimension, value) of every group one request counts in."""
    found = [("key", app_id or "default")]
    if identity:
        found += [(d, identity[c]) for d, c in (("team", "team"), ("user", "user")) if identity[c]]
        found += [("tag", tag) for tag in identity.get("tags") or ()]
    return found


def usage_rollup_rows(
    requests: Iterable[tuple[Mapping[str, Any], str | None, Mapping[str, Any] | None]],
) -> list[dict[str, Any]]:
    """The rollup increments of (request fact row, app id, identity) triples."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for fact, app_id, identity in requests:
        bucket = fact["timestamp_ms"] - fact["timestamp_ms"] % USAGE_ROLLUP_MS
        cost = fact.get("cost_usd")
        for dimension, value in _values(app_id, identity):
            row = rows.get((dimension, bucket, value))
            if row is None:
                row = rows[(dimension, bucket, value)] = {
                    "dimension": dimension,
                    "bucket_ms": bucket,
                    "value": value,
                    **dict.fromkeys(USAGE_SUMS, 0),
                    "cost_usd": 0.0,
                }
            row["requests"] += 1
            row["ok"] += 1 if fact["status_family"] == "2xx" else 0
            row["tokens_in"] += fact["tokens_in"]
            row["tokens_out"] += fact["tokens_out"]
            row["cost_usd"] += cost or 0.0
            row["costed"] += 0 if cost is None else 1
    return list(rows.values())


@dataclass(frozen=True, slots=True)
class UsageSlice:
    """A question to the rollup: one dimension over [since_ms, until_ms), optionally one value."""

    dimension: str
    since_ms: int
    until_ms: int
    value: str | None = None

    def __post_init__(self) -> None:
        if self.dimension not in USAGE_DIMENSIONS:
            known = ", ".join(USAGE_DIMENSIONS)
            raise ValueError(f"unknown dimension {self.dimension!r}: use one of {known}")

    def apply(self, query: Select[Any]) -> Select[Any]:
        since = self.since_ms - self.since_ms % USAGE_ROLLUP_MS
        query = query.where(
            _U.dimension == self.dimension, _U.bucket_ms >= since, _U.bucket_ms < self.until_ms
        )
        return query if self.value is None else query.where(_U.value == self.value)


_SUMS: Final = [func.coalesce(func.sum(_U[name]), 0).label(name) for name in USAGE_SUMS]


def _sums(row: Any) -> dict[str, Any]:
    mapping = row._mapping
    out: dict[str, Any] = {name: int(mapping[name] or 0) for name in USAGE_SUMS}
    out["cost_usd"] = float(mapping["cost_usd"] or 0.0)
    return out


class SqlUsageRollup:
    """`USAGE_ROLLUP` on SQL: increments from the record writer, group sums for the admin API."""

    def __init__(self, db: Database) -> None:
        self._db = db
        insert = db.insert(USAGE_ROLLUP)
        # built once, as the console's rollup upsert
        self._upsert = insert.on_conflict_do_update(
            index_elements=list(_KEY),
            set_={name: _U[name] + insert.excluded[name] for name in USAGE_SUMS},
        )

    def add(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Add `usage_rollup_rows` to the stored sums (in the open transaction, if any)."""
        if rows:
            with self._db.begin() as connection:
                connection.execute(self._upsert, list(rows))

    def totals(self, slice_: UsageSlice, *, limit: int) -> list[dict[str, Any]]:
        """Per value: the slice's sums, most spent first (then most requests), at most ``limit``."""
        query = slice_.apply(select(_U.value, *_SUMS)).group_by(_U.value)
        cost, requests = func.sum(_U.cost_usd), func.sum(_U.requests)
        query = query.order_by(cost.desc(), requests.desc(), _U.value).limit(limit)
        with self._db.read() as connection:
            return [{"value": row.value, **_sums(row)} for row in connection.execute(query)]

    def sums(self, slice_: UsageSlice) -> dict[str, Any]:
        """The slice's sums over every value."""
        with self._db.read() as connection:
            return _sums(connection.execute(slice_.apply(select(*_SUMS))).one())

    def count(self, slice_: UsageSlice) -> int:
        """How many values have usage in the slice."""
        query = slice_.apply(select(func.count(func.distinct(_U.value))))
        with self._db.read() as connection:
            return int(connection.execute(query).scalar_one())

    def series(
        self, slice_: UsageSlice, values: Sequence[str], bucket_ms: int
    ) -> list[dict[str, Any]]:
        """Per value of ``values`` and bucket of ``bucket_ms`` (hours or days, aligned to UTC
        midnight): the sums, key ``start_ms`` the bucket's start. Empty buckets are left out."""
        if bucket_ms % USAGE_ROLLUP_MS:
            raise ValueError(f"bucket_ms must be a whole number of hours, got {bucket_ms}")
        if not values:
            return []
        start = (_U.bucket_ms // bucket_ms * bucket_ms).label("start_ms")
        query = slice_.apply(select(_U.value, start, *_SUMS)).where(_U.value.in_(list(values)))
        query = query.group_by(_U.value, start).order_by(_U.value, start)
        with self._db.read() as connection:
            return [
                {"value": row.value, "start_ms": int(row.start_ms), **_sums(row)}
                for row in connection.execute(query)
            ]
