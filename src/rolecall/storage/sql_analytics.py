"""Server-side aggregation and pagination for the operator console, on SQLite and PostgreSQL.

Owns `REQUEST_FACTS` (one flat row per request: the columns the console filters, groups and sorts
on, so no query has to open a JSON artifact) and `SqlAnalyticsMixin`, which keeps that table in step
with the usage events it stores and answers the console's ledger and analytics queries with plain
SQL aggregates. ``usage_events`` stays the record of truth; the facts are derived from it (and
rebuilt from it by migration 0003), so losing a fact row never loses data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Double,
    Index,
    Integer,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    case,
    func,
    select,
    update,
)

from rolecall.storage.sql_base import SqlBase
from rolecall.storage.sql_tables import DECISIONS, METADATA
from rolecall.storage.sql_telemetry import SqlUsageMixin

__all__ = [
    "DIMENSIONS",
    "REQUEST_FACTS",
    "FactFilter",
    "SqlAnalyticsMixin",
    "fact_row",
    "status_family",
]

REQUEST_FACTS: Final = Table(
    "request_facts",
    METADATA,
    Column("request_id", Text, primary_key=True),
    Column("routing_decision_id", Text, nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("endpoint_id", Text, nullable=False),
    Column("chosen_endpoint_id", Text),
    Column("model_id", Text),
    Column("provider_kind", Text),
    Column("source", Text, nullable=False),
    Column("role_id", Text),
    Column("task_type", Text),
    Column("strategy", Text),
    Column("status_family", Text, nullable=False),
    Column("error_class", Text),
    Column("latency_ms", Double, nullable=False),
    Column("tokens_in", Integer, nullable=False),
    Column("tokens_out", Integer, nullable=False),
    Column("cost_usd", Double),
    Index("ix_request_facts_timestamp_ms", "timestamp_ms"),
    Index("ix_request_facts_endpoint_id_timestamp_ms", "endpoint_id", "timestamp_ms"),
    Index("ix_request_facts_status_family_timestamp_ms", "status_family", "timestamp_ms"),
    Index("ix_request_facts_role_id_timestamp_ms", "role_id", "timestamp_ms"),
)

# filter/group name → column; the console's shared filters (role-model.md §3.1, Observe)
DIMENSIONS: Final[Mapping[str, Column[Any]]] = {
    "source": REQUEST_FACTS.c.source,
    "endpoint": REQUEST_FACTS.c.endpoint_id,
    "model": REQUEST_FACTS.c.model_id,
    "provider": REQUEST_FACTS.c.provider_kind,
    "role": REQUEST_FACTS.c.role_id,
    "operation": REQUEST_FACTS.c.task_type,
    "status": REQUEST_FACTS.c.status_family,
    "strategy": REQUEST_FACTS.c.strategy,
}
# a client error is the caller's (bad request, nothing could serve it); the rest are upstream
_CLIENT_ERRORS: Final = frozenset({"invalid_request", "no_eligible_endpoint"})
MAX_GROUPS: Final = 50


def status_family(error_class: str | None) -> str:
    """``2xx`` for success, ``4xx`` for a request nothing could serve as asked, else ``5xx``."""
    if not error_class:
        return "2xx"
    return "4xx" if error_class in _CLIENT_ERRORS else "5xx"


def fact_row(usage: Mapping[str, Any], decision: Mapping[str, Any] | None) -> dict[str, Any]:
    """The fact row of one usage event, with the strategy and chosen endpoint of its decision."""
    error = usage.get("error_class")
    cost = usage.get("cost_actual")
    if cost is None and not error:
        cost = usage.get("cost_estimate")
    return {
        "request_id": usage["request_id"],
        "routing_decision_id": usage["routing_decision_id"],
        "timestamp_ms": int(usage["timestamp_ms"]),
        "endpoint_id": usage["endpoint_id"],
        "chosen_endpoint_id": (decision or {}).get("chosen_endpoint_id"),
        "model_id": usage.get("model_id"),
        "provider_kind": usage.get("provider_kind"),
        "source": usage.get("sample_source") or "live_request",
        "strategy": (decision or {}).get("strategy"),
        "status_family": status_family(error),
        "error_class": error,
        "latency_ms": float(usage.get("latency_ms") or 0.0),
        "tokens_in": int(usage.get("tokens_in") or 0),
        "tokens_out": int(usage.get("tokens_out") or 0),
        "cost_usd": None if cost is None else float(cost),
    }


@dataclass(frozen=True, slots=True)
class FactFilter:
    """One console slice: a time window plus equality filters on `DIMENSIONS`."""

    since_ms: int | None = None
    until_ms: int | None = None
    equals: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.equals) - set(DIMENSIONS))
        if unknown:
            known = ", ".join(DIMENSIONS)
            raise ValueError(f"unknown filter {unknown[0]!r}: use one of {known}")

    def clauses(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.since_ms is not None:
            out.append(REQUEST_FACTS.c.timestamp_ms >= self.since_ms)
        if self.until_ms is not None:
            out.append(REQUEST_FACTS.c.timestamp_ms < self.until_ms)
        out.extend(DIMENSIONS[name] == value for name, value in self.equals.items())
        return out

    def apply(self, query: Select[Any]) -> Select[Any]:
        clauses = self.clauses()
        return query.where(and_(*clauses)) if clauses else query


_F = REQUEST_FACTS.c
_OK = case((_F.status_family == "2xx", 1), else_=0)
_FALLBACK = case(
    (and_(_F.chosen_endpoint_id.is_not(None), _F.chosen_endpoint_id != _F.endpoint_id), 1),
    else_=0,
)
_TOTALS = (
    func.count().label("requests"),
    func.coalesce(func.sum(_OK), 0).label("ok"),
    func.avg(_F.latency_ms).label("latency_avg_ms"),
    func.coalesce(func.sum(_F.cost_usd), 0.0).label("cost_usd"),
    func.count(_F.cost_usd).label("costed"),
    func.coalesce(func.sum(_F.tokens_in), 0).label("tokens_in"),
    func.coalesce(func.sum(_F.tokens_out), 0).label("tokens_out"),
    func.coalesce(func.sum(_FALLBACK), 0).label("fallbacks"),
)


def _totals(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    for key in ("requests", "ok", "costed", "tokens_in", "tokens_out", "fallbacks"):
        out[key] = int(out.get(key) or 0)
    out["cost_usd"] = float(out.get("cost_usd") or 0.0)
    avg = out.get("latency_avg_ms")
    out["latency_avg_ms"] = None if avg is None else float(avg)
    return out


class SqlAnalyticsMixin(SqlUsageMixin, SqlBase):
    """Keeps `REQUEST_FACTS` current and answers the console's slice queries."""

    def add_usage(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Store usage events (as `SqlUsageMixin`) and their fact rows, in one transaction."""
        if not events:
            return
        with self.batch():
            super().add_usage(events)
            decisions = self._decision_columns({str(e["routing_decision_id"]) for e in events})
            rows = [fact_row(e, decisions.get(str(e["routing_decision_id"]))) for e in events]
            self._insert_new(REQUEST_FACTS, rows)

    def annotate_requests(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Set ``role_id`` / ``task_type`` of stored facts from ``{"request_id", "role_id",
        "task_type"}`` mappings (the router's request, which usage events do not carry)."""
        if not rows:
            return
        statement = (
            update(REQUEST_FACTS)
            .where(_F.request_id == bindparam("rid"))
            .values(role_id=bindparam("role"), task_type=bindparam("task"))
        )
        params = [
            {"rid": r["request_id"], "role": r.get("role_id"), "task": r.get("task_type")}
            for r in rows
        ]
        with self._begin() as connection:
            connection.execute(statement, params)

    def _decision_columns(self, ids: set[str]) -> dict[str, dict[str, Any]]:
        query = select(
            DECISIONS.c.routing_decision_id, DECISIONS.c.chosen_endpoint_id, DECISIONS.c.strategy
        ).where(DECISIONS.c.routing_decision_id.in_(sorted(ids)))
        with self._begin() as connection:
            return {
                row.routing_decision_id: {
                    "chosen_endpoint_id": row.chosen_endpoint_id,
                    "strategy": row.strategy,
                }
                for row in connection.execute(query)
            }

    # --- reads ------------------------------------------------------------------------------

    def fact_page(
        self, slice_: FactFilter, *, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the ledger, newest first, and how many rows match the slice."""
        if limit < 0 or offset < 0:
            raise ValueError(f"limit and offset must be non-negative, got {limit} and {offset}")
        query = slice_.apply(select(REQUEST_FACTS)).order_by(
            _F.timestamp_ms.desc(), _F.request_id.desc()
        )
        counted = slice_.apply(select(func.count()).select_from(REQUEST_FACTS))
        with self._read() as connection:
            rows = [dict(r._mapping) for r in connection.execute(query.limit(limit).offset(offset))]
            total = int(connection.execute(counted).scalar_one())
        return rows, total

    def fact_for(self, request_id: str) -> dict[str, Any] | None:
        """The fact row of one request, if stored."""
        query = select(REQUEST_FACTS).where(_F.request_id == request_id)
        with self._read() as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else dict(row._mapping)

    def facts_for(self, request_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Fact rows by request id, for the given ids that have one."""
        if not request_ids:
            return {}
        query = select(REQUEST_FACTS).where(_F.request_id.in_(list(request_ids)))
        with self._read() as connection:
            return {row.request_id: dict(row._mapping) for row in connection.execute(query)}

    def fact_totals(self, slice_: FactFilter) -> dict[str, Any]:
        """Counts, success, average latency, cost, tokens and fallbacks over the whole slice."""
        with self._read() as connection:
            row = connection.execute(slice_.apply(select(*_TOTALS))).one()
        return _totals(row)

    def fact_latency_quantiles(
        self, slice_: FactFilter, quantiles: Sequence[float], *, count: int
    ) -> dict[float, float | None]:
        """Nearest-rank latency quantiles of the slice (``count`` = rows in it, known already)."""
        out: dict[float, float | None] = {}
        with self._read() as connection:
            for q in quantiles:
                if count == 0:
                    out[q] = None
                    continue
                rank = min(count - 1, max(0, int(q * count + 0.999999) - 1))
                query = slice_.apply(select(_F.latency_ms)).order_by(_F.latency_ms)
                value = connection.execute(query.limit(1).offset(rank)).scalar_one_or_none()
                out[q] = None if value is None else float(value)
        return out

    def fact_series(
        self, slice_: FactFilter, *, start_ms: int, bucket_ms: int
    ) -> list[dict[str, Any]]:
        """Totals per time bucket (``bucket`` = index from ``start_ms``), buckets with data only."""
        if bucket_ms <= 0:
            raise ValueError(f"bucket_ms must be positive, got {bucket_ms}")
        bucket = ((_F.timestamp_ms - start_ms) // bucket_ms).label("bucket")
        query = slice_.apply(select(bucket, *_TOTALS)).group_by(bucket).order_by(bucket)
        with self._read() as connection:
            return [_totals(row) for row in connection.execute(query)]

    def fact_breakdown(
        self, slice_: FactFilter, dimension: str, *, limit: int = MAX_GROUPS
    ) -> tuple[list[dict[str, Any]], int]:
        """Totals per value of ``dimension``, largest first (at most ``limit``); and group count."""
        if dimension not in DIMENSIONS:
            raise ValueError(f"unknown dimension {dimension!r}: use one of {', '.join(DIMENSIONS)}")
        column = DIMENSIONS[dimension].label("value")
        grouped = slice_.apply(select(column, *_TOTALS)).group_by(DIMENSIONS[dimension])
        ordered = grouped.order_by(func.count().desc(), DIMENSIONS[dimension])
        groups = select(func.count()).select_from(grouped.subquery())
        with self._read() as connection:
            rows = [_totals(row) for row in connection.execute(ordered.limit(limit))]
            total_groups = int(connection.execute(groups).scalar_one())
        return rows, total_groups

    def fact_split_series(
        self, slice_: FactFilter, *, start_ms: int, bucket_ms: int
    ) -> list[tuple[int, str, int]]:
        """(bucket, endpoint_id, requests): the routing split over time."""
        bucket = ((_F.timestamp_ms - start_ms) // bucket_ms).label("bucket")
        query = (
            slice_.apply(select(bucket, _F.endpoint_id, func.count().label("n")))
            .group_by(bucket, _F.endpoint_id)
            .order_by(bucket, _F.endpoint_id)
        )
        with self._read() as connection:
            return [
                (int(r.bucket), str(r.endpoint_id), int(r.n)) for r in connection.execute(query)
            ]

    def recent_decision_ids(self, *, limit: int) -> list[str]:
        """The ids of the newest stored decisions (the what-if preview replays them)."""
        query = (
            select(DECISIONS.c.routing_decision_id)
            .order_by(DECISIONS.c.created_ms.desc(), DECISIONS.c.routing_decision_id.desc())
            .limit(limit)
        )
        with self._read() as connection:
            return [str(v) for v in connection.execute(query).scalars()]

    def decision_page(
        self,
        *,
        limit: int,
        offset: int,
        endpoint_id: str | None = None,
        strategy: str | None = None,
        outcome: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Decisions newest first with their creation time, filtered; and the matching count."""
        clauses: list[ColumnElement[bool]] = []
        if endpoint_id:
            clauses.append(DECISIONS.c.chosen_endpoint_id == endpoint_id)
        if strategy:
            clauses.append(DECISIONS.c.strategy == strategy)
        if outcome == "no_endpoint":
            clauses.append(DECISIONS.c.chosen_endpoint_id == "")
        elif outcome == "routed":
            clauses.append(DECISIONS.c.chosen_endpoint_id != "")
        where = and_(*clauses) if clauses else None
        query = select(DECISIONS.c.created_ms, DECISIONS.c.artifact).order_by(
            DECISIONS.c.created_ms.desc(), DECISIONS.c.routing_decision_id.desc()
        )
        counted = select(func.count()).select_from(DECISIONS)
        if where is not None:
            query, counted = query.where(where), counted.where(where)
        with self._read() as connection:
            rows = connection.execute(query.limit(limit).offset(offset))
            items = [{"created_ms": int(r.created_ms), **dict(r.artifact)} for r in rows]
            total = int(connection.execute(counted).scalar_one())
        return items, total
