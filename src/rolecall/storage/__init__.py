"""Persistence behind narrow ports, one SQL implementation for SQLite and PostgreSQL.

Owns the public surface of ``rolecall.storage``: the ports (`SampleStore`, `ProfileStore`,
`DecisionStore`, `TraceStore`, `UsageStore`, `ApiKeyStore`, `CooldownStore`, `Storage`), the
records they exchange that are not protocol artifacts (`ApiKeyRecord`, `Cooldown`), the SQL
implementation (`SqlStorage`, `open_storage`), schema migrations (`migrate`) and the
`BackgroundWriter` that keeps database writes off the request path.
"""

from rolecall.storage.migrate import migrate
from rolecall.storage.ports import (
    ApiKeyStore,
    CooldownStore,
    DecisionStore,
    ProfileStore,
    SampleStore,
    Storage,
    TraceStore,
    UsageStore,
)
from rolecall.storage.records import ApiKeyRecord, Cooldown
from rolecall.storage.sql import SqlStorage, open_storage
from rolecall.storage.writer import BackgroundWriter, WriterStats

__all__ = [
    "ApiKeyRecord",
    "ApiKeyStore",
    "BackgroundWriter",
    "Cooldown",
    "CooldownStore",
    "DecisionStore",
    "ProfileStore",
    "SampleStore",
    "SqlStorage",
    "Storage",
    "TraceStore",
    "UsageStore",
    "WriterStats",
    "migrate",
    "open_storage",
]
