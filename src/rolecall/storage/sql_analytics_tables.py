"""The console's analytics tables and the pure functions that fill them.

Owns `REQUEST_FACTS` (one flat row per request), `REQUEST_ROLLUP` (additive sums per 5 minutes and
per combination of the filter dimensions, with a latency histogram), the row builders `fact_row`
and `rollup_rows`, and `FactFilter` (a slice: time window and equality filters). Both tables are
derived from ``usage_events`` (migration 0003 rebuilds them from it), so they can always be
recomputed; nothing here is a record of truth.

Why two tables: the facts answer the ledger, request lookups and short windows exactly; sums over
hours or days read the rollup instead, which holds a few rows per 5 minutes however many requests
there were, so a 24-hour dashboard over 100k requests aggregates a few thousand rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Double,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Select,
    Table,
    Text,
    and_,
    case,
    func,
)

from rolecall.storage.sql_tables import METADATA

__all__ = [
    "BINS_PER_E",
    "DIMENSIONS",
    "DIMENSION_COLUMNS",
    "HISTOGRAM_BINS",
    "HISTOGRAM_SUMS",
    "REQUEST_FACTS",
    "REQUEST_ROLLUP",
    "ROLLUP_AGGREGATES",
    "ROLLUP_DIMENSIONS",
    "ROLLUP_MS",
    "ROLLUP_SUMS",
    "SUMS",
    "USAGE_DIMENSIONS",
    "USAGE_ROLLUP",
    "USAGE_ROLLUP_MS",
    "FactFilter",
    "Recent",
    "fact_row",
    "group_keys",
    "histogram_bin",
    "histogram_upper_ms",
    "latency_bin",
    "rollup_rows",
    "status_family",
    "sums_of",
]

BINS_PER_E: Final = 16  # fine latency bins of the facts, per factor e (≈6% wide)
ROLLUP_MS: Final = 5 * 60_000
HISTOGRAM_BINS: Final = 64  # coarse bins of the rollup: factor 2^(1/4) each, 1 ms … ≈ 65 s
# (filter name, facts column); in the rollup these columns hold '' instead of NULL (key parts)
DIMENSION_COLUMNS: Final = (
    ("source", "source"),
    ("endpoint", "endpoint_id"),
    ("model", "model_id"),
    ("provider", "provider_kind"),
    ("role", "role_id"),
    ("operation", "task_type"),
    ("status", "status_family"),
    ("strategy", "strategy"),
)
ROLLUP_SUMS: Final = (
    "requests",
    "ok",
    "latency_sum_ms",
    "cost_usd",
    "costed",
    "tokens_in",
    "tokens_out",
    "fallbacks",
)
_CLIENT_ERRORS: Final = frozenset({"invalid_request", "no_eligible_endpoint", "budget_exceeded"})

REQUEST_FACTS: Final = Table(
    "request_facts",
    METADATA,
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("request_id", Text, nullable=False),
    Column("routing_decision_id", Text, nullable=False),
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
    Column("latency_bin", Integer, nullable=False),
    Column("tokens_in", Integer, nullable=False),
    Column("tokens_out", Integer, nullable=False),
    Column("cost_usd", Double),
    # clustered by time on SQLite: a time window is one sequential range of the table
    PrimaryKeyConstraint("timestamp_ms", "request_id", name="pk_request_facts"),
    Index("uq_request_facts_request_id", "request_id", unique=True),
    sqlite_with_rowid=False,
)

REQUEST_ROLLUP: Final = Table(
    "request_rollup",
    METADATA,
    Column("bucket_ms", BigInteger, nullable=False),
    *(Column(column, Text, nullable=False) for _, column in DIMENSION_COLUMNS),
    Column("requests", Integer, nullable=False),
    Column("ok", Integer, nullable=False),
    Column("latency_sum_ms", Double, nullable=False),
    Column("cost_usd", Double, nullable=False),
    Column("costed", Integer, nullable=False),
    Column("tokens_in", BigInteger, nullable=False),
    Column("tokens_out", BigInteger, nullable=False),
    Column("fallbacks", Integer, nullable=False),
    *(Column(f"h{i:02d}", Integer, nullable=False) for i in range(HISTOGRAM_BINS)),
    PrimaryKeyConstraint(
        "bucket_ms", *(column for _, column in DIMENSION_COLUMNS), name="pk_request_rollup"
    ),
    sqlite_with_rowid=False,
)


# Usage per key, team, user and tag (rolecall.storage.usage_rollup; migration 0007_identity): one
# row per hour, dimension and value, so a month of spend per key reads a few hundred rows. A
# request counts once in its key's row and its team's and user's when it has them, and once per
# tag it lists.
USAGE_DIMENSIONS: Final = ("key", "team", "user", "tag")
USAGE_ROLLUP_MS: Final = 3_600_000
USAGE_ROLLUP: Final = Table(
    "usage_rollup",
    METADATA,
    Column("bucket_ms", BigInteger, nullable=False),
    Column("dimension", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("requests", Integer, nullable=False),
    Column("ok", Integer, nullable=False),
    Column("tokens_in", BigInteger, nullable=False),
    Column("tokens_out", BigInteger, nullable=False),
    Column("cost_usd", Double, nullable=False),
    Column("costed", Integer, nullable=False),
    PrimaryKeyConstraint("dimension", "bucket_ms", "value", name="pk_usage_rollup"),
    sqlite_with_rowid=False,
)


def status_family(error_class: str | None) -> str:
    """``2xx`` for success, ``4xx`` for a request nothing could serve as asked, else ``5xx``."""
    if not error_class:
        return "2xx"
    return "4xx" if error_class in _CLIENT_ERRORS else "5xx"


def latency_bin(latency_ms: float) -> int:
    """A fine bucket index that never decreases as latency grows (bins sort like latencies)."""
    return math.floor(math.log(max(latency_ms, 0.01)) * BINS_PER_E)


def histogram_bin(latency_ms: float) -> int:
    """The rollup's coarse bin: ``k`` holds [2^(k/4), 2^((k+1)/4)) ms, the ends open."""
    if latency_ms < 1.0:
        return 0
    return min(HISTOGRAM_BINS - 1, math.floor(math.log2(latency_ms) * 4))


