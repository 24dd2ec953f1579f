"""The reference-free rubric a judge endpoint grades a live answer with, and its parsing.

A live request has no reference answer, so the judge is asked how well the answer does what the
user asked: correct, on task, complete enough, clear, on a 1-10 scale that becomes 0-1 (a
verdict from 1 to 10 is easier for small judges to give consistently than a fraction). The
answer is JSON constrained by `SCHEMA`; anything else is no grade (counted, never guessed).
Which requests are graded is `sampled` (`rolecall.inventory.live_quality`, shared with prompt
capture): a hash of the request id, so every replica picks the same ones and a retry of the same
id is not graded twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from rolecall.inventory.live_quality import sampled
from rolecall.planning.ask import cut, request_text
from rolecall.routing.controller import strip_fence

__all__ = ["RUBRIC_VERSION", "SCHEMA", "SCHEMA_NAME", "judge_messages", "parse_grade", "sampled"]

RUBRIC_VERSION: Final = "live-rubric-v1"
SCHEMA_NAME: Final = "answer_grade"
SCHEMA: Final = {
    "type": "object",
    "properties": {
        "score": {"type": "integer", "minimum": 1, "maximum": 10},
        "reason": {"type": "string"},
    },
    "required": ["score", "reason"],
    "additionalProperties": False,
}
SYSTEM: Final = """\
You grade one answer an AI assistant gave. There is no reference answer: judge whether the \
answer does what the user asked. Check that it is correct (facts, arithmetic, code that would \
run), that it answers the question that was asked, that nothing essential is missing, and that \
it is clear. Do not reward length or politeness. Score from 1 to 10: 1 wrong or useless, 4 \
partly right with real errors, 7 right with small flaws, 10 fully correct and helpful. Reply \
with JSON only: {"score": <1-10>, "reason": "<one sentence>"}."""


def judge_messages(
    conversation: Sequence[Mapping[str, Any]], answer: str, *, prompt_chars: int, answer_chars: int
) -> list[dict[str, str]]:
    """The judge's conversation: the rubric, then the user's request and the answer, each cut
    to its limit."""
    asked = request_text(conversation, prompt_chars)
    shown = cut(answer, answer_chars)
    user = f"USER'S REQUEST\n{asked}\n\nASSISTANT'S ANSWER\n{shown}\n\nGrade the answer."
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_grade(text: str) -> float | None:
    """The judge's answer as a 0-1 quality; None when it is not a valid grade."""
    try:
        data = json.loads(strip_fence(text))
    except ValueError:
        return None
    score = data.get("score") if isinstance(data, dict) else None
    if isinstance(score, bool) or not isinstance(score, int | float) or not 1 <= score <= 10:
        return None
    return (float(score) - 1.0) / 9.0
