"""A streamed chat completion as the Responses API's server-sent events.

`ResponseEvents` is the pure half: fed the chat chunks one at a time, it returns the Responses
events they mean (``response.created`` and ``response.in_progress`` first; an output item per
message and per function call, with their content-part, text-delta and argument-delta events; a
``.done`` event for each at the end; then ``response.completed``, or ``response.incomplete``
when the output cap cut the answer). A stream the upstream cut ends with an ``error`` event and
``response.failed``. Every event carries its ``sequence_number``. `responses_stream` runs it
over the chat relay (which records the request as chat's does, with the final Response to
store).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from rolecall.gateway.responses_wire import (
    finish_status,
    function_call_item,
    message_item,
    new_item_id,
    output_text,
    response_shell,
    response_usage,
)

DONE: Final = b"[DONE]"
PREFIX: Final = b"data: "


@dataclass(slots=True)
class _Item:
    """An output item being streamed: a message (its text so far) or a function call."""

    output_index: int
    item_id: str
    kind: str  # "message" or "function_call"
    parts: list[str] = field(default_factory=list)
    call_id: str = ""
    name: str = ""
    open: bool = True

    def text(self) -> str:
        return "".join(self.parts)


class ResponseEvents:
    """The Responses events of one streamed chat completion."""

    def __init__(
        self, echo: Mapping[str, Any], response_id: str, created_at: int, model: str
    ) -> None:
        self.echo = echo
        self.response_id = response_id
        self.created_at = created_at
        self.model = model
        self.sequence = 0
        self.items: list[_Item] = []
        self.text_item: _Item | None = None  # the message receiving text now
        self.calls: dict[int, _Item] = {}  # by the chat tool call's index
        self.current_call: _Item | None = None
        self.finish_reason: str | None = None
        self.usage: Any = None
        self.final: dict[str, Any] | None = None  # the completed Response, once finished

    def start(self) -> bytes:
        shell = self._response("in_progress")
        return self._event("response.created", response=shell) + self._event(
            "response.in_progress", response=shell
        )

    def chunk(self, chunk: Mapping[str, Any]) -> bytes:
        """The events of one chat chunk (often none: a role-only or usage chunk)."""
        model = chunk.get("model")
        if isinstance(model, str) and model:
            self.model = model
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = usage
        choices = chunk.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices else None
        if not isinstance(choice, dict):
            return b""
        if isinstance(choice.get("finish_reason"), str):
            self.finish_reason = choice["finish_reason"]
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return b""
        out = b""
        for name in ("content", "refusal"):
            text = delta.get(name)
            if isinstance(text, str) and text:
                out += self._text(text)
        calls = delta.get("tool_calls")
        for call in calls if isinstance(calls, list) else ():
            if isinstance(call, dict):
                out += self._call(call)
        return out

    def completed(self) -> dict[str, Any]:
        """The Response a finished stream ends with (`final`): made once, from the chunks seen
        so far, so that what is stored before the closing events is what they send."""
        if self.final is None:
            status, incomplete = finish_status(self.finish_reason)
            usage = response_usage(self.usage)
            self.final = self._response(
                status, incomplete=incomplete, usage=usage, done_status=status
            )
        return self.final

    def finish(self) -> bytes:
        """The closing events, ending with `completed`'s Response."""
        final = self.completed()
        status, _ = finish_status(self.finish_reason)
        out = b"".join(self._close(item, status) for item in self.items if item.open)
        kind = "response.completed" if status == "completed" else "response.incomplete"
        return out + self._event(kind, response=final)

    def fail(self, message: str, code: str | None) -> bytes:
        """An ``error`` event, then ``response.failed`` with what was streamed before the cut."""
        error = self._event("error", code=code, message=message, param=None)
        failed = self._response(
            "failed",
            error={"code": "server_error", "message": message},
            done_status="incomplete",
        )
        return error + self._event("response.failed", response=failed)

    def _text(self, text: str) -> bytes:
        out = b""
        item = self.text_item
        if item is None:
            out += self._close_call()
            item = self.text_item = self._add(_Item(len(self.items), new_item_id("msg"), "message"))
            out += self._event(
                "response.output_item.added",
                output_index=item.output_index,
                item=message_item(item.item_id, [], "in_progress"),
            )
            out += self._event(
                "response.content_part.added",
                item_id=item.item_id,
                output_index=item.output_index,
                content_index=0,
                part=output_text(""),
            )
        item.parts.append(text)
        return out + self._event(
            "response.output_text.delta",
            item_id=item.item_id,
            output_index=item.output_index,
            content_index=0,
            delta=text,
            logprobs=[],
        )

    def _call(self, call: Mapping[str, Any]) -> bytes:
        out = b""
        index = call.get("index", 0)
        index = index if isinstance(index, int) else 0
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        item = self.calls.get(index)
        if item is None:
            if self.text_item is not None:
                out += self._close(self.text_item, "completed")
            out += self._close_call()
            call_id = call.get("id")
            name = function.get("name")
            item = _Item(
                len(self.items),
                new_item_id("fc"),
                "function_call",
                call_id=call_id if isinstance(call_id, str) else new_item_id("call"),
                name=name if isinstance(name, str) else "",
            )
            self.calls[index] = self.current_call = self._add(item)
            out += self._event(
                "response.output_item.added",
                output_index=item.output_index,
                item=function_call_item(item.item_id, item.call_id, item.name, "", "in_progress"),
            )
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            item.parts.append(arguments)
            out += self._event(
                "response.function_call_arguments.delta",
                item_id=item.item_id,
                output_index=item.output_index,
                delta=arguments,
            )
        return out

    def _add(self, item: _Item) -> _Item:
        self.items.append(item)
        return item

    def _close_call(self) -> bytes:
        call, self.current_call = self.current_call, None
        return self._close(call, "completed") if call is not None and call.open else b""

    def _close(self, item: _Item, status: str) -> bytes:
        item.open = False
        text = item.text()
        where = {"item_id": item.item_id, "output_index": item.output_index}
        if item.kind == "function_call":
            self.current_call = None if self.current_call is item else self.current_call
            return self._event(
                "response.function_call_arguments.done", **where, arguments=text
            ) + self._event(
                "response.output_item.done",
                output_index=item.output_index,
                item=self._item(item, status),
            )
        self.text_item = None
        return (
            self._event("response.output_text.done", **where, content_index=0, text=text, logprobs=[])
            + self._event("response.content_part.done", **where, content_index=0, part=output_text(text))
            + self._event(
                "response.output_item.done", output_index=item.output_index,
                item=self._item(item, status),
            )
        )  # fmt: skip

    def _item(self, item: _Item, status: str) -> dict[str, Any]:
        if item.kind == "function_call":
            return function_call_item(item.item_id, item.call_id, item.name, item.text(), status)
        return message_item(item.item_id, [output_text(item.text())], status)

    def _response(
        self,
        status: str,
        *,
        incomplete: str | None = None,
        usage: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        done_status: str | None = None,
    ) -> dict[str, Any]:
        output = [] if done_status is None else [self._item(i, done_status) for i in self.items]
        return response_shell(
            self.echo, self.response_id, self.created_at, self.model, status=status,
            output=output, incomplete=incomplete, usage=usage, error=error,
        )  # fmt: skip

    def _event(self, kind: str, **fields: Any) -> bytes:
        event = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


async def responses_stream(
    chat: AsyncIterator[bytes], events: ResponseEvents
) -> AsyncIterator[bytes]:
    """Relay ``chat`` (the chat relay's ``data:`` events) as Responses events. The chat relay
    asks the door for the stored response (`ResponseEvents.completed`) once the upstream
    stream has ended, before it records the request and sends ``[DONE]``."""
    try:
        yield events.start()
        async for event in chat:
            payload = event[len(PREFIX) :].rstrip(b"\n") if event.startswith(PREFIX) else b""
            if payload == DONE:
                break
            chunk = _json(payload)
            error = chunk.get("error") if "choices" not in chunk else None
            if isinstance(error, dict):
                message = error.get("message")
                code = error.get("code")
                yield events.fail(
                    message if isinstance(message, str) else "the upstream stream was cut",
                    code if isinstance(code, str) else None,
                )
                return
            out = events.chunk(chunk)
            if out:
                yield out
        yield events.finish()
    finally:
        aclose = getattr(chat, "aclose", None)
        if aclose is not None:
            await aclose()  # the chat relay records the request when it closes


def _json(payload: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
