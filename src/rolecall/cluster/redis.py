"""Redis connections for shared live state: short timeouts, so a Redis that is gone costs a
request at most one timeout before the caller falls back to the database."""

from __future__ import annotations

from typing import Any, Final

import redis
import redis.asyncio as aioredis

__all__ = ["CONNECT_TIMEOUT_S", "OPERATION_TIMEOUT_S", "async_client", "sync_client"]

CONNECT_TIMEOUT_S: Final = 0.5
OPERATION_TIMEOUT_S: Final = 0.5


def _options(**extra: Any) -> dict[str, Any]:
    return {
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_timeout": OPERATION_TIMEOUT_S,
        "health_check_interval": 10,
        **extra,
    }


def sync_client(url: str, **extra: Any) -> redis.Redis:
    """A blocking client for threads (the change watcher, the CLI); connects lazily."""
    return redis.Redis.from_url(url, **_options(**extra))


def async_client(url: str, **extra: Any) -> aioredis.Redis:
    """A client for the serving event loop (budget and rate-limit checks); connects lazily."""
    return aioredis.Redis.from_url(url, **_options(**extra))
