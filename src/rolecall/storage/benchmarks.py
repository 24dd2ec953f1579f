"""Benchmark runs, graded results and pairwise comparisons on SQL (`SqlBenchmarks`).

Implements `rolecall.benchmark.ports.BenchmarkStore`. Results are keyed by (run, endpoint, case
key) and inserted with ``ON CONFLICT DO NOTHING``, so a result written twice (a resumed run racing
a late write) keeps the first; `put_result` says whether the row was new. Each write is its own
transaction unless the caller opens `SqlStorage.batch`, which the benchmark service does to commit
a result and its profile sample together.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from sqlalchemy import ColumnElement, delete, func, or_, select, true, update

from rolecall.benchmark.results import BenchPairRecord, BenchResultRecord, BenchRunRecord
from rolecall.storage.database import Database
from rolecall.storage.sql_tables import BENCH_PAIRS, BENCH_RESULTS, BENCH_RUNS

__all__ = ["SqlBenchmarks"]

_RUN_FIELDS: Final = tuple(f.name for f in dataclasses.fields(BenchRunRecord))
_RESULT_FIELDS: Final = tuple(f.name for f in dataclasses.fields(BenchResultRecord))
_PAIR_FIELDS: Final = tuple(f.name for f in dataclasses.fields(BenchPairRecord))


def _row(record: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(record, name) for name in names}


class SqlBenchmarks:
    """Benchmark runs, results and pairs on SQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create_run(self, run: BenchRunRecord) -> None:
        with self._db.begin() as connection:
            connection.execute(BENCH_RUNS.insert(), [_row(run, _RUN_FIELDS)])

    def update_run(
        self,
        run_id: str,
        *,
        status: str,
        finished_ms: int | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status, "finished_ms": finished_ms}
        if config is not None:
            values["config"] = config
        with self._db.begin() as connection:
            connection.execute(
                update(BENCH_RUNS).where(BENCH_RUNS.c.run_id == run_id).values(**values)
            )

    def get_run(self, run_id: str) -> BenchRunRecord | None:
        query = select(*(BENCH_RUNS.c[n] for n in _RUN_FIELDS)).where(BENCH_RUNS.c.run_id == run_id)
        with self._db.read() as connection:
            row = connection.execute(query).mappings().one_or_none()
        return None if row is None else BenchRunRecord(**row)

    def list_runs(self, *, limit: int = 100) -> list[BenchRunRecord]:
        query = (
            select(*(BENCH_RUNS.c[n] for n in _RUN_FIELDS))
            .order_by(BENCH_RUNS.c.started_ms.desc(), BENCH_RUNS.c.run_id.desc())
            .limit(limit)
        )
        with self._db.read() as connection:
            return [BenchRunRecord(**row) for row in connection.execute(query).mappings()]

    def put_result(self, result: BenchResultRecord) -> bool:
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT DO NOTHING
        insert = self._db.insert(BENCH_RESULTS).on_conflict_do_nothing()
        statement = insert.returning(BENCH_RESULTS.c.run_id)
        with self._db.begin() as connection:
            return connection.execute(statement, _row(result, _RESULT_FIELDS)).first() is not None

    def results(self, run_id: str) -> list[BenchResultRecord]:
        query = (
            select(*(BENCH_RESULTS.c[n] for n in _RESULT_FIELDS))
            .where(BENCH_RESULTS.c.run_id == run_id)
            .order_by(
                BENCH_RESULTS.c.created_ms, BENCH_RESULTS.c.endpoint_id, BENCH_RESULTS.c.case_key
            )
        )
        with self._db.read() as connection:
            return [BenchResultRecord(**row) for row in connection.execute(query).mappings()]

    def count_results(self, run_id: str) -> dict[str, int]:
        """Stored results of a run by status."""
        query = (
            select(BENCH_RESULTS.c.status, func.count())
            .where(BENCH_RESULTS.c.run_id == run_id)
            .group_by(BENCH_RESULTS.c.status)
        )
        with self._db.read() as connection:
            return {str(status): int(n) for status, n in connection.execute(query)}

    def put_pair(self, pair: BenchPairRecord) -> bool:
        statement = (
            self._db.insert(BENCH_PAIRS).on_conflict_do_nothing().returning(BENCH_PAIRS.c.run_id)
        )
        with self._db.begin() as connection:
            return connection.execute(statement, _row(pair, _PAIR_FIELDS)).first() is not None

    def pairs(self, run_id: str) -> list[BenchPairRecord]:
        query = (
            select(*(BENCH_PAIRS.c[n] for n in _PAIR_FIELDS))
            .where(BENCH_PAIRS.c.run_id == run_id)
            .order_by(BENCH_PAIRS.c.case_key, BENCH_PAIRS.c.endpoint_a, BENCH_PAIRS.c.endpoint_b)
        )
        with self._db.read() as connection:
            return [BenchPairRecord(**row) for row in connection.execute(query).mappings()]

    def delete_results(self, endpoint_id: str | None = None) -> int:
        """Delete stored results and pairs (of one endpoint, or all); return the results deleted."""
        results: ColumnElement[bool] = true()
        pairs: ColumnElement[bool] = true()
        if endpoint_id is not None:
            results = BENCH_RESULTS.c.endpoint_id == endpoint_id
            pairs = or_(
                BENCH_PAIRS.c.endpoint_a == endpoint_id, BENCH_PAIRS.c.endpoint_b == endpoint_id
            )
        with self._db.begin() as connection:
            connection.execute(delete(BENCH_PAIRS).where(pairs))
            return connection.execute(delete(BENCH_RESULTS).where(results)).rowcount
