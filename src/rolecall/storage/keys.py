"""Hashed gateway API keys: `ApiKeyRecord` and `SqlApiKeys`, the store that keeps them.

Lookups only ever match non-revoked keys; the key itself is never stored, only its hash. A key
carries its team and its own limits (`rolecall.limits.LimitSpec`), one column each.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func, select, update

from rolecall.checks import require_count, require_text
from rolecall.limits.policy import NO_LIMITS, LimitSpec, Window
from rolecall.storage.database import Database
from rolecall.storage.sql_tables import API_KEYS

__all__ = ["ApiKeyRecord", "SqlApiKeys"]


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A gateway API key as stored: its hash, never the key.

    ``prefix`` is the first 8 characters of the key, kept only so operators can tell keys apart;
    ``revoked_ms`` is ``None`` while the key is usable; ``updated_ms`` is when its team or
    limits last changed.
    """

    key_id: str
    name: str
    key_hash: str
    prefix: str
    created_ms: int
    revoked_ms: int | None = None
    team: str | None = None
    limits: LimitSpec = NO_LIMITS
    updated_ms: int = 0

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
        require_count("updated_ms", self.updated_ms)

    @property
    def revoked(self) -> bool:
        """Whether the key has been revoked."""
        return self.revoked_ms is not None


_PLAIN_FIELDS: Final = ("key_id", "name", "key_hash", "prefix", "created_ms", "revoked_ms", "team")
_KEY_COLUMNS: Final = list(API_KEYS.c)


def _limit_columns(spec: LimitSpec) -> dict[str, Any]:
    return {
        "budget_micro_usd": spec.budget_micro_usd,
        "budget_tokens": spec.budget_tokens,
        "budget_per": str(spec.per),
        "rpm": spec.rpm,
        "tpm": spec.tpm,
    }


def _row(record: ApiKeyRecord) -> dict[str, Any]:
    row = {name: getattr(record, name) for name in _PLAIN_FIELDS}
    return {**row, **_limit_columns(record.limits), "updated_ms": record.updated_ms}


def _record(row: Mapping[Any, Any]) -> ApiKeyRecord:
    per = row["budget_per"]
    spec = LimitSpec(
        budget_micro_usd=row["budget_micro_usd"],
        budget_tokens=row["budget_tokens"],
        per=Window.parse(per) if per else Window("month"),
        rpm=row["rpm"],
        tpm=row["tpm"],
    )
    plain = {name: row[name] for name in _PLAIN_FIELDS}
    return ApiKeyRecord(**plain, limits=spec, updated_ms=row["updated_ms"])


class SqlApiKeys:
    """API key records on SQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, record: ApiKeyRecord) -> None:
        """Insert or replace the key record with ``record.key_id``."""
        self._db.upsert(API_KEYS, [_row(record)], key=["key_id"])

    def find(self, key_hash: str) -> ApiKeyRecord | None:
        """The non-revoked key with this hash, if any."""
        query = select(*_KEY_COLUMNS).where(
            API_KEYS.c.key_hash == key_hash, API_KEYS.c.revoked_ms.is_(None)
        )
        with self._db.read() as connection:
            row = connection.execute(query).mappings().one_or_none()
        return None if row is None else _record(row)

    def fingerprint(self) -> tuple[int, ...]:
        """A cheap summary that changes whenever a key is created, revoked, restored or given
        other limits: (keys, revoked keys, newest created_ms, newest revoked_ms, newest
        updated_ms)."""
        column = API_KEYS.c
        query = select(
            func.count(),
            func.count(column.revoked_ms),
            func.coalesce(func.max(column.created_ms), 0),
            func.coalesce(func.max(column.revoked_ms), 0),
            func.coalesce(func.max(column.updated_ms), 0),
        )
        with self._db.read() as connection:
            row = connection.execute(query).one()
        return tuple(int(value) for value in row)

    def live(self) -> dict[str, ApiKeyRecord]:
        """Every key not revoked, by hash (what the gateway checks keys against)."""
        query = select(*_KEY_COLUMNS).where(API_KEYS.c.revoked_ms.is_(None))
        with self._db.read() as connection:
            records = [_record(row) for row in connection.execute(query).mappings()]
        return {record.key_hash: record for record in records}

    def set_limits(
        self, key_id: str, team: str | None, limits: LimitSpec, *, updated_ms: int | None = None
    ) -> bool:
        """Give a live key a team and limits (replacing its old ones); False if no such key."""
        when = _now_ms() if updated_ms is None else updated_ms
        statement = (
            update(API_KEYS)
            .where(API_KEYS.c.key_id == key_id, API_KEYS.c.revoked_ms.is_(None))
            .values(team=team, updated_ms=when, **_limit_columns(limits))
        )
        with self._db.begin() as connection:
            return connection.execute(statement).rowcount > 0

    def all(self) -> list[ApiKeyRecord]:
        """Every key record, revoked ones included, oldest first."""
        query = select(*_KEY_COLUMNS).order_by(API_KEYS.c.created_ms, API_KEYS.c.key_id)
        with self._db.read() as connection:
            return [_record(row) for row in connection.execute(query).mappings()]

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
