"""Per-endpoint execution cooldowns on SQL: one upserted row per endpoint (`SqlCooldowns`).

Rows map one-to-one onto `rolecall.execution.cooldown.Cooldown`.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from sqlalchemy import delete, select

from rolecall.execution.cooldown import Cooldown
from rolecall.storage.database import Database
from rolecall.storage.sql_tables import COOLDOWNS

__all__ = ["SqlCooldowns"]

_COOLDOWN_FIELDS: Final = tuple(field.name for field in dataclasses.fields(Cooldown))
_COOLDOWN_COLUMNS: Final = [COOLDOWNS.c[name] for name in _COOLDOWN_FIELDS]


class SqlCooldowns:
    """Cooldowns on SQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, cooldown: Cooldown) -> None:
        """Insert or replace the cooldown of ``cooldown.endpoint_id``."""
        row = {name: getattr(cooldown, name) for name in _COOLDOWN_FIELDS}
        self._db.upsert(COOLDOWNS, [row], key=["endpoint_id"])

    def get(self, endpoint_id: str) -> Cooldown | None:
        """The endpoint's cooldown, if any (expired ones included)."""
        query = select(*_COOLDOWN_COLUMNS).where(COOLDOWNS.c.endpoint_id == endpoint_id)
        with self._db.read() as connection:
            row = connection.execute(query).mappings().one_or_none()
        return None if row is None else Cooldown(**row)

    def all(self) -> list[Cooldown]:
        """Every stored cooldown, by endpoint id."""
        query = select(*_COOLDOWN_COLUMNS).order_by(COOLDOWNS.c.endpoint_id)
        with self._db.read() as connection:
            return [Cooldown(**row) for row in connection.execute(query).mappings()]

    def clear(self, endpoint_id: str) -> None:
        """Forget the endpoint's cooldown (no error if there is none)."""
        with self._db.begin() as connection:
            connection.execute(delete(COOLDOWNS).where(COOLDOWNS.c.endpoint_id == endpoint_id))
