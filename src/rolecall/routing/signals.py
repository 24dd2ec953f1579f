"""A request's difficulty signals: what it asks of a model, measured from its body.

`signals_of` reads an OpenAI chat ``messages`` list (and what the body asks for: tools,
structured output, reasoning effort) into `RequestSignals` — sizes, conversation depth, code,
arithmetic, instructions, several parts, answer options, and the kind of work the words show —
without a model and without raising on a malformed body. `rolecall.routing.difficulty` scores
them. docs/routing.md §Difficulty lists what each signal counts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

__all__ = ["RequestSignals", "signals_of"]

Reasoning = Literal["low", "medium", "high"]

CHARS_PER_TOKEN: Final = 4  # the usual estimate for English text and code
# the marker patterns read at most this much of one message, and of the conversation (its most
# recent part): classifying runs on the event loop, so a huge request must cost about a
# millisecond (what is asked sits in the first few thousand characters; sizes count it all)
SCAN_LIMIT: Final = 8_000
CONVERSATION_SCAN_LIMIT: Final = 16_000


@dataclass(frozen=True, slots=True)
class RequestSignals:
    """What one request asks of a model, measured from its body (no model involved).

    Sizes cover the whole conversation and the last user turn. Code markers are counted over the
    whole conversation (code earlier in a thread is still context to reason about); math,
    instruction and decomposition markers over the system prompts and the last user turn (what
    the model must do now). ``history_turns`` counts the turns before the last user turn.
    """

    prompt_chars: int = 0
    prompt_tokens: int = 0
    last_user_chars: int = 0
    last_user_tokens: int = 0
    history_turns: int = 0
    tool_count: int = 0
    structured: bool = False
    reasoning: Reasoning | None = None
    code_markers: int = 0
    math_markers: int = 0
    instruction_markers: int = 0
    decomposition_markers: int = 0
    choice_options: int = 0
    role: str | None = None
    task: str = "text.chat"
    # the kind of work the content shows (a task family; see `_kind`; None: the task): what
    # rubric-v2 scores when the task says nothing more specific than chat
    kind: str | None = None


def _tokens(chars: int) -> int:
    return math.ceil(chars / CHARS_PER_TOKEN)


def _text_of(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = (p.get("text") for p in content if isinstance(p, Mapping))
        return "\n".join(t for t in texts if isinstance(t, str))
    return ""


# --- markers ------------------------------------------------------------------------------------

_FENCE = re.compile(r"```")
_DOCSTRING = re.compile(r'"""|\'\'\'')
_CODE_LINE = re.compile(
    r"^\s*(?:def |class |import |from \S+ import |return\b|#include|function\b|const |let |var "
    r"|public |private |fn |func |SELECT |>>> |assert |(?:if|for|while|elif|else|try|except)\b.*:\s*$)"
    r"|[;{}]\s*$|^[\s*-]*[\w.]+\(.*\)\s*(?:==|=>|->).*$",
    re.MULTILINE,
)
_TRACE = re.compile(
    r"Traceback \(most recent call last\)|^\s+at [\w.$]+\(.*\)$|\b\w+(?:Error|Exception): ",
    re.MULTILINE,
)
# a date is one value nobody computes with, not three numbers
_NOT_MATH = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_NUMBER = re.compile(
    r"(?<![\w.])\d+(?:[.,]\d+)?%?|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven"
    r"|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|dozen)\b",
)
_EQUATION = re.compile(r"\d\s*[-+*/^=×÷<>]\s*\(?\d|\b[a-z]\s*[\^=]\s*\d|\\(?:frac|sum|int)\b")
_MATH_WORD = re.compile(
    r"\b(?:prove|proof|derivative|integral|equation|solve|probability|theorem|how many|how much"
    r"|percent|ratio|half|twice|third|quarter|sum of|product of|average|remaining|left over)\b",
)
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+\S", re.MULTILINE)
_CONSTRAINT = re.compile(
    r"\b(?:must|exactly|without|only|never|always|do not|don't|at least|at most|no more than"
    r"|instead of|unless|ensure|make sure|required?)\b",
)
_IMPERATIVE = re.compile(
    r"(?:^|[.!?:]\s+|\n)(?:please\s+)?(?:answer|reply|return|write|explain|give|list|classify"
    r"|extract|fix|make|change|complete|convert|find|summari[sz]e|translate|review|use|include"
    r"|avoid|keep|describe|compare|implement|add|remove|refactor|create|generate|output|format"
    r"|respond|rewrite|tell|show|name|identify|calculate|compute|determine)\b",
)
# an explicit ask for several parts counts twice; words that only sequence the parts once
_SEVERAL_PARTS = re.compile(r"\bstep[- ]by[- ]step\b|\band also\b|\bas well as\b")
_SEQUENCE = re.compile(r"\bfirst\b[^.?!]{0,200}\bthen\b|\band then\b|\bafter that\b|\bfinally\b")
_OPTION = re.compile(r"^\s*\(?[A-J][.)]\s+\S", re.MULTILINE)


