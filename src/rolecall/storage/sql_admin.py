"""SQL implementation of the operational ports: `ApiKeyStore` and `CooldownStore`.

Owns `SqlApiKeyMixin` (hashed API keys; lookups only ever match non-revoked keys) and
`SqlCooldownMixin` (one upserted cooldown row per endpoint). Rows map one-to-one onto the frozen
records of `rolecall.storage.records`.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Final

from sqlalchemy import delete, select, update

from rolecall.storage.records import ApiKeyRecord, Cooldown
from rolecall.storage.sql_base import SqlBase
from rolecall.storage.sql_tables import API_KEYS, COOLDOWNS

__all__ = ["SqlApiKeyMixin", "SqlCooldownMixin"]

_KEY_FIELDS: Final = tuple(field.name for field in dataclasses.fields(ApiKeyRecord))
_COOLDOWN_FIELDS: Final = tuple(field.name for field in dataclasses.fields(Cooldown))
_KEY_COLUMNS: Final = [API_KEYS.c[name] for name in _KEY_FIELDS]
_COOLDOWN_COLUMNS: Final = [COOLDOWNS.c[name] for name in _COOLDOWN_FIELDS]


class SqlApiKeyMixin(SqlBase):
    """`ApiKeyStore` on SQL."""

    def put_api_key(self, record: ApiKeyRecord) -> None:
        row = {name: getattr(record, name) for name in _KEY_FIELDS}
        self._upsert(API_KEYS, [row], key=["key_id"])

    def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        query = select(*_KEY_COLUMNS).where(
            API_KEYS.c.key_hash == key_hash, API_KEYS.c.revoked_ms.is_(None)
        )
        with self._read() as connection:
            row = connection.execute(query).mappings().one_or_none()
        return None if row is None else ApiKeyRecord(**row)

    def list_api_keys(self) -> list[ApiKeyRecord]:
        query = select(*_KEY_COLUMNS).order_by(API_KEYS.c.created_ms, API_KEYS.c.key_id)
        with self._read() as connection:
            return [ApiKeyRecord(**row) for row in connection.execute(query).mappings()]

    def revoke_api_key(self, key_id: str, *, revoked_ms: int | None = None) -> bool:
        """Revoke a key at ``revoked_ms`` (default: now); False if no such live key exists."""
        when = _now_ms() if revoked_ms is None else revoked_ms
        statement = (
            update(API_KEYS)
            .where(API_KEYS.c.key_id == key_id, API_KEYS.c.revoked_ms.is_(None))
            .values(revoked_ms=when)
        )
        with self._begin() as connection:
            return connection.execute(statement).rowcount > 0


class SqlCooldownMixin(SqlBase):
    """`CooldownStore` on SQL."""

    def put_cooldown(self, cooldown: Cooldown) -> None:
        row = {name: getattr(cooldown, name) for name in _COOLDOWN_FIELDS}
        self._upsert(COOLDOWNS, [row], key=["endpoint_id"])

    def get_cooldown(self, endpoint_id: str) -> Cooldown | None:
        query = select(*_COOLDOWN_COLUMNS).where(COOLDOWNS.c.endpoint_id == endpoint_id)
        with self._read() as connection:
            row = connection.execute(query).mappings().one_or_none()
        return None if row is None else Cooldown(**row)

    def list_cooldowns(self) -> list[Cooldown]:
        query = select(*_COOLDOWN_COLUMNS).order_by(COOLDOWNS.c.endpoint_id)
        with self._read() as connection:
            return [Cooldown(**row) for row in connection.execute(query).mappings()]

    def clear_cooldown(self, endpoint_id: str) -> None:
        with self._begin() as connection:
            connection.execute(delete(COOLDOWNS).where(COOLDOWNS.c.endpoint_id == endpoint_id))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
