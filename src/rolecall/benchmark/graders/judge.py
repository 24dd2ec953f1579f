"""The LLM judge: a chosen endpoint grades an answer against a reference and a rubric.

Small local judges are reliable only when given a reference (docs/benchmark.md §Small local
judges), so the judge is reference-guided wherever the case has one. The judge runs at temperature 0 and
must answer the strict JSON ``{"score": 0..1, "rationale": "..."}``; the output is constrained
where the server allows (llama.cpp: ``response_format`` with a JSON schema; OpenAI-compatible:
``json_schema``). A reply that is not that JSON, or whose rationale is empty or not substantive,
gets a JSON-only follow-up (``retries`` times). A `CircuitBreaker` stops calling a failing judge
(3 failures in a row → 30 s pause). When the judge cannot grade, `heuristic_verdict` does:
containment / token F1 against the reference, or rubric-word coverage.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from rolecall.benchmark.cases import BenchCase
from rolecall.benchmark.graders.deterministic import extract_json, normalise
from rolecall.benchmark.reply import Reply, Verdict

__all__ = [
    "JUDGE_SCHEMA",
    "SCORE_QUESTION",
    "CircuitBreaker",
    "JudgeQuestion",
    "JudgeUnavailable",
    "LlmJudge",
    "heuristic_verdict",
    "response_format_for",
    "token_f1",
]

JUDGE_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "rationale": {"type": "string", "minLength": 8},
    },
    "required": ["score", "rationale"],
    "additionalProperties": False,
}
_SYSTEM: Final = (
    "You are a strict, fair grader. Compare the candidate answer with the reference answer and the "
    "rubric. Score 1 when the candidate means the same as the reference (wording may differ), 0 when "
    "it is wrong or missing, values in between for partly right answers. Reply with JSON only: "
    '{"score": <number 0..1>, "rationale": "<one sentence saying why>"}'
)
_SCORE_SHAPE: Final = '{"score": <number from 0 to 1>, "rationale": "<one sentence>"}'
_FOLLOW_UP: Final = (
    "Your reply was not usable ({problem}). "
    "Reply with JSON only, exactly {shape}, and nothing else."
)
_GENERIC: Final = frozenset(
    {"ok", "good", "bad", "correct", "incorrect", "n/a", "none", "yes", "no"}
)
Call = Callable[[dict[str, Any]], Awaitable[Reply]]


class JudgeUnavailable(Exception):  # noqa: N818 - a condition, handled by falling back
    """The judge could not produce a valid grade (breaker open, failures, unusable replies)."""


@dataclass
class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; stays open ``cooldown_s``, then half-opens."""

    threshold: int = 3
    cooldown_s: float = 30.0
    failures: int = 0
    opened_at: float | None = None
    trips: int = 0
    clock: Callable[[], float] = field(default=time.monotonic)

    @property
    def open(self) -> bool:
        if self.opened_at is None:
            return False
        if self.clock() - self.opened_at >= self.cooldown_s:
            self.opened_at = None  # half-open: the next call decides
            self.failures = self.threshold - 1
            return False
        return True

    def success(self) -> None:
        self.failures, self.opened_at = 0, None

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold and self.opened_at is None:
            self.opened_at = self.clock()
            self.trips += 1


def response_format_for(
    provider_kind: str | None, schema: dict[str, Any], name: str = "judge_score"
) -> dict[str, Any] | None:
    """How to constrain the judge's output to ``schema`` on this kind of server (None: the
    instructions alone, e.g. Anthropic, which has no ``response_format``)."""
    if provider_kind in ("llamacpp", "ollama"):
        return {"type": "json_object", "schema": schema}
    if provider_kind == "openai_compatible":
        return {
            "type": "json_schema",
            "json_schema": {"name": name, "strict": True, "schema": schema},
        }
    return None


def _question(case: BenchCase) -> str:
    users = [m.content for m in case.messages if m.role == "user"]
    return users[-1] if users else case.messages[-1].content


def judge_prompt(case: BenchCase, answer: str) -> str:
    parts = [f"Question:\n{_question(case)}"]
    if case.reference:
        parts.append(f"Reference answer:\n{case.reference}")
    if case.rubric:
        parts.append(f"Rubric:\n{case.rubric}")
    parts.append(f"Candidate answer:\n{answer.strip() or '(empty)'}")
    return "\n\n".join(parts)


