"""Server-side aggregation and pagination for the operator console, on SQLite and PostgreSQL.

Owns `SqlAnalytics`: the record writer hands it each batch's usage events (`add_facts`) and what
the gateway observed beside them — role, task, whether the request ran (`annotate_requests`) —
and it keeps the analytics tables of `rolecall.storage.sql_analytics_tables` in step (facts
inserted, rollup sums incremented, in the writer's transaction); it answers the console's queries
with the plain SQL aggregates of `rolecall.storage.analytics_sums`. Every aggregate is a sum, so
callers add groups into coarser ones (per-bucket rows make the totals, per-endpoint rows the
split), and a window can be read from the facts (exact; short windows) or from the 5-minute
rollup plus the facts of its first, partial bucket (`window_groups`; long windows) with the same
result: both count the same facts.

Speed: on SQLite both tables are clustered by time (``WITHOUT ROWID``), so a window is one
sequential range; secondary indexes on low-cardinality columns are left out on purpose (following
one costs a random read per row, slower than the scan for any slice that matters). Exact latency
quantiles come from a histogram over the facts' fine ``latency_bin`` (which sorts like latency),
then one query that sorts only the bin holding the wanted rank.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import Select, bindparam, func, select, update

from rolecall.storage import analytics_pages
from rolecall.storage.analytics_sums import (
    DIMENSIONS,
    FACT_AGGREGATES,
    FACT_HISTOGRAM_SUMS,
    HISTOGRAM_SUMS,
    IS_EXECUTED,
    OUTCOME_KEY,
    ROLLUP_AGGREGATES,
    ROLLUP_DIMENSIONS,
    SUMS,
    FactFilter,
    fold_outcomes,
    group_keys,
    sums_of,
)
from rolecall.storage.database import Database
from rolecall.storage.sql_analytics_tables import (
    BINS_PER_E,
    DIMENSION_COLUMNS,
    HISTOGRAM_BINS,
    OUTCOMES,
    REQUEST_FACTS,
    REQUEST_ROLLUP,
    ROLLUP_MS,
    Recent,
    annotated_fact,
    decision_facts,
    fact_row,
    rollup_rows,
)
from rolecall.storage.sql_tables import DECISIONS
from rolecall.storage.usage_rollup import SqlUsageRollup, usage_rollup_rows

__all__ = [
    "BINS_PER_E",
    "DIMENSIONS",
    "HISTOGRAM_BINS",
    "OUTCOMES",
    "ROLLUP_MS",
    "SUMS",
    "FactFilter",
    "SqlAnalytics",
]

_F = REQUEST_FACTS.c
_R = REQUEST_ROLLUP.c
MAX_PENDING: Final = 10_000  # remembered annotations of requests not stored yet
_ROLLUP_KEY: Final = ("bucket_ms", *(column for _, column in DIMENSION_COLUMNS))


class SqlAnalytics:
    """Keeps `REQUEST_FACTS` and `REQUEST_ROLLUP` current and answers the console's slice queries."""

    def __init__(self, db: Database, usage: SqlUsageRollup | None = None) -> None:
        self._db = db
        self._usage = usage if usage is not None else SqlUsageRollup(db)
        # annotations of requests made before their usage was stored
        self._pending_context = Recent(MAX_PENDING)
        # built once: composing SQLAlchemy expressions costs more CPU than the write itself
        self._rollup_upsert = _rollup_upsert(db)

    def add_facts(
        self,
        events: Sequence[Mapping[str, Any]],
        decisions: Sequence[Mapping[str, Any]] = (),
        identities: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """The fact rows and rollup increments of stored usage ``events``, in one transaction; a
        request already stored is neither inserted nor counted again. ``decisions``: artifacts
        stored with them (the facts copy a few fields; others are read back); ``identities``:
        who each request was for, by request id (usage per team, user and tag)."""
        if not events:
            return
        with self._db.batch():
            known = {str(d["routing_decision_id"]): decision_facts(d) for d in decisions}
            found = self._decisions_of({str(e["routing_decision_id"]) for e in events}, known)
            context = self._pending_context.take(str(e["request_id"]) for e in events)
            rows: dict[str, dict[str, Any]] = {}
            for e in events:  # the first event of a request describes it
                if e["request_id"] not in rows:
                    decision = found.get(e["routing_decision_id"])
                    rows[e["request_id"]] = fact_row(e, decision, context.get(e["request_id"]))
            inserted = self._insert_facts(list(rows.values()))
            self._bump_rollup(rollup_rows(rows[i] for i in inserted))
            apps = {str(e["request_id"]): e.get("app_id") for e in events}
            who = identities or {}
            self._usage.add(usage_rollup_rows((rows[i], apps[i], who.get(i)) for i in inserted))

    def _insert_facts(self, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        """Insert fact rows, skipping requests already stored; the ids actually inserted."""
        ids = [str(row["request_id"]) for row in rows]
        stored = self.stored_request_ids(ids)
        new = [dict(row) for row, i in zip(rows, ids, strict=True) if i not in stored]
        self._db.insert_rows(REQUEST_FACTS, new)
        return [i for i in ids if i not in stored]

    def stored_request_ids(self, request_ids: Sequence[str]) -> set[str]:
        """Which of ``request_ids`` have their records stored (every request has a fact row,
        written in the transaction that stores its records)."""
        rows = self._db.rows_in(
            lambda ids: select(_F.request_id).where(_F.request_id.in_(ids)), request_ids
        )
        return {str(row.request_id) for row in rows}

    def annotate_requests(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Record what the gateway observed of requests that usage events do not carry, from
        ``{"request_id", "role_id", "task_type", "executed"?}`` mappings: the router's request
        and whether the request ran on an upstream (which tells a decision-only call and a
        refusal from a served request; see `request_outcome`).

        For a request whose facts are not stored yet they are kept (at most `MAX_PENDING`) and
        written with its fact row; that is the cheap order, so call this before `add_facts`.
        Stored facts are updated and their rollup counts moved with them.
        """
        if not rows:
            return
        with self._db.batch():
            old = self._facts_in_transaction([str(r["request_id"]) for r in rows])
            changed = []
            for r in rows:
                fact = old.get(str(r["request_id"]))
                context = {k: r.get(k) for k in ("role_id", "task_type", "executed") if k in r}
                if fact is None:
                    self._pending_context.keep(str(r["request_id"]), context)
                    continue
                new = annotated_fact(fact, context)
                if new != fact:
                    changed.append((fact, new))
            if changed:
                self._move_facts(changed)

    def _move_facts(self, changed: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Update stored facts to their new annotations, and their rollup counts with them."""
        statement = (
            update(REQUEST_FACTS)
            .where(_F.request_id == bindparam("rid"))
            .values(
                role_id=bindparam("role"),
                task_type=bindparam("task"),
                outcome=bindparam("outcome"),
                cost_usd=bindparam("cost"),
            )
        )
        params = [
            {
                "rid": n["request_id"],
                "role": n["role_id"],
                "task": n["task_type"],
                "outcome": n["outcome"],
                "cost": n["cost_usd"],
            }
            for _, n in changed
        ]
        with self._db.begin() as connection:
            connection.execute(statement, params)
        self._bump_rollup(rollup_rows([o for o, _ in changed], sign=-1))
        self._bump_rollup(rollup_rows([n for _, n in changed]))

    def _facts_in_transaction(self, request_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        rows = self._db.rows_in(
            lambda ids: select(REQUEST_FACTS).where(_F.request_id.in_(ids)), list(request_ids)
        )
        return {row.request_id: dict(row._mapping) for row in rows}

    def _bump_rollup(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Add ``rows`` to the rollup sums (an upsert that increments every counter)."""
        if not rows:
            return
        with self._db.begin() as connection:
            connection.execute(self._rollup_upsert, list(rows))

    def _decisions_of(
        self, ids: set[str], known: dict[str, dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """What the facts need of the decisions ``ids``: from ``known`` (stored in the same
        batch), the others read back."""
        found = {i: known[i] for i in ids if i in known}
        missing = sorted(ids - found.keys())
        decision = DECISIONS.c

        def query_of(chunk: Sequence[str]) -> Select[Any]:
            columns = (decision.routing_decision_id, decision.chosen_endpoint_id, decision.strategy)
            return select(*columns).where(decision.routing_decision_id.in_(chunk))

        for row in self._db.rows_in(query_of, missing):
            found[row.routing_decision_id] = {
                "chosen_endpoint_id": row.chosen_endpoint_id,
                "strategy": row.strategy,
            }
        return found

    # --- reads ------------------------------------------------------------------------------

    def fact_page(
        self, slice_: FactFilter, *, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the ledger, newest first, and how many rows match the slice."""
        keys, total = analytics_pages.page_keys(
            self._db, slice_.apply(select(_F.request_id)), limit, offset
        )
        rows = self.facts_for(keys)
        return [rows[k] for k in keys if k in rows], total

    def fact_for(self, request_id: str) -> dict[str, Any] | None:
        """The fact row of one request, if stored."""
        return self.facts_for([request_id]).get(request_id)

    def facts_for(self, request_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Fact rows by request id, for the given ids that have one."""
        if not request_ids:
            return {}
        query = select(REQUEST_FACTS).where(_F.request_id.in_(list(request_ids)))
        with self._db.read() as connection:
            return {row.request_id: dict(row._mapping) for row in connection.execute(query)}

    def fact_groups(
        self,
        slice_: FactFilter,
        dimensions: Sequence[str] = (),
        *,
        bucket: tuple[int, int] | None = None,
        histogram: bool = False,
    ) -> list[dict[str, Any]]:
        """`SUMS` from the facts per combination of ``dimensions`` (and of time bucket, when
        ``bucket`` = (start_ms, width_ms) is given: key ``bucket`` = index from start); with
        ``histogram``, each row also has the rollup's coarse ``histogram`` of its latencies."""
        keys = group_keys(DIMENSIONS, _F.timestamp_ms, dimensions, bucket)
        keys.append(_F.outcome.label(OUTCOME_KEY))
        labelled = [value.label(name) for name, value in FACT_AGGREGATES.items()]
        bins = (
            [v.label(f"h{i:02d}") for i, v in enumerate(FACT_HISTOGRAM_SUMS)] if histogram else []
        )
        query = slice_.apply(select(*keys, *labelled, *bins).select_from(REQUEST_FACTS))
        names = [*dimensions, *(["bucket"] if bucket is not None else [])]
        with self._db.read() as connection:
            rows = connection.execute(query.group_by(*keys))
            return fold_outcomes(rows, names, histogram=histogram)

    def rollup_groups(
        self,
        slice_: FactFilter,
        dimensions: Sequence[str] = (),
        *,
        bucket: tuple[int, int] | None = None,
        histogram: bool = False,
    ) -> list[dict[str, Any]]:
        """As `fact_groups`, from the 5-minute rollup (window edges widened to whole buckets)."""
        keys = group_keys(ROLLUP_DIMENSIONS, _R.bucket_ms, dimensions, bucket)
        labelled = [value.label(name) for name, value in ROLLUP_AGGREGATES.items()]
        bins = [v.label(f"h{i:02d}") for i, v in enumerate(HISTOGRAM_SUMS)] if histogram else []
        query = slice_.apply(
            select(*keys, *labelled, *bins).select_from(REQUEST_ROLLUP), rollup=True
        )
        rows = self._grouped(query, keys, dimensions, bucket, histogram)
        for row in rows:
            for d in dimensions:
                row[d] = row[d] or None  # the rollup keeps NULL as ''
        return rows

    def _grouped(
        self,
        query: Select[Any],
        keys: Sequence[Any],
        dimensions: Sequence[str],
        bucket: tuple[int, int] | None,
        histogram: bool,
    ) -> list[dict[str, Any]]:
        if keys:
            query = query.group_by(*keys)
        names = [*dimensions, *(["bucket"] if bucket is not None else [])]
        out = []
        with self._db.read() as connection:
            for row in connection.execute(query):
                mapping = row._mapping
                sums = sums_of(mapping, names)
                if histogram:
                    sums["histogram"] = [
                        int(mapping[f"h{i:02d}"] or 0) for i in range(HISTOGRAM_BINS)
                    ]
                out.append(sums)
        return out

    def window_groups(
        self,
        slice_: FactFilter,
        dimensions: Sequence[str] = (),
        *,
        bucket: tuple[int, int] | None = None,
        histogram: bool = False,
    ) -> list[dict[str, Any]]:
        """The rows of `fact_groups` for exactly ``slice_``'s window (``until_ms`` open), read
        mostly from the rollup: its whole 5-minute buckets from the rollup, the part of a bucket
        before them from the facts. The rows of both are added up by the caller, whose totals are
        then those of the facts: every window counts the same facts (the rollup is their sum)."""
        since = slice_.since_ms
        if slice_.until_ms is not None:
            raise ValueError("window_groups reads a window up to now: until_ms must be None")
        if since is None or since % ROLLUP_MS == 0:
            return self.rollup_groups(slice_, dimensions, bucket=bucket, histogram=histogram)
        whole = since - since % ROLLUP_MS + ROLLUP_MS
        head = slice_.between(since, whole)
        return [
            *self.rollup_groups(
                slice_.between(whole, None), dimensions, bucket=bucket, histogram=histogram
            ),
            *self.fact_groups(head, dimensions, bucket=bucket, histogram=histogram),
        ]

    def fact_histogram(
        self,
        slice_: FactFilter,
        dimension: str | None = None,
        *,
        bucket: tuple[int, int] | None = None,
    ) -> dict[Any, list[tuple[int, int]]]:
        """(latency_bin, count) of executed requests in bin order, per value of ``dimension`` or
        per time bucket (``bucket`` = (start_ms, width_ms): key = index from start); key None
        without either."""
        keys = group_keys(DIMENSIONS, _F.timestamp_ms, [dimension] if dimension else [], bucket)
        query = slice_.apply(select(*keys, _F.latency_bin, func.count().label("n")))
        query = query.where(IS_EXECUTED).group_by(*keys, _F.latency_bin)
        query = query.order_by(*keys, _F.latency_bin)
        out: dict[Any, list[tuple[int, int]]] = {}
        with self._db.read() as connection:
            for row in connection.execute(query):
                key = row[0] if keys else None
                out.setdefault(key, []).append((int(row.latency_bin), int(row.n)))
        return out

    def fact_latency_at(self, slice_: FactFilter, bin_: int, offset: int) -> float | None:
        """The ``offset``-th smallest latency (0-based) of executed requests within one latency
        bin of the slice."""
        query = slice_.apply(select(_F.latency_ms)).where(IS_EXECUTED, _F.latency_bin == bin_)
        query = query.order_by(_F.latency_ms).limit(1).offset(offset)
        with self._db.read() as connection:
            value = connection.execute(query).scalar_one_or_none()
        return None if value is None else float(value)

    def recent_facts(
        self, slice_: FactFilter, since_ms: int, *, limit: int
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` fact rows of ``slice_`` at or after ``since_ms`` (by request
        time), newest first: what a live tail polls for."""
        query = slice_.apply(select(REQUEST_FACTS)).where(_F.timestamp_ms >= since_ms)
        query = query.order_by(_F.timestamp_ms.desc(), _F.request_id.desc()).limit(limit)
        with self._db.read() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def decision_page(
        self,
        *,
        limit: int,
        offset: int,
        endpoint_id: str | None = None,
        strategy: str | None = None,
        outcome: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """See `rolecall.storage.analytics_pages.decision_page`."""
        return analytics_pages.decision_page(
            self._db,
            limit=limit,
            offset=offset,
            endpoint_id=endpoint_id,
            strategy=strategy,
            outcome=outcome,
        )

    def replay_inputs(self, *, limit: int) -> list[dict[str, Any]]:
        """See `rolecall.storage.analytics_pages.replay_inputs`."""
        return analytics_pages.replay_inputs(self._db, limit=limit)


def _rollup_upsert(db: Database) -> Any:
    """The rollup upsert: insert a bucket's counters, or add them to the stored ones."""
    insert = db.insert(REQUEST_ROLLUP)
    counters = [c.name for c in REQUEST_ROLLUP.c if c.name not in _ROLLUP_KEY]
    return insert.on_conflict_do_update(
        index_elements=list(_ROLLUP_KEY),
        set_={name: _R[name] + insert.excluded[name] for name in counters},
    )
