"""Prompt capture: a live request's prompt as one text, bounded and safe to store.

Owns `message_text` (one chat turn's text), `conversation_text` (a conversation as the text a
learned-routing record holds: each turn's text in order, a blank line between, the same text
`rolecall.learned.store_records` makes of a benchmark case) and `captured_prompt` (the row a
picked, answered request carries with its records to the record writer; the pick is
`rolecall.inventory.live_quality.PromptCaptureConfig.chars_for`).

Why bounded here: the record is observed on the request path (before the answer's last bytes
when the spool is on), so the text is built at most ``limit`` characters long whatever the
conversation holds, and the spool carries no more than that. Why cleaned: the prompt is stored in
the same transaction as the request's records, and PostgreSQL refuses NUL in text (JSON allows
``\\u0000``); a refused prompt would cost the records with it. Prompts are never logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = ["PROMPT_ROW_KEYS", "captured_prompt", "clean_text", "conversation_text", "message_text"]

TURN_SEPARATOR: Final = "\n\n"
PROMPT_ROW_KEYS: Final = frozenset({"request_id", "prompt", "truncated", "created_ms"})
# NUL (PostgreSQL text refuses it) and lone surrogates (no UTF-8 encoder takes them)
_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")


def message_text(message: Mapping[str, Any]) -> str:
    """A chat message's text: its string content, or its text parts joined (images skipped)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, Mapping)]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


def conversation_text(messages: Sequence[Any], limit: int | None = None) -> tuple[str, bool]:
    """The text of every turn that has some, in order, a blank line between; at most ``limit``
    characters (the head is kept), and whether anything was cut. Turns past the limit are not
    even read, so a huge conversation costs no more than a short one."""
    pieces: list[str] = []
    room = limit
    for message in messages:
        text = message_text(message) if isinstance(message, Mapping) else ""
        if not text:
            continue
        piece = TURN_SEPARATOR + text if pieces else text
        if room is not None and len(piece) > room:
            pieces.append(piece[:room])
            return "".join(pieces), True
        pieces.append(piece)
        if room is not None:
            room -= len(piece)
    return "".join(pieces), False


def clean_text(text: str) -> str:
    """``text`` with what a database or an encoder refuses replaced by U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text) if _UNSTORABLE.search(text) else text


def captured_prompt(
    request_id: str, messages: object, max_chars: int, created_ms: int
) -> dict[str, Any] | None:
    """The stored row of a request's prompt (plain JSON-able values, so it travels in the
    spool), or None when the request has no text to keep."""
    if not isinstance(messages, list):
        return None
    text, truncated = conversation_text(messages, max_chars)
    if not text:
        return None
    return {
        "request_id": request_id,
        "prompt": clean_text(text),
        "truncated": truncated,
        "created_ms": created_ms,
    }
