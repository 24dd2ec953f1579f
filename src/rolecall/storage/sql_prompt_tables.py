"""The table of captured prompts (``routing.prompt_capture``): what users wrote, kept on purpose.

`CAPTURED_PROMPTS` holds one row per answered request whose prompt was captured: the
conversation as text (`rolecall.observe.prompt_capture`), cut to the configured length
(``truncated`` says when), and when it was captured, which is what retention deletes by.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import BigInteger, Boolean, Column, Index, Table, Text

from rolecall.storage.sql_tables import METADATA

__all__ = ["CAPTURED_PROMPTS"]

CAPTURED_PROMPTS: Final = Table(
    "captured_prompts",
    METADATA,
    Column("request_id", Text, primary_key=True),  # the gateway's id of the request
    Column("prompt", Text, nullable=False),
    Column("truncated", Boolean, nullable=False),  # cut to routing.prompt_capture.max_chars
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_captured_prompts_created_ms", "created_ms"),
)
