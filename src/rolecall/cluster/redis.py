"""Redis connections for shared live state: short timeouts, so a Redis that is gone costs a
request at most one timeout before the caller falls back to the database.

The ``redis`` package is the ``redis`` extra, needed only with ``ROLECALL_REDIS_URL``: it is
imported when a client is made, and its absence is one `MissingDependencyError` naming the extra.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

from rolecall.errors import MissingDependencyError

if TYPE_CHECKING:
    import redis
    import redis.asyncio as aioredis

__all__ = [
    "CONNECT_TIMEOUT_S",
    "OPERATION_TIMEOUT_S",
    "async_client",
    "redis_module",
    "sync_client",
]

CONNECT_TIMEOUT_S: Final = 0.5
# An operation's timeout also counts the event loop's own delay: on a saturated host (a burst of
# hundreds of requests on two cores) 0.5 s was passed by a healthy Redis, and the switch to the
# database's counters let a budget admit twice over (each store counted half the burst). A
# Redis that is down refuses the connection at once; only a hung one costs this much, once.
OPERATION_TIMEOUT_S: Final = 2.0


def redis_module() -> ModuleType:
    """The ``redis`` package, or `MissingDependencyError` naming the extra that installs it."""
    try:
        import redis
        import redis.asyncio
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != "redis":
            raise
        raise MissingDependencyError("ROLECALL_REDIS_URL", "redis", "redis") from None
    return redis


def _options(**extra: Any) -> dict[str, Any]:
    return {
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_timeout": OPERATION_TIMEOUT_S,
        "health_check_interval": 10,
        **extra,
    }


def sync_client(url: str, **extra: Any) -> redis.Redis:
    """A blocking client for threads (the change watcher, the CLI); connects lazily."""
    client: redis.Redis = redis_module().Redis.from_url(url, **_options(**extra))
    return client


def async_client(url: str, **extra: Any) -> aioredis.Redis:
    """A client for the serving event loop (budget and rate-limit checks); connects lazily."""
    client: aioredis.Redis = redis_module().asyncio.Redis.from_url(url, **_options(**extra))
    return client
