"""The console's analytics tables and the pure functions that fill them.

Owns `REQUEST_FACTS` (one flat row per request), `REQUEST_ROLLUP` (additive sums per 5 minutes and
per combination of the filter dimensions, with a latency histogram), the row builders `fact_row`
and `rollup_rows`, and what a request's ``outcome`` is (`request_outcome`). Both tables are
derived from ``usage_events`` and the requests' annotations (migrations 0003 and 0008 rebuild
them), so they can always be recomputed; nothing here is a record of truth.

Why two tables: the facts answer the ledger, request lookups and short windows exactly; sums over
hours or days read the rollup instead, which holds a few rows per 5 minutes however many requests
there were, so a 24-hour dashboard over 100k requests aggregates a few thousand rows.

What counts as traffic: a request the gateway ``served`` or that ``failed`` ran on an upstream
(latency, tokens, cost and fallbacks are theirs); one it ``refused`` (a spent budget, no eligible
endpoint) is a request but ran nowhere, so it is counted as refused, never as a fallback, and adds
no latency; a ``decision_only`` call asked for the decision alone and is counted apart, as a
decision, in no request figure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
)

from rolecall.storage.sql_tables import METADATA

__all__ = [
    "BINS_PER_E",
    "DIMENSION_COLUMNS",
    "EXECUTED",
    "HISTOGRAM_BINS",
    "OUTCOMES",
    "REFUSALS",
    "REQUEST_FACTS",
    "REQUEST_ROLLUP",
    "ROLLUP_MS",
    "ROLLUP_SUMS",
    "USAGE_DIMENSIONS",
    "USAGE_ROLLUP",
    "USAGE_ROLLUP_MS",
    "Recent",
    "annotated_fact",
    "decision_facts",
    "fact_row",
    "fitted",
    "histogram_bin",
    "histogram_lower_ms",
    "histogram_upper_ms",
    "latency_bin",
    "request_outcome",
    "rollup_rows",
    "status_family",
]

BINS_PER_E: Final = 16  # fine latency bins of the facts, per factor e (≈6% wide)
ROLLUP_MS: Final = 5 * 60_000
HISTOGRAM_BINS: Final = 64  # coarse bins of the rollup: factor 2^(1/4) each, 1 ms … ≈ 65 s
OUTCOMES: Final = ("served", "failed", "refused", "decision_only")
EXECUTED: Final = ("served", "failed")  # ran on an upstream: latency, tokens and cost are theirs
# error classes of a request turned away before it ran (never an upstream's failure class)
REFUSALS: Final = frozenset({"budget_exceeded", "no_eligible_endpoint"})
# (filter name, facts column); in the rollup these columns hold '' instead of NULL (key parts)
DIMENSION_COLUMNS: Final = (
    ("source", "source"),
    ("endpoint", "endpoint_id"),
    ("model", "model_id"),
    ("provider", "provider_kind"),
    ("role", "role_id"),
    ("operation", "task_type"),
    ("status", "status_family"),
    ("outcome", "outcome"),
    ("strategy", "strategy"),
)
ROLLUP_SUMS: Final = (
    "requests",
    "ok",
    "failed",
    "refused",
    "decisions",
    "executed",
    "latency_sum_ms",
    "cost_usd",
    "costed",
    "tokens_in",
    "tokens_out",
    "fallbacks",
)
_CLIENT_ERRORS: Final = frozenset({"invalid_request", *REFUSALS})
_ROLLUP_TYPES: Final = {
    "latency_sum_ms": Double,
    "cost_usd": Double,
    "tokens_in": BigInteger,
    "tokens_out": BigInteger,
}

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
    # one of OUTCOMES; the default is what rows stored before revision 0008 were, mostly
    Column("outcome", Text, nullable=False, server_default="served"),
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
    *(Column(name, _ROLLUP_TYPES.get(name, Integer), nullable=False) for name in ROLLUP_SUMS),
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


def request_outcome(error_class: str | None, executed: bool | None = None) -> str:
    """One of `OUTCOMES`. ``executed``: whether the request ran on an upstream (None: not known,
    then a request without an error is taken as served)."""
    if error_class in REFUSALS or (executed is False and error_class):
        return "refused"
    if error_class:
        return "failed"
    return "decision_only" if executed is False else "served"


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


def histogram_lower_ms(k: int) -> float:
    """Where coarse bin ``k`` starts (bin 0 starts at 0)."""
    return 0.0 if k == 0 else float(2 ** (k / 4))


def histogram_upper_ms(k: int) -> float:
    return float(2 ** ((k + 1) / 4))


def fact_row(
    usage: Mapping[str, Any],
    decision: Mapping[str, Any] | None,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The fact row of one usage event, with the strategy and chosen endpoint of its decision and
    the ``context`` the gateway observed (``role_id``, ``task_type``, ``executed``)."""
    error = usage.get("error_class")
    context = context or {}
    outcome = request_outcome(error, context.get("executed"))
    cost = usage.get("cost_actual")
    if cost is None and outcome == "served":
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
        "role_id": context.get("role_id"),
        "task_type": context.get("task_type"),
        "strategy": (decision or {}).get("strategy"),
        "status_family": status_family(error),
        "error_class": error,
        "latency_ms": latency,
        "latency_bin": latency_bin(latency),
        "tokens_in": int(usage.get("tokens_in") or 0),
        "tokens_out": int(usage.get("tokens_out") or 0),
        "cost_usd": None if cost is None or outcome not in EXECUTED else float(cost),
        "outcome": outcome,
    }


