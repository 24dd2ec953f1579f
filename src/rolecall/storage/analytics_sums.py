"""The console's slices and aggregates over `REQUEST_FACTS` and `REQUEST_ROLLUP`, as SQL expressions.

Owns `FactFilter` (a slice: time window and equality filters on `DIMENSIONS`) and the additive
`SUMS` both tables answer with the same names and the same meaning: on the facts, plain sums per
outcome (`FACT_AGGREGATES`) folded by `fold_outcomes`; on the rollup, the sums of the counters
`rollup_rows` filled with that meaning (`ROLLUP_AGGREGATES`). A sum of groups is the group of
their union, so callers add per-bucket rows into totals and rows of the rollup to rows of the
facts. Only executed requests (served or failed) carry latency, tokens,
cost, fallbacks and a latency-histogram entry; refusals and decision-only calls are counted, not
measured (see `rolecall.storage.sql_analytics_tables`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Column, ColumnElement, Select, and_, case, func, true

from rolecall.storage.sql_analytics_tables import (
    DIMENSION_COLUMNS,
    EXECUTED,
    HISTOGRAM_BINS,
    REQUEST_FACTS,
    REQUEST_ROLLUP,
    ROLLUP_MS,
    ROLLUP_SUMS,
    histogram_lower_ms,
)

__all__ = [
    "DIMENSIONS",
    "FACT_AGGREGATES",
    "FACT_HISTOGRAM_SUMS",
    "HISTOGRAM_SUMS",
    "IS_EXECUTED",
    "OUTCOME_KEY",
    "ROLLUP_AGGREGATES",
    "ROLLUP_DIMENSIONS",
    "SUMS",
    "FactFilter",
    "fold_outcomes",
    "group_keys",
    "sums_of",
]

# filter/group name → facts column; the console's shared filters (role-model.md §3.1, Observe)
DIMENSIONS: Final[Mapping[str, Column[Any]]] = {
    name: REQUEST_FACTS.c[column] for name, column in DIMENSION_COLUMNS
}
ROLLUP_DIMENSIONS: Final[Mapping[str, Column[Any]]] = {
    name: REQUEST_ROLLUP.c[column] for name, column in DIMENSION_COLUMNS
}


@dataclass(frozen=True, slots=True)
class FactFilter:
    """One console slice: a time window [since, until) plus equality filters on `DIMENSIONS`."""

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

    def between(self, since_ms: int | None, until_ms: int | None) -> FactFilter:
        return FactFilter(since_ms, until_ms, self.equals)

    def apply(self, query: Select[Any], *, rollup: bool = False) -> Select[Any]:
        """``query`` restricted to the slice, on the facts or (``rollup``) on the rollup, whose
        time filter is widened to whole 5-minute buckets (callers that must be exact, as
        `SqlAnalytics.window_groups`, ask the rollup only for whole buckets)."""
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
IS_EXECUTED: Final = _F.outcome.in_(EXECUTED)
# ran on another endpoint than the one chosen (counted for executed requests only: a refusal,
# chosen '' or NULL, ran nowhere)
_ELSEWHERE = and_(
    _F.chosen_endpoint_id.is_not(None),
    _F.chosen_endpoint_id != "",
    _F.chosen_endpoint_id != _F.endpoint_id,
)
# the facts are grouped by outcome as well and these plain sums folded into `SUMS` by
# `fold_outcomes` (a CASE on the outcome in every sum costs SQLite twice the time)
FACT_AGGREGATES: Final = {
    "n": func.count(),
    "latency_sum_ms": func.coalesce(func.sum(_F.latency_ms), 0.0),
    "cost_usd": func.coalesce(func.sum(_F.cost_usd), 0.0),
    "costed": func.count(_F.cost_usd),
    "tokens_in": func.coalesce(func.sum(_F.tokens_in), 0),
    "tokens_out": func.coalesce(func.sum(_F.tokens_out), 0),
    "fallbacks": func.coalesce(func.sum(case((_ELSEWHERE, 1), else_=0)), 0),
}
SUMS: Final = ROLLUP_SUMS  # the sums both tables answer, with one meaning
OUTCOME_KEY: Final = "grouped_outcome"  # the label of the outcome the facts are grouped by too
_R = REQUEST_ROLLUP.c
ROLLUP_AGGREGATES: Final = {name: func.coalesce(func.sum(_R[name]), 0) for name in ROLLUP_SUMS}
HISTOGRAM_SUMS: Final = [func.coalesce(func.sum(_R[f"h{i:02d}"]), 0) for i in range(HISTOGRAM_BINS)]


def _in_bin(k: int) -> ColumnElement[bool]:
    """A fact's latency is in the rollup's coarse bin ``k`` (as `histogram_bin` places it)."""
    low = [] if k == 0 else [_F.latency_ms >= histogram_lower_ms(k)]
    high = [] if k == HISTOGRAM_BINS - 1 else [_F.latency_ms < histogram_lower_ms(k + 1)]
    return and_(true(), *low, *high)


# the rollup's coarse histogram counted on the facts (of a group of one outcome)
FACT_HISTOGRAM_SUMS: Final = [
    func.coalesce(func.sum(case((_in_bin(k), 1), else_=0)), 0) for k in range(HISTOGRAM_BINS)
]
_FLOATS: Final = frozenset({"latency_sum_ms", "cost_usd"})


def _zeros(key: Mapping[str, Any], histogram: bool) -> dict[str, Any]:
    out: dict[str, Any] = {**key, **{name: 0 for name in SUMS}}
    out["latency_sum_ms"] = out["cost_usd"] = 0.0
    if histogram:
        out["histogram"] = [0] * HISTOGRAM_BINS
    return out


def fold_outcomes(
    rows: Iterable[Any], names: Sequence[str], *, histogram: bool = False
) -> list[dict[str, Any]]:
    """Rows of `FACT_AGGREGATES` per (``names``…, outcome) folded into `SUMS` per ``names``: the
    meaning `rolecall.storage.sql_analytics_tables.rollup_rows` gives the rollup's counters."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        m = row._mapping
        key = tuple(m[k] for k in names)
        target = out.get(key)
        if target is None:
            target = out[key] = _zeros(dict(zip(names, key, strict=True)), histogram)
        n, outcome = int(m["n"]), m[OUTCOME_KEY]
        if outcome == "decision_only":
            target["decisions"] += n
            continue
        target["requests"] += n
        if outcome not in EXECUTED:
            target["refused"] += n
            continue
        target["executed"] += n
        target["ok" if outcome == "served" else "failed"] += n
        for name in ("costed", "tokens_in", "tokens_out", "fallbacks"):
            target[name] += int(m[name] or 0)
        for name in _FLOATS:
            target[name] += float(m[name] or 0.0)
        if histogram:
            bins = target["histogram"]
            for k in range(HISTOGRAM_BINS):
                bins[k] += int(m[f"h{k:02d}"] or 0)
    return list(out.values())


def sums_of(mapping: Mapping[Any, Any], keys: Sequence[str]) -> dict[str, Any]:
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
