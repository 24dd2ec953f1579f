"""Server-side aggregation and pagination for the operator console, on SQLite and PostgreSQL.

Owns `SqlAnalytics`: the record writer hands it each batch's usage events (`add_facts`) and the
requests' roles and tasks (`annotate_requests`), and it keeps the analytics tables of
`rolecall.storage.sql_analytics_tables` in step (facts inserted, rollup sums incremented, in the
writer's transaction); it answers the console's queries with plain SQL aggregates. Every aggregate is a
sum, so callers add groups into coarser ones (per-bucket rows make the totals, per-endpoint rows
the split), and a slice can be read from the facts (exact; short windows) or from the 5-minute
rollup (long windows) with the same result shape.

Speed: on SQLite both tables are clustered by time (``WITHOUT ROWID``), so a window is one
sequential range; secondary indexes on low-cardinality columns are left out on purpose (following
one costs a random read per row, slower than the scan for any slice that matters). Exact latency
quantiles come from a histogram over the facts' fine ``latency_bin`` (which sorts like latency),
then one query that sorts only the bin holding the wanted rank.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    func,
    select,
    update,
)

from rolecall.storage.database import Database
from rolecall.storage.sql_analytics_tables import (
    BINS_PER_E,
    DIMENSION_COLUMNS,
    DIMENSIONS,
    HISTOGRAM_BINS,
    HISTOGRAM_SUMS,
    REQUEST_FACTS,
    REQUEST_ROLLUP,
    ROLLUP_AGGREGATES,
    ROLLUP_DIMENSIONS,
    ROLLUP_MS,
    SUMS,
    FactFilter,
    Recent,
    fact_row,
    group_keys,
    rollup_rows,
    sums_of,
)
from rolecall.storage.sql_tables import DECISIONS
from rolecall.storage.usage_rollup import SqlUsageRollup, usage_rollup_rows

__all__ = [
    "BINS_PER_E",
    "DIMENSIONS",
    "HISTOGRAM_BINS",
    "ROLLUP_MS",
    "SUMS",
    "FactFilter",
    "SqlAnalytics",
]

_F = REQUEST_FACTS.c
_R = REQUEST_ROLLUP.c
MAX_PENDING: Final = 10_000  # remembered role/task of requests not stored yet
_ROLLUP_KEY: Final = ("bucket_ms", *(column for _, column in DIMENSION_COLUMNS))


class SqlAnalytics:
    """Keeps `REQUEST_FACTS` and `REQUEST_ROLLUP` current and answers the console's slice queries."""

    def __init__(self, db: Database, usage: SqlUsageRollup | None = None) -> None:
        self._db = db
        self._usage = usage if usage is not None else SqlUsageRollup(db)
        # role/task of requests annotated before their usage was stored
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
            known = {str(d["routing_decision_id"]): _decision_facts(d) for d in decisions}
            found = self._decisions_of({str(e["routing_decision_id"]) for e in events}, known)
            context = self._pending_context.take(str(e["request_id"]) for e in events)
            rows: dict[str, dict[str, Any]] = {}
            for e in events:  # the first event of a request describes it
                if e["request_id"] not in rows:
                    row = fact_row(e, found.get(e["routing_decision_id"]))
                    row.update(context.get(e["request_id"], {}))
                    rows[e["request_id"]] = row
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
        """Record ``role_id`` / ``task_type`` of requests from ``{"request_id", "role_id",
        "task_type"}`` mappings (the router's request, which usage events do not carry).

        For a request whose facts are not stored yet they are kept (at most `MAX_PENDING`) and
        written with its fact row; that is the cheap order, so call this before `add_facts`.
        Stored facts are updated and their rollup counts moved to the new role and task.
        """
        if not rows:
            return
        with self._db.batch():
            old = self._facts_in_transaction([str(r["request_id"]) for r in rows])
            changed = []
            for r in rows:
                fact = old.get(str(r["request_id"]))
                new = {"role_id": r.get("role_id"), "task_type": r.get("task_type")}
                if fact is None:
                    self._pending_context.keep(str(r["request_id"]), new)
                elif (fact["role_id"], fact["task_type"]) != tuple(new.values()):
                    changed.append((fact, {**fact, **new}))
            if changed:
                self._move_facts(changed)

    def _move_facts(self, changed: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Update stored facts to their new role and task, and their rollup counts with them."""
        statement = (
            update(REQUEST_FACTS)
            .where(_F.request_id == bindparam("rid"))
            .values(role_id=bindparam("role"), task_type=bindparam("task"))
        )
        params = [
            {"rid": n["request_id"], "role": n["role_id"], "task": n["task_type"]}
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
        keys, total = self._page_keys(slice_.apply(select(_F.request_id)), limit, offset)
        rows = self.facts_for(keys)
        return [rows[k] for k in keys if k in rows], total

    def _page_keys(self, query: Select[Any], limit: int, offset: int) -> tuple[list[str], int]:
        """Request ids of one page (newest first) and the total: the skipped rows are walked
        on the time key alone (an index-only scan on PostgreSQL), whole rows read for the page."""
        if limit < 0 or offset < 0:
            raise ValueError(f"limit and offset must be non-negative, got {limit} and {offset}")
        counted = query.with_only_columns(func.count(), maintain_column_froms=True)
        ordered = query.order_by(_F.timestamp_ms.desc(), _F.request_id.desc())
        with self._db.read() as connection:
            keys = [
                str(k) for k in connection.execute(ordered.limit(limit).offset(offset)).scalars()
            ]
            total = int(connection.execute(counted).scalar_one())
        return keys, total

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
    ) -> list[dict[str, Any]]:
        """`SUMS` from the facts per combination of ``dimensions`` (and of time bucket, when
        ``bucket`` = (start_ms, width_ms) is given: key ``bucket`` = index from start)."""
        keys = group_keys(DIMENSIONS, _F.timestamp_ms, dimensions, bucket)
        labelled = [value.label(name) for name, value in SUMS.items()]
        query = slice_.apply(select(*keys, *labelled).select_from(REQUEST_FACTS))
        if keys:
            query = query.group_by(*keys)
        names = [*dimensions, *(["bucket"] if bucket is not None else [])]
        with self._db.read() as connection:
            return [sums_of(row, names) for row in connection.execute(query)]

    def rollup_groups(
        self,
        slice_: FactFilter,
        dimensions: Sequence[str] = (),
        *,
        bucket: tuple[int, int] | None = None,
        histogram: bool = False,
    ) -> list[dict[str, Any]]:
        """As `fact_groups`, from the 5-minute rollup (window edges widened to whole buckets);
        with ``histogram``, each row also has ``histogram``: counts per coarse latency bin."""
        keys = group_keys(ROLLUP_DIMENSIONS, _R.bucket_ms, dimensions, bucket)
        labelled = [value.label(name) for name, value in ROLLUP_AGGREGATES.items()]
        bins = [v.label(f"h{i:02d}") for i, v in enumerate(HISTOGRAM_SUMS)] if histogram else []
        query = slice_.apply(
            select(*keys, *labelled, *bins).select_from(REQUEST_ROLLUP), rollup=True
        )
        if keys:
            query = query.group_by(*keys)
        names = [*dimensions, *(["bucket"] if bucket is not None else [])]
        out = []
        with self._db.read() as connection:
            for row in connection.execute(query):
                sums = sums_of(row, names)
                for d in dimensions:
                    sums[d] = sums[d] or None  # the rollup keeps NULL as ''
                if histogram:
                    sums["histogram"] = [
                        int(row._mapping[f"h{i:02d}"]) for i in range(HISTOGRAM_BINS)
                    ]
                out.append(sums)
        return out

    def fact_histogram(
        self, slice_: FactFilter, dimension: str | None = None
    ) -> dict[Any, list[tuple[int, int]]]:
        """(latency_bin, count) in bin order, per value of ``dimension`` (key None without one)."""
        keys: list[Any] = [] if dimension is None else [DIMENSIONS[dimension].label("key")]
        query = slice_.apply(select(*keys, _F.latency_bin, func.count().label("n")))
        query = query.group_by(*keys, _F.latency_bin).order_by(*keys, _F.latency_bin)
        out: dict[Any, list[tuple[int, int]]] = {}
        with self._db.read() as connection:
            for row in connection.execute(query):
                key = row.key if dimension is not None else None
                out.setdefault(key, []).append((int(row.latency_bin), int(row.n)))
        return out

    def fact_latency_at(self, slice_: FactFilter, bin_: int, offset: int) -> float | None:
        """The ``offset``-th smallest latency (0-based) within one latency bin of the slice."""
        query = slice_.apply(select(_F.latency_ms)).where(_F.latency_bin == bin_)
        query = query.order_by(_F.latency_ms).limit(1).offset(offset)
        with self._db.read() as connection:
            value = connection.execute(query).scalar_one_or_none()
        return None if value is None else float(value)

    def decision_page(
        self,
        *,
        limit: int,
        offset: int,
        endpoint_id: str | None = None,
        strategy: str | None = None,
        outcome: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Decisions of stored requests, newest first, filtered; and how many match.

        Paged through the time-clustered facts (every gateway request stores its usage event and
        so its fact row), then only the page's artifacts are read: deep pages stay cheap.
        """
        clauses: list[ColumnElement[bool]] = []
        if endpoint_id:
            clauses.append(_F.chosen_endpoint_id == endpoint_id)
        if strategy:
            clauses.append(_F.strategy == strategy)
        if outcome == "no_endpoint":
            clauses.append(_F.chosen_endpoint_id == "")
        elif outcome == "routed":
            clauses.append(_F.chosen_endpoint_id != "")
        query = select(_F.request_id)
        if clauses:
            query = query.where(and_(*clauses))
        keys, total = self._page_keys(query, limit, offset)
        wanted = select(DECISIONS.c.request_id, DECISIONS.c.created_ms, DECISIONS.c.artifact)
        with self._db.read() as connection:
            found = {
                row.request_id: row
                for row in connection.execute(wanted.where(DECISIONS.c.request_id.in_(keys)))
            }
        items = [
            {"created_ms": int(found[k].created_ms), **dict(found[k].artifact)}
            for k in keys
            if k in found
        ]
        return items, total

    def replay_inputs(self, *, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` requests as the what-if preview replays them: role, task, tokens
        and the decision's policy snapshot (read alone, not the whole artifact)."""
        snapshot = DECISIONS.c.artifact["policy_snapshot"].label("policy_snapshot")
        query = (
            select(_F.request_id, _F.role_id, _F.task_type, _F.tokens_in, _F.tokens_out, snapshot)
            .join(DECISIONS, DECISIONS.c.routing_decision_id == _F.routing_decision_id)
            .order_by(_F.timestamp_ms.desc(), _F.request_id.desc())
            .limit(limit)
        )
        with self._db.read() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]


def _decision_facts(decision: Mapping[str, Any]) -> dict[str, Any]:
    policy = decision.get("policy_snapshot")
    return {
        "chosen_endpoint_id": decision.get("chosen_endpoint_id"),
        "strategy": policy.get("strategy") if isinstance(policy, Mapping) else None,
    }


def _rollup_upsert(db: Database) -> Any:
    """The rollup upsert: insert a bucket's counters, or add them to the stored ones."""
    insert = db.insert(REQUEST_ROLLUP)
    counters = [c.name for c in REQUEST_ROLLUP.c if c.name not in _ROLLUP_KEY]
    return insert.on_conflict_do_update(
        index_elements=list(_ROLLUP_KEY),
        set_={name: _R[name] + insert.excluded[name] for name in counters},
    )