def parse_judgement(text: str) -> Verdict:
    """The judge's JSON as a `Verdict`; `ValueError` says what is wrong with it."""
    data = extract_json(text)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    score, rationale = data.get("score"), data.get("rationale")
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise ValueError("'score' is not a number")
    if 1 < score <= 10:
        score = score / 10  # a 1-10 scale despite the instructions
    if not 0 <= score <= 1:
        raise ValueError("'score' is outside 0..1")
    if not isinstance(rationale, str) or len(rationale.strip()) < 8:
        raise ValueError("'rationale' is empty or too short")
    if normalise(rationale) in _GENERIC or len(rationale.split()) < 3:
        raise ValueError("'rationale' does not explain the score")
    return Verdict(float(score), rationale.strip())


@dataclass(frozen=True)
class JudgeQuestion:
    """What the judge must answer: the JSON schema, its shape in words, and the parser."""

    schema: dict[str, Any]
    shape: str
    parse: Callable[[str], Any]
    name: str = "judge_score"


SCORE_QUESTION: Final = JudgeQuestion(JUDGE_SCHEMA, _SCORE_SHAPE, parse_judgement)


@dataclass
class LlmJudge:
    """Grades through ``call`` (a chat completion on the judge endpoint)."""

    endpoint_id: str
    call: Call
    provider_kind: str | None = None  # decides how the output is constrained
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    retries: int = 2
    max_tokens: int = 80  # a score and one sentence; more only slows a CPU judge down
    attempts: int = 0
    failures: int = 0

    @property
    def judge_id(self) -> str:
        return f"judge:{self.endpoint_id}"

    def _body(self, messages: list[dict[str, str]], question: JudgeQuestion) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": messages,
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }
        constraint = response_format_for(self.provider_kind, question.schema, question.name)
        if constraint is not None:
            body["response_format"] = constraint
        return body

    async def grade(self, case: BenchCase, reply: Reply) -> Verdict:
        """A judged `Verdict`, or `JudgeUnavailable` (the caller falls back to the heuristic)."""
        verdict: Verdict = await self.ask(
            [
                {"role": "system", "content": _SYSTEM},
                {"role": "user", "content": judge_prompt(case, reply.text)},
            ],
            SCORE_QUESTION,
        )
        return verdict

    async def ask(self, messages: list[dict[str, str]], question: JudgeQuestion) -> Any:
        """Ask until ``question.parse`` accepts the reply (JSON-only follow-ups in between)."""
        if self.breaker.open:
            raise JudgeUnavailable("judge circuit breaker is open")
        problem = "no reply"
        for _ in range(self.retries + 1):
            self.attempts += 1
            try:
                answer = await self.call(self._body(messages, question))
            except Exception as exc:  # transport or upstream failure: counts against the breaker
                problem = f"judge call failed: {exc}"
                break
            try:
                parsed = question.parse(answer.text)
            except ValueError as exc:
                problem = str(exc)
                messages = [
                    *messages,
                    {"role": "assistant", "content": answer.text or "(empty)"},
                    {
                        "role": "user",
                        "content": _FOLLOW_UP.format(problem=problem, shape=question.shape),
                    },
                ]
                continue
            self.breaker.success()
            return parsed
        self.failures += 1
        self.breaker.failure()
        raise JudgeUnavailable(problem)


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", normalise(text))


def token_f1(answer: str, reference: str) -> float:
    """SQuAD-style token F1 between two texts."""
    got, want = _tokens(answer), _tokens(reference)
    if not got or not want:
        return 0.0
    common = sum(min(got.count(t), want.count(t)) for t in set(want))
    if common == 0:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def heuristic_verdict(case: BenchCase, reply: Reply) -> Verdict:
    """A judge-free grade: reference containment or token F1, else rubric-word coverage."""
    if case.reference:
        reference = normalise(case.reference)
        if reference and reference in normalise(reply.text):
            return Verdict(1.0, "heuristic: the answer contains the reference answer")
        f1 = token_f1(reply.text, case.reference)
        return Verdict(round(f1, 4), f"heuristic: token F1 {f1:.2f} against the reference")
    words = {w for w in _tokens(case.rubric or "") if len(w) > 4}
    if not words:
        return Verdict(0.0, "heuristic: nothing to compare with")
    covered = len(words & set(_tokens(reply.text))) / len(words)
    return Verdict(round(covered, 4), f"heuristic: {covered:.0%} of the rubric's key words present")