def _code_markers(text: str) -> int:
    """A fenced block weighs three code lines; a stack trace two."""
    fences = len(_FENCE.findall(text)) // 2
    docstrings = len(_DOCSTRING.findall(text)) // 2
    lines = len(_CODE_LINE.findall(text))
    return 3 * fences + docstrings + lines + 2 * len(_TRACE.findall(text))


def _prose(text: str) -> str:
    """``text`` without code-like lines, answer options and dates: numbers in code are data and
    numbers in options are answers, neither is a sum to work out."""
    kept = (
        line
        for line in text.splitlines()
        if not _CODE_LINE.search(line) and not _OPTION.match(line)
    )
    return _NOT_MATH.sub(" ", "\n".join(kept))


def _math_markers(text: str) -> int:
    """Each quantity once; an operation (an equation, a math word) twice."""
    prose = _prose(text).lower()  # the word patterns are lower case: faster than IGNORECASE
    operations = len(_EQUATION.findall(prose)) + len(_MATH_WORD.findall(prose))
    return len(_NUMBER.findall(prose)) + 2 * operations


def _instruction_markers(text: str) -> int:
    items = len(_LIST_ITEM.findall(text))
    lowered = text.lower()
    return items + len(_CONSTRAINT.findall(lowered)) + len(_IMPERATIVE.findall(lowered))


def _decomposition_markers(text: str) -> int:
    questions = max(0, text.count("?") - 1)  # each question past the first is one more thing to do
    lowered = text.lower()
    return 2 * len(_SEVERAL_PARTS.findall(lowered)) + len(_SEQUENCE.findall(lowered)) + questions


def _recent(texts: list[str], budget: int) -> list[str]:
    """The latest texts, whole, while they fit in ``budget`` characters (at least the last one)."""
    kept: list[str] = []
    for text in reversed(texts):
        if kept and len(text) > budget:
            break
        kept.append(text)
        budget -= len(text)
    return kept


def _reasoning(value: object) -> Reasoning | None:
    if value == "low" or value == "medium" or value == "high":
        return value
    return None


def signals_of(
    messages: Any,
    *,
    tools: int = 0,
    structured: bool = False,
    reasoning: str | None = None,
    role: str | None = None,
    task: str = "text.chat",
) -> RequestSignals:
    """Measure an OpenAI chat ``messages`` list; anything malformed is read as no text, never
    an error (the gateway validates bodies, this only estimates)."""
    listed = isinstance(messages, list | tuple)
    turns = [m for m in messages if isinstance(m, Mapping)] if listed else []
    full = [_text_of(m.get("content")) for m in turns]
    texts = [t[:SCAN_LIMIT] for t in full]
    kinds = [m.get("role") for m in turns]
    last_user = max((i for i, k in enumerate(kinds) if k == "user"), default=None)
    system = [t for t, k in zip(texts, kinds, strict=True) if k in ("system", "developer")]
    current = "\n".join([*system, texts[last_user] if last_user is not None else ""])
    total_chars = sum(len(t) for t in full)
    user_chars = len(full[last_user]) if last_user is not None else 0
    before = range(last_user if last_user is not None else len(turns))
    history = sum(1 for i in before if kinds[i] not in ("system", "developer"))
    measured = RequestSignals(
        prompt_chars=total_chars,
        prompt_tokens=_tokens(total_chars),
        last_user_chars=user_chars,
        last_user_tokens=_tokens(user_chars),
        history_turns=history,
        tool_count=max(0, tools) if isinstance(tools, int) else 0,
        structured=structured is True,
        reasoning=_reasoning(reasoning),
        code_markers=sum(_code_markers(t) for t in _recent(texts, CONVERSATION_SCAN_LIMIT)),
        math_markers=_math_markers(current),
        instruction_markers=_instruction_markers(current),
        decomposition_markers=_decomposition_markers(current),
        choice_options=len(_OPTION.findall(current)),
        role=role if isinstance(role, str) else None,
        task=task if isinstance(task, str) else "text.chat",
    )
    return replace(measured, kind=_kind(measured, current))


# what a request's own words say it is, where its task does not: a classification or a
# language question is a short, closed answer, whatever the routing task was
_CLOSED_ANSWER = re.compile(
    r"\b(classify|classification|sentiment|categor(y|ise|ize)|label|which language)\b", re.I
)


def _kind(signals: RequestSignals, current: str) -> str:
    """The task family the content shows: code, structured JSON, tool use, a multiple-choice or
    arithmetic question, a classification; else chat. A request that names a task other than
    chat keeps it."""
    if signals.task != "text.chat":
        return signals.task
    if signals.code_markers >= 1:
        return "code"
    if signals.structured or "json" in current.lower():
        return "json"
    if signals.tool_count > 0:
        return "tools"
    if signals.choice_options >= 2 or signals.math_markers >= 3:
        return "reasoning"
    if _CLOSED_ANSWER.search(current):
        return "text.classification"
    return "text.chat"
