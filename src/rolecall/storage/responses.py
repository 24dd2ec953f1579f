"""Stored Responses-API responses on SQL (`SqlResponses`): one row per response, by its id.

A response's row travels with its request's records (`rolecall.observe.observation`, the
spool, `rolecall.storage.record_writer`) and is stored in their transaction, so `add_rows`
takes a batch and keeps a row already stored: a replayed spool stores nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import delete, select

from rolecall.storage.database import Database
from rolecall.storage.sql_response_tables import RESPONSES

__all__ = ["SqlResponses", "StoredResponse"]

log = logging.getLogger("rolecall.observe")


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A stored response: the Response object sent to the client (``response``) and the whole
    conversation it ends, as Responses input items (``conversation``). ``app_id`` is the gateway
    key that created it; ``size`` the encoded size, for the book's cache budget."""

    response_id: str
    app_id: str
    request_id: str
    created_ms: int
    response: dict[str, Any]
    conversation: list[Any]
    size: int = 0

    def row(self) -> dict[str, Any]:
        return {
            "response_id": self.response_id,
            "app_id": self.app_id,
            "request_id": self.request_id,
            "created_ms": self.created_ms,
            "response": self.response,
            "conversation": self.conversation,
        }


ROW_KEYS: Final = frozenset(StoredResponse.__dataclass_fields__) - {"size"}

_COLUMNS = (
    RESPONSES.c.response_id,
    RESPONSES.c.app_id,
    RESPONSES.c.request_id,
    RESPONSES.c.created_ms,
    RESPONSES.c.response,
    RESPONSES.c.conversation,
)


class SqlResponses:
    """Responses on SQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, responses: Sequence[StoredResponse]) -> None:
        """Store ``responses`` (one transaction; a response already stored is kept as it is)."""
        self.add_rows([response.row() for response in responses])

    def add_rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Store rows as `StoredResponse.row` makes them (in the open transaction, if any); a
        response already stored is kept as it is, and a malformed row is skipped with an error
        in the log (it must not hold back the records it travels with)."""
        good = [dict(row) for row in rows if isinstance(row, Mapping) and row.keys() == ROW_KEYS]
        if len(good) < len(rows):
            log.error("%d malformed stored responses skipped", len(rows) - len(good))
        self._db.insert_new(RESPONSES, good)

    def get(self, response_id: str) -> StoredResponse | None:
        query = select(*_COLUMNS).where(RESPONSES.c.response_id == response_id)
        with self._db.read() as connection:
            row = connection.execute(query).mappings().one_or_none()
        return None if row is None else StoredResponse(**row)

    def delete(self, response_id: str, app_id: str) -> bool:
        """Delete ``app_id``'s response ``response_id``; whether there was one."""
        statement = delete(RESPONSES).where(
            RESPONSES.c.response_id == response_id, RESPONSES.c.app_id == app_id
        )
        with self._db.begin() as connection:
            return bool(connection.execute(statement).rowcount)
