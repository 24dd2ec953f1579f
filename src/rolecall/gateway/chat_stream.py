"""Reading a streamed `ChatReply` back as chunks: what the doors that translate a chat stream into
another wire format (Anthropic Messages, legacy completions) consume.

`rolecall.gateway.chat.run_chat` streams ready-to-send SSE events: ``data: <chunk JSON>``, an
error event when the upstream stream was cut, then ``data: [DONE]``. The relay behind them records
the request when it ends, so a translating door must drain it to the end (stopping early would
record a cut stream as complete) and close it when the client goes away.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any, Final

import orjson

DATA: Final = b"data: "
DONE: Final = b"[DONE]"


@dataclass(frozen=True, slots=True)
class StreamCut:
    """The stream's error event: the upstream stream broke after it had begun."""

    message: str


async def chat_chunks(
    stream: AsyncIterator[bytes],
) -> AsyncGenerator[dict[str, Any] | StreamCut, None]:
    """The chunks of a chat stream, parsed, and a `StreamCut` for an error event, up to
    ``[DONE]``; closing this closes the relay (its upstream read, and the record)."""
    try:
        async for event in stream:
            payload = event.removeprefix(DATA).rstrip(b"\n")
            if payload == DONE:
                continue  # the relay ends right after; draining it lets it finish cleanly
            try:
                chunk = orjson.loads(payload)
            except orjson.JSONDecodeError:
                continue  # an upstream's stray line: nothing a client could use
            if not isinstance(chunk, dict):
                continue
            error = chunk.get("error")
            if error is not None and "choices" not in chunk:
                yield StreamCut(_message(error))
            else:
                yield chunk
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def _message(error: Any) -> str:
    message = error.get("message") if isinstance(error, dict) else error
    return message if isinstance(message, str) and message else "the upstream stream was cut"
