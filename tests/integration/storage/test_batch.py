"""`SqlStorage.batch`: several writes in one transaction — all commit, or none does."""

from __future__ import annotations

import pytest

from rolecall.execution.cooldown import Cooldown
from rolecall.storage.sql import SqlStorage


def _cooldown(endpoint_id: str) -> Cooldown:
    return Cooldown(
        endpoint_id=endpoint_id, level=0, until_ms=10, reason="timeout", failures=1, updated_ms=1
    )


def test_batch_commits_together(storage: SqlStorage) -> None:
    with storage.batch():
        storage.cooldowns.put(_cooldown("a"))
        storage.cooldowns.put(_cooldown("b"))
    assert [c.endpoint_id for c in storage.cooldowns.all()] == ["a", "b"]


def test_batch_rolls_back_together(storage: SqlStorage) -> None:
    def crash_mid_batch() -> None:
        with storage.batch():
            storage.cooldowns.put(_cooldown("a"))
            raise RuntimeError("crash mid-batch")

    with pytest.raises(RuntimeError):
        crash_mid_batch()
    assert storage.cooldowns.all() == []
    storage.cooldowns.put(_cooldown("c"))  # the thread is out of the batch again
    assert [c.endpoint_id for c in storage.cooldowns.all()] == ["c"]
