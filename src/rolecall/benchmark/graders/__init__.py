"""Graders: turn an endpoint's reply to a case into a schema-valid `JudgeScore`.

`grade_case` dispatches on the case's ``grader``. Deterministic graders come first; ``judge``
cases go to the `LlmJudge` when one is configured and fall back to `heuristic_verdict` when it is
absent or fails. Every result carries the heuristic score too, so judge self-preference can be
measured against a judge-free baseline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from rolecall.benchmark.cases import BenchCase
from rolecall.benchmark.grader_args import GRADER_NAMES
from rolecall.benchmark.graders.code_exec import grade_code
from rolecall.benchmark.graders.deterministic import (
    grade_choice,
    grade_exact,
    grade_json_schema,
    grade_numeric,
    grade_regex,
    grade_tool_calls,
)
from rolecall.benchmark.graders.judge import (
    CircuitBreaker,
    JudgeUnavailable,
    LlmJudge,
    heuristic_verdict,
)
from rolecall.benchmark.reply import Reply, Verdict
from rolecall.protocol import JudgeScore, validate_artifact

__all__ = ["GRADER_NAMES", "CircuitBreaker", "Grade", "LlmJudge", "grade_case"]

_SYNC: Final[dict[str, Callable[[BenchCase, Reply], Verdict]]] = {
    "exact": grade_exact,
    "choice": grade_choice,
    "numeric": grade_numeric,
    "regex": grade_regex,
    "json_schema": grade_json_schema,
    "tool_calls": grade_tool_calls,
}
_ASYNC: Final[dict[str, Callable[[BenchCase, Reply], Awaitable[Verdict]]]] = {"code": grade_code}


@dataclass(frozen=True)
class Grade:
    score: JudgeScore
    method: str  # "deterministic", "judge" or "heuristic"
    heuristic_score: float | None = None


def _stamp(judge_id: str, case: BenchCase, verdict: Verdict) -> JudgeScore:
    score = JudgeScore(
        judge_id=judge_id,
        case_id=case.id,
        score=min(1.0, max(0.0, float(verdict.score))),
        rationale=verdict.rationale or "no rationale",
    )
    validate_artifact("judge-score", score.to_artifact())
    return score


async def grade_case(case: BenchCase, reply: Reply, judge: LlmJudge | None = None) -> Grade:
    """Grade ``reply``; the result's `JudgeScore` is validated against the protocol schema."""
    if case.grader in _SYNC:
        return Grade(
            _stamp(f"grader:{case.grader}", case, _SYNC[case.grader](case, reply)), "deterministic"
        )
    if case.grader in _ASYNC:
        verdict = await _ASYNC[case.grader](case, reply)
        return Grade(_stamp(f"grader:{case.grader}", case, verdict), "deterministic")
    fallback = heuristic_verdict(case, reply)
    if judge is not None:
        try:
            verdict = await judge.grade(case, reply)
        except JudgeUnavailable as exc:
            note = Verdict(fallback.score, f"{fallback.rationale} (judge unavailable: {exc})")
            return Grade(_stamp("heuristic:reference", case, note), "heuristic", fallback.score)
        return Grade(_stamp(judge.judge_id, case, verdict), "judge", fallback.score)
    return Grade(_stamp("heuristic:reference", case, fallback), "heuristic", fallback.score)
