"""Scripts for the scripted upstream that make a model answer benchmark cases well or badly.

`expert_rules` answers every given case with its known-good answer (the case's reference, the
expected tool calls); `judge_rules` makes a scripted judge score an answer 1 exactly when it is the
reference, and prefer the reference in head-to-heads. Real HTTP, real graders: only the model's
knowledge is scripted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from rolecall.benchmark.cases import BenchCase

WRONG = "I am not sure."


def _prompt_key(case: BenchCase) -> str:
    users = [m.content for m in case.messages if m.role == "user"]
    return users[-1]


def _answer(case: BenchCase) -> dict[str, Any]:
    if case.grader == "tool_calls":
        wanted = case.parsed_args().arguments
        calls = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(wanted.get(name, {}))},
            }
            for i, name in enumerate(case.expected_tools or [])
        ]
        return {"answer": "", "tool_calls": calls}
    if case.grader == "numeric":
        return {"answer": f"Let me work it out. Answer: {case.reference}"}
    assert case.reference, f"case {case.id} has no reference answer to script"
    return {"answer": case.reference}


def expert_rules(model: str, cases: Iterable[BenchCase]) -> list[dict[str, Any]]:
    return [{"model": model, "prompt_contains": _prompt_key(c), **_answer(c)} for c in cases]


def judge_rules(model: str, cases: Iterable[BenchCase]) -> list[dict[str, Any]]:
    rules = []
    for case in cases:
        if case.grader != "judge" or not case.reference:
            continue
        right = {"score": 1, "rationale": "The candidate gives the reference answer."}
        rules.append(
            {
                "model": model,
                "prompt_contains": f"Candidate answer:\n{case.reference}",
                "answer": json.dumps(right),
            }
        )
        for slot in ("A", "B"):
            pick = {"winner": slot, "rationale": f"Answer {slot} matches the reference answer."}
            rules.append(
                {
                    "model": model,
                    "prompt_contains": f"Answer {slot}:\n{case.reference}",
                    "answer": json.dumps(pick),
                }
            )
    return rules


JUDGE_DEFAULT = json.dumps(
    {"score": 0, "rationale": "The candidate does not give the reference answer."}
)
