"""Persistence: one small store per kind of record, over one SQL engine (SQLite or PostgreSQL).

Owns the public surface of ``rolecall.storage``: `SqlStorage` (the engine and its stores:
``samples``, ``profiles``, ``decisions``, ``traces``, ``usage``, ``analytics``, ``keys``,
``cooldowns``, ``benchmarks``), `open_storage`, schema migrations (`migrate`), `ApiKeyRecord`, and
`BackgroundWriter`, the thread that keeps database writes off the request path. The stores
implement the ports the use cases declare (`rolecall.observe.ports`, `rolecall.benchmark.ports`).
"""

from rolecall.storage.keys import ApiKeyRecord
from rolecall.storage.migrate import migrate
from rolecall.storage.sql import SqlStorage, open_storage
from rolecall.storage.writer import BackgroundWriter, WriterStats

__all__ = [
    "ApiKeyRecord",
    "BackgroundWriter",
    "SqlStorage",
    "WriterStats",
    "migrate",
    "open_storage",
]