def histogram_upper_ms(k: int) -> float:
    return float(2 ** ((k + 1) / 4))


def fact_row(usage: Mapping[str, Any], decision: Mapping[str, Any] | None) -> dict[str, Any]:
    """The fact row of one usage event, with the strategy and chosen endpoint of its decision."""
    error = usage.get("error_class")
    cost = usage.get("cost_actual")
    if cost is None and not error:
        cost = usage.get("cost_estimate")
    latency = float(usage.get("latency_ms") or 0.0)
    return {
        "timestamp_ms": int(usage["timestamp_ms"]),
        "request_id": usage["request_id"],
        "routing_decision_id": usage["routing_decision_id"],
        "endpoint_id": usage["endpoint_id"],
        "chosen_endpoint_id": (decision or {}).get("chosen_endpoint_id"),
        "model_id": usage.get("model_id"),
        "provider_kind": usage.get("provider_kind"),
        "source": usage.get("sample_source") or "live_request",
        "role_id": None,
        "task_type": None,
        "strategy": (decision or {}).get("strategy"),
        "status_family": status_family(error),
        "error_class": error,
        "latency_ms": latency,
        "latency_bin": latency_bin(latency),
        "tokens_in": int(usage.get("tokens_in") or 0),
        "tokens_out": int(usage.get("tokens_out") or 0),
        "cost_usd": None if cost is None else float(cost),
    }


def _rollup_key(fact: Mapping[str, Any]) -> tuple[Any, ...]:
    bucket = fact["timestamp_ms"] - fact["timestamp_ms"] % ROLLUP_MS
    return (bucket, *(fact.get(column) or "" for _, column in DIMENSION_COLUMNS))


