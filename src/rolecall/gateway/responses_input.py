"""A Responses request's input items as chat-completions messages (pure; checks as it goes).

The Responses API's ``input`` is a string or a list of items: messages (whose content is a string
or a list of ``input_text``/``input_image`` parts, or ``output_text``/``refusal`` parts for an
earlier assistant turn), ``function_call`` items (a tool call the model made) and
``function_call_output`` items (its result). Chat completions say the same with messages: a
function call joins the assistant message before it as one of its ``tool_calls``, and its output
is a ``tool`` message. ``reasoning`` items have no chat form and are skipped. Every refusal names
the field the way OpenAI's errors do (``input[2].content[0].type``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from rolecall.gateway.wire import WireError, shown

MESSAGE_ROLES: Final = ("user", "assistant", "system", "developer")
SKIPPED: Final = frozenset({"reasoning"})  # kept in the conversation, never sent to chat
ITEM_TYPES: Final = ("message", "function_call", "function_call_output", "reasoning")
TEXT_PARTS: Final = frozenset({"input_text", "output_text"})
IMAGE_DETAIL: Final = frozenset({"low", "high", "auto", "original"})

Message = dict[str, Any]


def input_items(value: Any) -> list[Any]:
    """The request's ``input`` as a list of items: a string is one user message. The items are
    checked when they are converted (`ChatMessages.add`)."""
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if not isinstance(value, list):
        raise WireError(400, "'input' must be a string or an array of input items", param="input")
    return value


class ChatMessages:
    """Chat messages built from Responses items, added in order (``where`` names the list in
    errors: ``input``, or the stored conversation)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def add(self, items: list[Any], where: str) -> None:
        for index, item in enumerate(items):
            self._item(item, f"{where}[{index}]")

    def _item(self, item: Any, where: str) -> None:
        if not isinstance(item, dict):
            raise WireError(400, f"'{where}' must be an object", param=where)
        kind = item.get("type", "message")
        if kind == "message":
            self._message(item, where)
        elif kind == "function_call":
            self._function_call(item, where)
        elif kind == "function_call_output":
            self._function_output(item, where)
        elif kind not in SKIPPED:
            raise WireError(
                400,
                f"'{where}.type' {shown(kind)} is not supported; use one of {list(ITEM_TYPES)} "
                "(to continue a stored conversation, send previous_response_id)",
                param=f"{where}.type",
            )

    def _message(self, item: Mapping[str, Any], where: str) -> None:
        role = item.get("role")
        if not isinstance(role, str) or role not in MESSAGE_ROLES:
            raise WireError(
                400, f"'{where}.role' must be one of {list(MESSAGE_ROLES)}", param=f"{where}.role"
            )
        content = item.get("content")
        if role == "assistant":
            self.messages.append({"role": "assistant", "content": _assistant_text(content, where)})
            return
        parts = _parts(content, where, images=role == "user")
        # one text part is sent as a plain string: every chat server takes that
        single = len(parts) == 1 and parts[0]["type"] == "text"
        chat_role = "system" if role == "developer" else role  # not every server knows developer
        self.messages.append({"role": chat_role, "content": parts[0]["text"] if single else parts})

    def _function_call(self, item: Mapping[str, Any], where: str) -> None:
        call = {
            "id": _text_field(item, "call_id", where),
            "type": "function",
            "function": {
                "name": _text_field(item, "name", where),
                "arguments": _text_field(item, "arguments", where, empty=True),
            },
        }
        last = self.messages[-1] if self.messages else None
        if last is not None and last["role"] == "assistant":
            last.setdefault("tool_calls", []).append(call)  # one turn: its text and its calls
        else:
            self.messages.append({"role": "assistant", "content": None, "tool_calls": [call]})

    def _function_output(self, item: Mapping[str, Any], where: str) -> None:
        call_id = _text_field(item, "call_id", where)
        output = item.get("output")
        if not isinstance(output, str):
            parts = _parts(output, f"{where}.output", images=False, field="")
            output = "".join(part["text"] for part in parts)
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": output})


def _text_field(item: Mapping[str, Any], name: str, where: str, *, empty: bool = False) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not (value or empty):
        what = "a string" if empty else "a non-empty string"
        raise WireError(400, f"'{where}.{name}' must be {what}", param=f"{where}.{name}")
    return value


def _assistant_text(content: Any, where: str) -> str:
    """An earlier assistant turn's text: a string, or ``output_text``/``refusal`` (or
    ``input_text``) parts joined."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise WireError(
            400,
            f"'{where}.content' must be a string or an array of content parts",
            param=f"{where}.content",
        )
    texts = []
    for index, part in enumerate(content):
        at = f"{where}.content[{index}]"
        kind = _part_type(part, at)
        if kind in TEXT_PARTS:
            texts.append(_text_field(part, "text", at, empty=True))
        elif kind == "refusal":
            texts.append(_text_field(part, "refusal", at, empty=True))
        else:
            raise WireError(
                400,
                f"'{at}.type' {shown(kind)} is not supported in an assistant message; use "
                "output_text or refusal",
                param=f"{at}.type",
            )
    return "".join(texts)


def _parts(content: Any, where: str, *, images: bool, field: str = ".content") -> list[Message]:
    """``input_text`` and (for user messages) ``input_image`` parts as chat content parts; a
    string is one text part."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list) or not content:
        raise WireError(
            400,
            f"'{where}{field}' must be a string or a non-empty array of content parts",
            param=f"{where}{field}",
        )
    parts = []
    for index, part in enumerate(content):
        at = f"{where}{field}[{index}]"
        kind = _part_type(part, at)
        if kind in TEXT_PARTS:
            parts.append({"type": "text", "text": _text_field(part, "text", at, empty=True)})
        elif kind == "input_image" and images:
            parts.append(_image(part, at))
        else:
            allowed = "input_text or input_image" if images else "input_text"
            raise WireError(
                400, f"'{at}.type' {shown(kind)} is not supported here; use {allowed}",
                param=f"{at}.type",
            )  # fmt: skip
    return parts


def _part_type(part: Any, where: str) -> str:
    if not isinstance(part, dict):
        raise WireError(400, f"'{where}' must be an object with a 'type'", param=where)
    kind = part.get("type")
    if not isinstance(kind, str):
        raise WireError(400, f"'{where}.type' must be a string", param=f"{where}.type")
    return kind


def _image(part: Mapping[str, Any], where: str) -> Message:
    url = part.get("image_url")
    if "file_id" in part and url is None:
        raise WireError(
            400,
            f"'{where}.file_id' is not supported (rolecall keeps no files); send image_url, "
            "an https or data: URL",
            param=f"{where}.file_id",
        )
    if not isinstance(url, str) or not url:
        raise WireError(
            400, f"'{where}.image_url' must be a non-empty URL string", param=f"{where}.image_url"
        )
    image: dict[str, Any] = {"url": url}
    detail = part.get("detail")
    if detail is not None:
        if not isinstance(detail, str) or detail not in IMAGE_DETAIL:
            raise WireError(
                400,
                f"'{where}.detail' must be one of {sorted(IMAGE_DETAIL)}",
                param=f"{where}.detail",
            )
        if detail != "original":  # chat completions have no 'original'
            image["detail"] = detail
    return {"type": "image_url", "image_url": image}
