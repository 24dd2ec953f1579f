"""Hashed gateway API keys: `ApiKeyRecord` and `SqlApiKeys`, the store that keeps them.

Lookups only ever match non-revoked keys; the key itself is never stored, only its hash.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Final

from sqlalchemy import func, select, update

from rolecall.checks import require_count, require_text
from rolecall.storage.database import Database
from rolecall.storage.sql_tables import API_KEYS

__all__ = ["ApiKeyRecord", "SqlApiKeys"]


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A gateway API key as stored: its hash, never the key.

    ``prefix`` is the first 8 characters of the key, kept only so operators can tell keys apart;
    ``revoked_ms`` is ``None`` while the key is usable.
    """

    key_id: str
    name: str
    key_hash: str
    prefix: str
    created_ms: int
    revoked_ms: int | None = None

    def __post_init__(self) -> None:
        for name in ("key_id", "name", "key_hash"):
            require_text(name, getattr(self, name))
        if not isinstance(self.prefix, str) or len(self.prefix) > 8:
            raise ValueError(
                f"prefix: must be a string of at most 8 characters, got {self.prefix!r}"
            )
        require_count("created_ms", self.created_ms)
        if self.revoked_ms is not None:
            require_count("revoked_ms", self.revoked_ms)

    @property
    def revoked(self) -> bool:
        """Whether the key has been revoked."""
        return self.revoked_ms is not None


_KEY_FIELDS: Final = tuple(field.name for field in dataclasses.fields(ApiKeyRecord))
_KEY_COLUMNS: Final = [API_KEYS.c[name] for name in _KEY_FIELDS]


class SqlApiKeys:
    """API key records on SQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, record: ApiKeyRecord) -> None:
        """Insert or replace the key record with ``record.key_id``."""
        row = {name: getattr(record, name) for name in _KEY_FIELDS}
        self._db.upsert(API_KEYS, [row], key=["key_id"])

    def find(self, key_hash: str) -> ApiKeyRecord | None:
        """The non-revoked key with this hash, if any."""
        query = select(*_KEY_COLUMNS).where(
            API_KEYS.c.key_hash == key_hash, API_KEYS.c.revoked_ms.is_(None)
        )
        with self._db.read() as connection:
            row = connection.execute(query).mappings().one_or_none()
        return None if row is None else ApiKeyRecord(**row)

    def fingerprint(self) -> tuple[int, int, int, int]:
        """A cheap summary that changes whenever a key is created, revoked or restored: (keys,
        revoked keys, newest created_ms, newest revoked_ms)."""
        column = API_KEYS.c
        query = select(
            func.count(),
            func.count(column.revoked_ms),
            func.coalesce(func.max(column.created_ms), 0),
            func.coalesce(func.max(column.revoked_ms), 0),
        )
        with self._db.read() as connection:
            row = connection.execute(query).one()
        return int(row[0]), int(row[1]), int(row[2]), int(row[3])

    def live_hashes(self) -> frozenset[str]:
        """The hash of every key not revoked."""
        query = select(API_KEYS.c.key_hash).where(API_KEYS.c.revoked_ms.is_(None))
        with self._db.read() as connection:
            return frozenset(connection.execute(query).scalars())

    def all(self) -> list[ApiKeyRecord]:
        """Every key record, revoked ones included, oldest first."""
        query = select(*_KEY_COLUMNS).order_by(API_KEYS.c.created_ms, API_KEYS.c.key_id)
        with self._db.read() as connection:
            return [ApiKeyRecord(**row) for row in connection.execute(query).mappings()]

    def revoke(self, key_id: str, *, revoked_ms: int | None = None) -> bool:
        """Revoke a key at ``revoked_ms`` (default: now); False if no such live key exists."""
        when = _now_ms() if revoked_ms is None else revoked_ms
        statement = (
            update(API_KEYS)
            .where(API_KEYS.c.key_id == key_id, API_KEYS.c.revoked_ms.is_(None))
            .values(revoked_ms=when)
        )
        with self._db.begin() as connection:
            return connection.execute(statement).rowcount > 0


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
