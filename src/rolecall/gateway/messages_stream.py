"""A streamed chat reply as Anthropic's Messages stream: ``message_start``, then per content block
``content_block_start``, its deltas (``text_delta``, ``input_json_delta``) and
``content_block_stop``, then ``message_delta`` (stop reason, usage) and ``message_stop``; an
``event: error`` when the upstream stream is cut after it began.

`MessageEvents` is the pure translator, chunk by chunk (unit-tested without a server);
`message_stream` drives it over a `ChatReply`'s stream. Blocks follow one another as Anthropic's
do: a text block closes when a tool call starts, and each tool call is a block of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson

from rolecall.gateway.chat_stream import StreamCut, chat_chunks
from rolecall.gateway.messages_wire import stop_of, tool_use_id, usage

Json = dict[str, Any]


def sse(name: str, data: Json) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class MessageEvents:
    """Anthropic stream events for the chunks of one chat stream, fed in order."""

    def __init__(
        self, message_id: str, model: str, stops: Sequence[str], input_estimate: int
    ) -> None:
        self.message_id = message_id
        self.model = model
        self.stops = stops
        self.input_estimate = input_estimate
        self.blocks = 0  # content blocks opened so far
        self.open: int | None = None  # the index of the open block
        self.text_open = False  # whether the open block is a text block
        self.tools: dict[int, int] = {}  # chat tool-call index → block index
        self.reason: str | None = None
        self.sequence: str | None = None
        self.reported: Any = None  # the upstream's usage, when it sent one
        self.deltas = 0  # content deltas, the output count when no usage is reported

    def start(self) -> bytes:
        message: Json = {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage(None, self.input_estimate),
        }
        return sse("message_start", {"type": "message_start", "message": message})

    def chunk(self, chunk: Json) -> bytes:
        """The events for one chat chunk (often one delta; ``b""`` for none)."""
        out: list[bytes] = []
        if isinstance(chunk.get("usage"), dict):
            self.reported = chunk["usage"]
        choices = chunk.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices else None
        if not isinstance(choice, dict) or choice.get("index", 0) != 0:
            return b""
        delta = choice.get("delta")
        if isinstance(delta, dict):
            text = delta.get("content")
            if isinstance(text, str) and text:
                self._text(text, out)
            calls = delta.get("tool_calls")
            for call in calls if isinstance(calls, list) else []:
                if isinstance(call, dict):
                    self._tool(call, out)
        reason, sequence = stop_of(choice, self.stops)
        if reason is not None:
            self.reason, self.sequence = reason, sequence
        return b"".join(out)

    def end(self) -> bytes:
        """Close the open block and the message: its stop reason and usage."""
        out: list[bytes] = []
        self._close(out)
        reason = self.reason or "end_turn"
        if reason == "end_turn" and self.tools:
            reason = "tool_use"  # some servers finish a tool call with "stop"
        counted = usage(self.reported, self.input_estimate)
        if self.reported is None:
            counted["output_tokens"] = self.deltas
        delta = {"stop_reason": reason, "stop_sequence": self.sequence}
        out.append(
            sse("message_delta", {"type": "message_delta", "delta": delta, "usage": counted})
        )
        out.append(sse("message_stop", {"type": "message_stop"}))
        return b"".join(out)

    def cut(self, message: str) -> bytes:
        """The error event of a stream cut after it began."""
        return sse("error", {"type": "error", "error": {"type": "api_error", "message": message}})

    def _open(self, block: Json, out: list[bytes]) -> int:
        self._close(out)
        index = self.open = self.blocks
        self.blocks += 1
        start = {"type": "content_block_start", "index": index, "content_block": block}
        out.append(sse("content_block_start", start))
        return index

    def _close(self, out: list[bytes]) -> None:
        if self.open is not None:
            out.append(
                sse("content_block_stop", {"type": "content_block_stop", "index": self.open})
            )
        self.open = None
        self.text_open = False

    def _delta(self, index: int, delta: Json, out: list[bytes]) -> None:
        self.deltas += 1
        event = {"type": "content_block_delta", "index": index, "delta": delta}
        out.append(sse("content_block_delta", event))

    def _text(self, text: str, out: list[bytes]) -> None:
        if not self.text_open:
            self._open({"type": "text", "text": ""}, out)
            self.text_open = True
        assert self.open is not None
        self._delta(self.open, {"type": "text_delta", "text": text}, out)

    def _tool(self, call: Json, out: list[bytes]) -> None:
        position = call.get("index")
        position = position if isinstance(position, int) else 0
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        index = self.tools.get(position)
        if index is None:
            name = function.get("name")
            block = {
                "type": "tool_use",
                "id": tool_use_id(call, f"toolu_{self.message_id}_{position}"),
                "name": name if isinstance(name, str) else "",
                "input": {},
            }
            index = self.tools[position] = self._open(block, out)
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            self._delta(index, {"type": "input_json_delta", "partial_json": arguments}, out)


async def message_stream(
    stream: AsyncIterator[bytes], events: MessageEvents
) -> AsyncIterator[bytes]:
    """The Anthropic events of a chat reply's stream. The chat stream is drained to its end even
    after a cut (its relay records the request when it ends) and closed if the client leaves."""
    chunks = chat_chunks(stream)
    cut = False
    try:
        yield events.start()
        async for item in chunks:
            if cut:
                continue
            if isinstance(item, StreamCut):
                cut = True
                yield events.cut(item.message)
                continue
            out = events.chunk(item)
            if out:
                yield out
        if not cut:
            yield events.end()
    finally:
        await chunks.aclose()
