"""Anthropic Messages content as chat messages: ``system``, and each turn's blocks (text, image,
document, tool use, tool result) as chat messages and parts.

Half of the request translation (`rolecall.gateway.messages_request` is the other: the top-level
fields and tools). A tool-result block becomes a chat ``tool`` message of its own, so a refusal
names the field of the body the client sent (``messages[2].content[0].source.media_type``), never
an index of the translation. Blocks that carry another model's reasoning (``thinking``, signed for
Anthropic's servers) are dropped from the history; blocks with no chat equivalent are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson

from rolecall.gateway.wire import WireError, shown

IMAGE_TYPES: Final = ("image/jpeg", "image/png", "image/gif", "image/webp")
# history blocks that carry another model's reasoning: no chat upstream can use them
DROPPED_BLOCKS: Final = frozenset({"thinking", "redacted_thinking"})
# blocks that become chat content parts, in a turn and inside a tool result
PART_BLOCKS: Final = ("text", "image", "document")
# a tool result marked ``is_error`` reaches the model as text with this prefix (chat has no flag)
TOOL_ERROR_PREFIX: Final = "Error: "

Json = dict[str, Any]


def fail(param: str, message: str) -> WireError:
    return WireError(400, f"'{param}' {message}", param=param)


def system_messages(system: Any) -> list[Json]:
    if system is None:
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}] if system else []
    if not isinstance(system, list):
        raise fail("system", "must be a string or an array of text blocks")
    texts = []
    for i, block in enumerate(system):
        if block_kind(block, f"system[{i}]") != "text":
            raise fail(f"system[{i}].type", "must be 'text'")
        texts.append(block_text(block, f"system[{i}]"))
    text = "\n".join(texts)
    return [{"role": "system", "content": text}] if text else []


def block_kind(block: Any, where: str) -> str:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise fail(where, "must be an object with a 'type'")
    kind: str = block["type"]
    return kind


def block_text(block: Mapping[str, Any], where: str) -> str:
    text = block.get("text")
    if not isinstance(text, str):
        raise fail(f"{where}.text", "must be a string")
    return text


def string(block: Mapping[str, Any], key: str, where: str) -> str:
    value = block.get(key)
    if not isinstance(value, str) or not value:
        raise fail(f"{where}.{key}", "must be a non-empty string")
    return value


def chat_messages(messages: list[Any]) -> list[Json]:
    out: list[Json] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise fail(where, "must be an object with 'role' and 'content'")
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise fail(f"{where}.role", "must be 'user' or 'assistant'")
        content = message.get("content")
        if isinstance(content, str):
            out.append({"role": role, "content": content})
        elif not isinstance(content, list):
            raise fail(f"{where}.content", "must be a string or an array of content blocks")
        elif role == "user":
            out += _user_turn(content, where)
        else:
            out.append(_assistant_turn(content, where))
    return out


def _user_turn(blocks: list[Any], where: str) -> list[Json]:
    """Tool results first, as chat ``tool`` messages (they answer the assistant's calls just
    before), then the rest as one user message."""
    results: list[Json] = []
    parts: list[Json] = []
    for j, block in enumerate(blocks):
        at = f"{where}.content[{j}]"
        kind = block_kind(block, at)
        if kind == "tool_result":
            result, more = _tool_result(block, at)
            results.append(result)
            parts += more  # a chat tool message holds text only: the rest follows as the user's
        elif kind in PART_BLOCKS:
            parts += _parts(kind, block, at)
        elif kind not in DROPPED_BLOCKS:
            raise _unsupported(kind, at)
    if results and not parts:
        return results
    if len(parts) == 1 and parts[0]["type"] == "text":
        return [*results, {"role": "user", "content": parts[0]["text"]}]
    return [*results, {"role": "user", "content": parts or ""}]


def _parts(kind: str, block: Mapping[str, Any], at: str) -> list[Json]:
    """The chat parts of a text, image or document block."""
    if kind == "text":
        return [{"type": "text", "text": block_text(block, at)}]
    if kind == "image":
        return [_image(block, at)]
    return _document(block, at)


def _unsupported(kind: str, at: str) -> WireError:
    return WireError(
        400,
        f"'{at}.type' {shown(kind)} cannot be translated for routing; rolecall's Messages route "
        "takes text, image, document, tool_use and tool_result blocks",
        param=f"{at}.type",
    )


def _image(block: Mapping[str, Any], at: str) -> Json:
    source = block.get("source")
    if not isinstance(source, dict):
        raise fail(f"{at}.source", "must be an object with a 'type' (base64 or url)")
    kind = source.get("type")
    if kind == "base64":
        media = source.get("media_type")
        if media not in IMAGE_TYPES:
            raise fail(f"{at}.source.media_type", f"must be one of {list(IMAGE_TYPES)}")
        data = string(source, "data", f"{at}.source")
        return {"type": "image_url", "image_url": {"url": f"data:{media};base64,{data}"}}
    if kind == "url":
        return {"type": "image_url", "image_url": {"url": string(source, "url", f"{at}.source")}}
    raise fail(f"{at}.source.type", "must be 'base64' or 'url'")


def _document(block: Mapping[str, Any], at: str) -> list[Json]:
    """A document: plain text and content sources as text (its title first), a base64 PDF as a
    chat ``file`` part; a document by URL or file id has nothing a chat upstream could fetch."""
    source = block.get("source")
    if not isinstance(source, dict):
        raise fail(f"{at}.source", "must be an object with a 'type' (text, content or base64)")
    title = block.get("title")
    heading = [{"type": "text", "text": title}] if isinstance(title, str) and title else []
    kind = source.get("type")
    if kind == "text":
        data = source.get("data")
        if not isinstance(data, str):
            raise fail(f"{at}.source.data", "must be a string")
        return [*heading, {"type": "text", "text": data}]
    if kind == "content":
        content = source.get("content")
        if isinstance(content, str):
            return [*heading, {"type": "text", "text": content}]
        return [*heading, *_nested(content, f"{at}.source.content", ("text", "image"))]
    if kind == "base64" and source.get("media_type") == "application/pdf":
        data = string(source, "data", f"{at}.source")
        name = f"{title}.pdf" if heading else "document.pdf"
        file = {"filename": name, "file_data": f"data:application/pdf;base64,{data}"}
        return [{"type": "file", "file": file}]
    if kind == "base64":
        raise fail(f"{at}.source.media_type", "must be 'application/pdf' for a base64 document")
    raise fail(f"{at}.source.type", "must be 'text', 'content' or 'base64' (a PDF)")


def _nested(content: Any, where: str, kinds: tuple[str, ...]) -> list[Json]:
    """The parts of an array of blocks inside another block (a tool result, a document)."""
    if not isinstance(content, list):
        raise fail(where, f"must be a string or an array of {' and '.join(kinds)} blocks")
    parts: list[Json] = []
    for k, block in enumerate(content):
        at = f"{where}[{k}]"
        kind = block_kind(block, at)
        if kind not in kinds:
            raise fail(f"{at}.type", f"must be one of {list(kinds)}")
        parts += _parts(kind, block, at)
    return parts


def _tool_result(block: Mapping[str, Any], at: str) -> tuple[Json, list[Json]]:
    """The chat ``tool`` message (the result's text) and the parts that follow it as the user's
    (images, PDF documents)."""
    call_id = string(block, "tool_use_id", at)
    content = block.get("content")
    texts: list[str] = []
    images: list[Json] = []
    if isinstance(content, str):
        texts.append(content)
    elif content is not None:
        for part in _nested(content, f"{at}.content", PART_BLOCKS):
            if part["type"] == "text":
                texts.append(part["text"])
            else:
                images.append(part)
    is_error = block.get("is_error")
    if is_error is not None and not isinstance(is_error, bool):
        raise fail(f"{at}.is_error", "must be true or false")
    text = "\n".join(texts)
    if is_error:
        text = TOOL_ERROR_PREFIX + text
    return {"role": "tool", "tool_call_id": call_id, "content": text}, images


def _assistant_turn(blocks: list[Any], where: str) -> Json:
    texts: list[str] = []
    calls: list[Json] = []
    for j, block in enumerate(blocks):
        at = f"{where}.content[{j}]"
        kind = block_kind(block, at)
        if kind == "text":
            texts.append(block_text(block, at))
        elif kind == "tool_use":
            calls.append(_tool_call(block, at))
        elif kind not in DROPPED_BLOCKS:
            raise _unsupported(kind, at)
    message: Json = {"role": "assistant", "content": "".join(texts) or (None if calls else "")}
    if calls:
        message["tool_calls"] = calls
    return message


def _tool_call(block: Mapping[str, Any], at: str) -> Json:
    arguments = block.get("input")
    if not isinstance(arguments, dict):
        raise fail(f"{at}.input", "must be an object")
    try:
        encoded = orjson.dumps(arguments).decode()
    except orjson.JSONEncodeError as exc:
        raise fail(f"{at}.input", f"cannot be forwarded: {exc} (nest it less deeply)") from None
    return {
        "id": string(block, "id", at),
        "type": "function",
        "function": {"name": string(block, "name", at), "arguments": encoded},
    }