def annotated_fact(fact: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """A stored fact row with the annotations of ``context`` applied."""
    new = {**fact, "role_id": context.get("role_id"), "task_type": context.get("task_type")}
    if "executed" in context:
        new["outcome"] = request_outcome(fact["error_class"], context["executed"])
        if new["outcome"] not in ("served", "failed"):
            new["cost_usd"] = None
    return new


def decision_facts(decision: Mapping[str, Any]) -> dict[str, Any]:
    """What the facts copy of a decision artifact."""
    policy = decision.get("policy_snapshot")
    return {
        "chosen_endpoint_id": decision.get("chosen_endpoint_id"),
        "strategy": policy.get("strategy") if isinstance(policy, Mapping) else None,
    }


def _rollup_key(fact: Mapping[str, Any]) -> tuple[Any, ...]:
    bucket = fact["timestamp_ms"] - fact["timestamp_ms"] % ROLLUP_MS
    return (bucket, *(fact.get(column) or "" for _, column in DIMENSION_COLUMNS))


def _empty_rollup_row(names: list[str], key: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(names, key, strict=True))
    row.update({name: 0 for name in ROLLUP_SUMS})
    row["latency_sum_ms"] = row["cost_usd"] = 0.0
    row.update({f"h{i:02d}": 0 for i in range(HISTOGRAM_BINS)})
    return row


def rollup_rows(facts: Iterable[Mapping[str, Any]], sign: int = 1) -> list[dict[str, Any]]:
    """The rollup increments of ``facts`` (``sign=-1``: the decrements that take them out), with
    the meaning `rolecall.storage.analytics_sums.fold_outcomes` gives the same sums of facts."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    names = ["bucket_ms", *(column for _, column in DIMENSION_COLUMNS)]
    for fact in facts:
        key = _rollup_key(fact)
        row = rows.get(key)
        if row is None:
            row = rows[key] = _empty_rollup_row(names, key)
        outcome = fact["outcome"]
        if outcome == "decision_only":
            row["decisions"] += sign
            continue
        row["requests"] += sign
        if outcome == "refused":
            row["refused"] += sign
            continue
        _add_executed(row, fact, sign)
    return list(rows.values())


def _add_executed(row: dict[str, Any], fact: Mapping[str, Any], sign: int) -> None:
    """A served or failed fact's share of a rollup row."""
    cost = fact.get("cost_usd")
    chosen = fact.get("chosen_endpoint_id")
    row["executed"] += sign
    row["ok" if fact["outcome"] == "served" else "failed"] += sign
    row["latency_sum_ms"] += sign * fact["latency_ms"]
    row["cost_usd"] += sign * (cost or 0.0)
    row["costed"] += sign if cost is not None else 0
    row["tokens_in"] += sign * fact["tokens_in"]
    row["tokens_out"] += sign * fact["tokens_out"]
    row["fallbacks"] += sign if chosen and chosen != fact["endpoint_id"] else 0
    row[f"h{histogram_bin(fact['latency_ms']):02d}"] += sign


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


def fitted(rows: Iterable[Mapping[str, Any]], table: Table) -> list[dict[str, Any]]:
    """Rows of today's builders shaped for ``table`` as an earlier revision made it: columns it
    lacks are dropped and rows that then share its primary key are added up (the migrations
    that rebuild these tables use today's builders on purpose; see 0003 and 0008)."""
    key_columns = [c.name for c in table.primary_key.columns]
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        kept = {k: v for k, v in row.items() if k in table.c}
        key = tuple(kept.get(c) for c in key_columns)
        if key not in out:
            out[key] = kept
            continue
        for name, value in kept.items():
            if name not in key_columns:
                out[key][name] += value
    return list(out.values())
