"""The table of feedback on answered requests (``POST /v1/feedback``, ``/api/requests/{id}/feedback``).

One row per (request, giver): a key that sends feedback on the same request again replaces its
earlier row, so one client cannot outweigh the others by repeating itself. A row with a
``score`` is also a quality sample of the endpoint that answered (`rolecall.storage.samples`).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import BigInteger, Column, Double, Index, Table, Text, UniqueConstraint

from rolecall.storage.sql_tables import METADATA

__all__ = ["FEEDBACK"]

FEEDBACK: Final = Table(
    "feedback",
    METADATA,
    Column("feedback_id", Text, primary_key=True),
    Column("request_id", Text, nullable=False),  # the gateway's id of the answered request
    Column("routing_decision_id", Text),
    Column("endpoint_id", Text, nullable=False),  # the endpoint that answered it
    Column("endpoint_version", Text, nullable=False),
    Column("giver", Text, nullable=False),  # the gateway key that sent it, or "admin"
    Column("score", Double),  # 0 (bad) to 1 (good); null: a label or comment only
    Column("label", Text),
    Column("comment", Text),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    UniqueConstraint("request_id", "giver"),
    Index("ix_feedback_endpoint_id_updated_ms", "endpoint_id", "updated_ms"),
)
