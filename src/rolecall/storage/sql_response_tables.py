"""The table of stored Responses-API responses (``POST /v1/responses`` with ``store``).

`RESPONSES` keeps each stored response whole: the Response object the client was sent and the
conversation it ends (the earlier turns, this request's input items and its output items), so
that continuing from it (``previous_response_id``) is one read however long the conversation.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import JSON, BigInteger, Column, Index, Table, Text

from rolecall.storage.sql_tables import METADATA

__all__ = ["RESPONSES"]

RESPONSES: Final = Table(
    "responses",
    METADATA,
    Column("response_id", Text, primary_key=True),
    Column("app_id", Text, nullable=False),  # the gateway key that created it; only it may read
    Column("request_id", Text, nullable=False),  # the record of the request that made it
    Column("created_ms", BigInteger, nullable=False),
    Column("response", JSON, nullable=False),
    Column("conversation", JSON, nullable=False),
    Index("ix_responses_created_ms", "created_ms"),
)
