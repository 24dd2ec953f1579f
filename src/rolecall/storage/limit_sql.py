"""The statements on a reservation's path, written out once per shape and run on the driver.

A reservation runs four or five statements; built as SQLAlchemy Core expressions each time,
building and compiling them cost more than running them (docs/performance.md §Budgets and rate
limits). These are plain SQL that SQLite and PostgreSQL both accept (``ON CONFLICT``,
``RETURNING``, ``CASE``), cached by the number of rows they take, with the driver's positional
placeholder. Parameters are always bound, never formatted in.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection

__all__ = ["LimitSql"]


class LimitSql:
    """The statements for one driver (``?`` for sqlite3, ``%s`` for psycopg)."""

    def __init__(self, placeholder: str) -> None:
        self.p = placeholder

    def _run(self, connection: Connection, sql: str, params: Sequence[Any]) -> Any:
        return connection.exec_driver_sql(sql, tuple(params))

    def upsert_counters(
        self, connection: Connection, rows: Sequence[tuple[str, int]]
    ) -> dict[str, int]:
        """Create missing counter rows (name, expires_ms), extend expiries, lock, and return
        each counter's ``used``."""
        sql = _upsert(self.p, len(rows))
        params = [value for row in rows for value in row]
        return {name: int(used) for name, used in self._run(connection, sql, params)}

    def prune(
        self, connection: Connection, cuts: Sequence[tuple[str, int]]
    ) -> list[tuple[str, int]]:
        """Delete log entries at or before each (counter, cut); (counter, amount) of each."""
        sql = _prune(self.p, len(cuts))
        params = [value for cut in cuts for value in cut]
        return [(name, int(amount)) for name, amount in self._run(connection, sql, params)]

    def add_used(self, connection: Connection, deltas: dict[str, int]) -> None:
        sql = _add_used(self.p, len(deltas))
        params = [*(v for pair in deltas.items() for v in pair), *deltas]
        self._run(connection, sql, params)

    def insert_log(self, connection: Connection, entries: Sequence[tuple[Any, ...]]) -> None:
        """Entries: (counter, reservation_id, at_ms, expires_ms, amount)."""
        sql = _insert_log(self.p, len(entries))
        self._run(connection, sql, [value for entry in entries for value in entry])

    def set_entry(
        self, connection: Connection, counter: str, reservation: str, amount: int
    ) -> bool:
        """Rewrite a log entry's amount (delete it at 0); False when it is gone."""
        p = self.p
        where = f"WHERE counter = {p} AND reservation_id = {p}"
        if amount > 0:
            sql = f"UPDATE limit_log SET amount = {p} {where}"
            result = self._run(connection, sql, (amount, counter, reservation))
        else:
            result = self._run(connection, f"DELETE FROM limit_log {where}", (counter, reservation))
        return bool(result.rowcount)


def _values(p: str, columns: int, rows: int) -> str:
    row = "(" + ", ".join([p] * columns) + ")"
    return ", ".join([row] * rows)


@cache
def _upsert(p: str, rows: int) -> str:
    values = ", ".join([f"({p}, 0, {p})"] * rows)
    return (
        f"INSERT INTO limit_counters (counter, used, expires_ms) VALUES {values} "
        "ON CONFLICT (counter) DO UPDATE SET expires_ms = CASE "
        "WHEN excluded.expires_ms > limit_counters.expires_ms THEN excluded.expires_ms "
        "ELSE limit_counters.expires_ms END RETURNING counter, used"
    )


@cache
def _prune(p: str, cuts: int) -> str:
    where = " OR ".join([f"(counter = {p} AND at_ms <= {p})"] * cuts)
    return f"DELETE FROM limit_log WHERE {where} RETURNING counter, amount"


@cache
def _add_used(p: str, counters: int) -> str:
    whens = " ".join([f"WHEN {p} THEN {p}"] * counters)
    names = ", ".join([p] * counters)
    return (
        f"UPDATE limit_counters SET used = used + CASE counter {whens} ELSE 0 END "
        f"WHERE counter IN ({names})"
    )


@cache
def _insert_log(p: str, entries: int) -> str:
    return (
        "INSERT INTO limit_log (counter, reservation_id, at_ms, expires_ms, amount) "
        f"VALUES {_values(p, 5, entries)}"
    )
