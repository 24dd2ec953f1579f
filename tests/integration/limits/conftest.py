"""Counter stores for the limits tests: SQLite, PostgreSQL (the integration suite's databases)
and a real Redis (``ROLECALL_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/0``), each test
under a key prefix of its own, deleted afterwards. Without Redis its cases are skipped, except
under CI, where they fail."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.integration.conftest import _in_ci, db_url, pg_database_url, pg_url
from tests.integration.limits.stores import StoreSpec

__all__ = ["db_url", "pg_database_url", "pg_url"]

REDIS_URL = os.environ.get("ROLECALL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def reachable_redis() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        if _in_ci():
            pytest.fail(f"Redis not reachable at {REDIS_URL} ({exc}): CI must not skip Redis")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: skipped Redis")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> Iterator[tuple[str, str]]:
    """(URL, a key prefix of this test's own); its keys are deleted afterwards."""
    url = reachable_redis()
    prefix = f"rolecall-test:{{{secrets.token_hex(6)}}}:"
    yield url, prefix
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> StoreSpec:
    """Where a test's counters live: one of the three stores."""
    if request.param == "redis":
        url, prefix = request.getfixturevalue("redis_prefix")
        return StoreSpec("redis", url, prefix)
    if request.param == "sqlite":
        return StoreSpec("sql", f"sqlite:///{tmp_path / 'rolecall.db'}")
    return StoreSpec("sql", request.getfixturevalue("pg_url"))