def rollup_rows(facts: Iterable[Mapping[str, Any]], sign: int = 1) -> list[dict[str, Any]]:
    """The rollup increments of ``facts`` (``sign=-1``: the decrements that take them out)."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    names = ["bucket_ms", *(column for _, column in DIMENSION_COLUMNS)]
    for fact in facts:
        key = _rollup_key(fact)
        row = rows.get(key)
        if row is None:
            row = rows[key] = dict(zip(names, key, strict=True))
            row.update({name: 0 for name in ROLLUP_SUMS})
            row["latency_sum_ms"] = row["cost_usd"] = 0.0
            row.update({f"h{i:02d}": 0 for i in range(HISTOGRAM_BINS)})
        cost = fact.get("cost_usd")
        chosen = fact.get("chosen_endpoint_id")
        row["requests"] += sign
        row["ok"] += sign if fact["status_family"] == "2xx" else 0
        row["latency_sum_ms"] += sign * fact["latency_ms"]
        row["cost_usd"] += sign * (cost or 0.0)
        row["costed"] += sign if cost is not None else 0
        row["tokens_in"] += sign * fact["tokens_in"]
        row["tokens_out"] += sign * fact["tokens_out"]
        row["fallbacks"] += sign if chosen and chosen != fact["endpoint_id"] else 0
        row[f"h{histogram_bin(fact['latency_ms']):02d}"] += sign
    return list(rows.values())


# filter/group name → facts column; the console's shared filters (role-model.md §3.1, Observe)
DIMENSIONS: Final[Mapping[str, Column[Any]]] = {
    name: REQUEST_FACTS.c[column] for name, column in DIMENSION_COLUMNS
}
ROLLUP_DIMENSIONS: Final[Mapping[str, Column[Any]]] = {
    name: REQUEST_ROLLUP.c[column] for name, column in DIMENSION_COLUMNS
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

    def with_equals(self, **more: str) -> FactFilter:
        return FactFilter(self.since_ms, self.until_ms, {**self.equals, **more})

    def apply(self, query: Select[Any], *, rollup: bool = False) -> Select[Any]:
        """``query`` restricted to the slice, on the facts or (``rollup``) on the rollup, whose
        time filter is widened to whole 5-minute buckets."""
        columns = ROLLUP_DIMENSIONS if rollup else DIMENSIONS
        time = REQUEST_ROLLUP.c.bucket_ms if rollup else REQUEST_FACTS.c.timestamp_ms
        since, until = self.since_ms, self.until_ms
        if rollup and since is not None:
            since -= since % ROLLUP_MS
        clauses: list[ColumnElement[bool]] = []
        if since is not None:
            clauses.append(time >= since)
        if until is not None:
            clauses.append(time < until)
        clauses.extend(columns[name] == value for name, value in self.equals.items())
        return query.where(and_(*clauses)) if clauses else query


# --- aggregate expressions (every one additive, so groups can be summed into coarser ones)

_F = REQUEST_FACTS.c
_OK = _F.status_family == "2xx"
_FALLBACK = and_(_F.chosen_endpoint_id.is_not(None), _F.chosen_endpoint_id != _F.endpoint_id)


def _sum_if(condition: ColumnElement[bool], value: Any) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


# every aggregate is additive, so groups can be summed into coarser groups by the caller
SUMS: Final = {
    "requests": func.count(),
    "ok": _sum_if(_OK, 1),
    "latency_sum_ms": func.coalesce(func.sum(_F.latency_ms), 0.0),
    "cost_usd": func.coalesce(func.sum(_F.cost_usd), 0.0),
    "costed": func.count(_F.cost_usd),
    "tokens_in": func.coalesce(func.sum(_F.tokens_in), 0),
    "tokens_out": func.coalesce(func.sum(_F.tokens_out), 0),
    "fallbacks": _sum_if(_FALLBACK, 1),
}
_R = REQUEST_ROLLUP.c
ROLLUP_AGGREGATES: Final = {name: func.coalesce(func.sum(_R[name]), 0) for name in ROLLUP_SUMS}
HISTOGRAM_SUMS: Final = [func.coalesce(func.sum(_R[f"h{i:02d}"]), 0) for i in range(HISTOGRAM_BINS)]
_FLOATS: Final = frozenset({"latency_sum_ms", "cost_usd"})


def sums_of(row: Any, keys: Sequence[str]) -> dict[str, Any]:
    mapping = row._mapping
    out: dict[str, Any] = {key: mapping[key] for key in keys}
    for name in SUMS:
        value = mapping[name] or 0
        out[name] = float(value) if name in _FLOATS else int(value)
    return out


def group_keys(
    columns: Mapping[str, Column[Any]], time: Column[Any], dims: Sequence[str], bucket: Any
) -> list[Any]:
    unknown = [d for d in dims if d not in columns]
    if unknown:
        raise ValueError(f"unknown dimension {unknown[0]!r}: use one of {', '.join(columns)}")
    keys: list[Any] = [columns[d].label(d) for d in dims]
    if bucket is not None:
        start, width = bucket
        if width <= 0:
            raise ValueError(f"bucket width must be positive, got {width}")
        keys.append(((time - start) // width).label("bucket"))
    return keys


class Recent:
    """A bounded memo of facts about requests whose usage is not stored yet (oldest dropped)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._items: dict[str, dict[str, Any]] = {}
        self._limit = limit

    def keep(self, key: str, value: dict[str, Any]) -> None:
        if len(self._items) >= self._limit:  # usage that never came: forget the oldest
            self._items.pop(next(iter(self._items)))
        self._items[key] = value

    def take(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {k: self._items.pop(k) for k in keys if k in self._items}
