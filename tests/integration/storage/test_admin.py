"""ApiKeyStore and CooldownStore on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from rolecall.execution.cooldown import Cooldown
from rolecall.storage import ApiKeyRecord, SqlStorage
from tests.integration.storage.builders import NOW_MS


def _key(key_id: str, *, created: int = NOW_MS, name: str = "ci") -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=key_id,
        name=name,
        key_hash=f"sha256:{key_id}",
        prefix="rc-abcde",
        created_ms=created,
        revoked_ms=None,
    )


def test_api_key_round_trip_and_list(storage: SqlStorage) -> None:
    storage.keys.put(_key("k2", created=NOW_MS + 1))
    storage.keys.put(_key("k1"))
    assert storage.keys.find("sha256:k1") == _key("k1")
    assert storage.keys.find("sha256:nope") is None
    assert [k.key_id for k in storage.keys.all()] == ["k1", "k2"]


def test_api_key_put_replaces(storage: SqlStorage) -> None:
    storage.keys.put(_key("k1"))
    storage.keys.put(_key("k1", name="renamed"))
    assert [k.name for k in storage.keys.all()] == ["renamed"]


def test_revoked_key_is_not_found(storage: SqlStorage) -> None:
    storage.keys.put(_key("k1"))
    assert storage.keys.revoke("k1", revoked_ms=NOW_MS + 9) is True
    assert storage.keys.find("sha256:k1") is None
    (listed,) = storage.keys.all()
    assert listed.revoked_ms == NOW_MS + 9
    assert listed.revoked
    assert storage.keys.revoke("k1") is False
    assert storage.keys.revoke("missing") is False


def test_revoke_defaults_to_now(storage: SqlStorage) -> None:
    storage.keys.put(_key("k1"))
    assert storage.keys.revoke("k1")
    (listed,) = storage.keys.all()
    assert listed.revoked_ms is not None
    assert listed.revoked_ms > NOW_MS


def test_cooldown_upsert_list_and_clear(storage: SqlStorage) -> None:
    first = Cooldown(
        "e1", level=0, until_ms=NOW_MS + 600_000, reason="timeout", failures=1, updated_ms=NOW_MS
    )
    storage.cooldowns.put(first)
    assert storage.cooldowns.get("e1") == first
    escalated = Cooldown(
        "e1",
        level=1,
        until_ms=NOW_MS + 1_800_000,
        reason="rate_limit",
        failures=2,
        updated_ms=NOW_MS + 1,
    )
    storage.cooldowns.put(escalated)
    other = Cooldown(
        "e0", level=5, until_ms=NOW_MS, reason="upstream_5xx", failures=9, updated_ms=NOW_MS
    )
    storage.cooldowns.put(other)
    assert storage.cooldowns.get("e1") == escalated
    assert storage.cooldowns.all() == [other, escalated]
    storage.cooldowns.clear("e1")
    storage.cooldowns.clear("never-cooled")
    assert storage.cooldowns.get("e1") is None
    assert storage.cooldowns.all() == [other]


def test_records_validate_themselves() -> None:
    with pytest.raises(ValueError, match="level"):
        Cooldown("e1", level=-1, until_ms=0, reason="timeout", failures=0, updated_ms=0)
    with pytest.raises(ValueError, match="prefix"):
        ApiKeyRecord("k", "n", "h", prefix="too-long-prefix", created_ms=0)
    assert Cooldown("e1", 0, until_ms=10, reason="x", failures=1, updated_ms=0).active(9)
