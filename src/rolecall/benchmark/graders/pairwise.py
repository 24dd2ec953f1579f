"""Pairwise head-to-head: the judge compares two endpoints' answers to one case, twice.

Position bias is real in small judges (docs/benchmark.md §Small local judges), so every pair
is asked in both orders (A/B, then B/A). A winner counts only when both orders agree; otherwise
the pair is a tie and is flagged inconsistent. Without a usable judge the stored case scores
decide (heuristic fallback).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from rolecall.benchmark.cases import BenchCase
from rolecall.benchmark.graders.deterministic import extract_json, normalise
from rolecall.benchmark.graders.judge import JudgeQuestion, JudgeUnavailable, LlmJudge, judge_prompt

__all__ = ["PairOutcome", "compare_pair", "parse_preference"]

_SYSTEM: Final = (
    "You compare two answers to the same question. Prefer the answer that is correct and matches "
    "the reference; ignore length and style. Reply with JSON only: "
    '{"winner": "A" | "B" | "tie", "rationale": "<one sentence>"}'
)


@dataclass(frozen=True)
class PairOutcome:
    case_id: str
    endpoint_a: str
    endpoint_b: str
    winner: str | None  # an endpoint id, or None for a tie
    consistent: bool  # both orders agreed
    rationale: str
    judge_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "endpoint_a": self.endpoint_a,
            "endpoint_b": self.endpoint_b,
            "winner": self.winner,
            "consistent": self.consistent,
            "rationale": self.rationale,
            "judge_id": self.judge_id,
        }


PREFERENCE_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "winner": {"enum": ["A", "B", "tie"]},
        "rationale": {"type": "string", "minLength": 8},
    },
    "required": ["winner", "rationale"],
    "additionalProperties": False,
}


def parse_preference(text: str) -> tuple[str, str]:
    data = extract_json(text)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    winner = str(data.get("winner", "")).strip().upper()
    if winner not in ("A", "B", "TIE"):
        raise ValueError("'winner' must be A, B or tie")
    rationale = data.get("rationale")
    if not isinstance(rationale, str) or len(rationale.split()) < 3:
        raise ValueError("'rationale' does not explain the choice")
    return winner, rationale.strip()


PREFERENCE_QUESTION: Final = JudgeQuestion(
    PREFERENCE_SCHEMA,
    '{"winner": "A" or "B" or "tie", "rationale": "<one sentence>"}',
    parse_preference,
    "preference",
)


def _prompt(case: BenchCase, first: str, second: str) -> list[dict[str, str]]:
    question = judge_prompt(case, "").rsplit("Candidate answer:", 1)[0].strip()
    first, second = first.strip() or "(empty)", second.strip() or "(empty)"
    text = f"{question}\n\nAnswer A:\n{first}\n\nAnswer B:\n{second}"
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": text}]


async def compare_pair(
    case: BenchCase,
    a: tuple[str, str, float],
    b: tuple[str, str, float],
    judge: LlmJudge | None,
) -> PairOutcome:
    """``a`` and ``b`` are (endpoint id, answer text, graded score)."""
    (id_a, text_a, score_a), (id_b, text_b, score_b) = a, b
    if normalise(text_a) == normalise(text_b):  # nothing to rank: spare the judge two calls
        return PairOutcome(case.id, id_a, id_b, None, True, "identical answers", "identical")
    if judge is not None:
        try:
            first, why = await judge.ask(_prompt(case, text_a, text_b), PREFERENCE_QUESTION)
            second, _ = await judge.ask(_prompt(case, text_b, text_a), PREFERENCE_QUESTION)
        except JudgeUnavailable:
            pass
        else:
            pick_1 = {"A": id_a, "B": id_b}.get(first)
            pick_2 = {"A": id_b, "B": id_a}.get(second)
            consistent = pick_1 == pick_2
            winner = pick_1 if consistent else None
            note = why if consistent else f"orders disagreed ({first} then {second}): position bias"
            return PairOutcome(case.id, id_a, id_b, winner, consistent, note, judge.judge_id)
    winner = id_a if score_a > score_b else id_b if score_b > score_a else None
    return PairOutcome(
        case.id,
        id_a,
        id_b,
        winner,
        True,
        f"heuristic: graded scores {score_a:.2f} vs {score_b:.2f}",
        "heuristic:scores",
    )
