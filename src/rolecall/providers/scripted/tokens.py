"""Token arithmetic of the scripted upstream: splitting answers into chunks, counting usage, pacing.

A "token" here is a word with its leading whitespace (``"one two"`` → ``"one"``, ``" two"``), so
streamed chunks reassemble to the answer exactly. Prompt tokens are estimated as words × 1.3,
rounded, which is close enough to real tokenizers for cost and latency tests.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from itertools import accumulate
from typing import Any

_TOKEN = re.compile(r"\s*\S+")
_WORD = re.compile(r"\S+")
PROMPT_TOKENS_PER_WORD = 1.3


def split_tokens(text: str) -> list[str]:
    """``text`` as tokens; trailing whitespace rides on the last one, so ``"".join`` is ``text``."""
    tokens = _TOKEN.findall(text)
    rest = text[sum(len(token) for token in tokens) :]
    if rest:
        tokens = [*tokens[:-1], tokens[-1] + rest] if tokens else [rest]
    return tokens


def chunk_text(text: str, chunk_tokens: int) -> list[tuple[str, int]]:
    """``text`` in chunks of ``chunk_tokens`` tokens, each as ``(text, token count)``."""
    tokens = split_tokens(text)
    return [
        ("".join(tokens[start : start + chunk_tokens]), len(tokens[start : start + chunk_tokens]))
        for start in range(0, len(tokens), chunk_tokens)
    ]


def send_offsets(token_counts: Iterable[int], tokens_per_sec: float | None) -> list[float]:
    """Seconds after the first byte at which each chunk is due.

    The first chunk goes at once; each later chunk waits for its own tokens at ``tokens_per_sec``.
    Offsets are absolute, so sleeping until each one does not accumulate drift.
    """
    counts = list(token_counts)
    if tokens_per_sec is None or not counts:
        return [0.0] * len(counts)
    return [0.0, *(total / tokens_per_sec for total in accumulate(counts[1:]))]


def message_text(content: Any) -> str:
    """The text of a message ``content``: a string, or a list of parts with ``text`` fields."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_part_text(part) for part in content)
    return ""


def _part_text(part: Any) -> str:
    if isinstance(part, Mapping):
        text = part.get("text")
        if isinstance(text, str):
            return text
        return message_text(part.get("content"))
    return part if isinstance(part, str) else ""


def prompt_tokens(messages: Any, system: Any = None) -> int:
    """Estimated prompt tokens of chat ``messages`` (and an Anthropic ``system``): words × 1.3."""
    texts = [message_text(system)]
    if isinstance(messages, list):
        texts += [message_text(m.get("content")) for m in messages if isinstance(m, Mapping)]
    words = sum(len(_WORD.findall(text)) for text in texts)
    return math.floor(words * PROMPT_TOKENS_PER_WORD + 0.5)  # half up, unlike round()


def completion_tokens(answer: str, tool_calls: list[dict[str, Any]] | None) -> int:
    """Completion tokens: the answer's tokens plus, per tool call, one plus its argument tokens."""
    calls = tool_calls or []
    arguments = sum(len(split_tokens(str(_function(call).get("arguments", "")))) for call in calls)
    return len(split_tokens(answer)) + len(calls) + arguments


def last_user_text(messages: Any) -> str:
    """The text of the last ``user`` message, or ``""``."""
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return message_text(message.get("content"))
    return ""


def _function(call: Mapping[str, Any]) -> Mapping[str, Any]:
    function = call.get("function")
    return function if isinstance(function, Mapping) else {}


def tool_function(call: Mapping[str, Any]) -> tuple[str, str]:
    """``(name, arguments JSON string)`` of an OpenAI-shaped tool call."""
    function = _function(call)
    return str(function.get("name", "")), str(function.get("arguments", ""))
