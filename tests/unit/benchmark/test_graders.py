"""Graders: deterministic checks, the sandboxed code runner, the LLM judge protocol and pairwise."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rolecall.benchmark.cases import BenchCase
from rolecall.benchmark.graders import grade_case
from rolecall.benchmark.graders.code_exec import run_sandboxed
from rolecall.benchmark.graders.deterministic import extract_letter, extract_number
from rolecall.benchmark.graders.judge import CircuitBreaker, parse_judgement, token_f1
from rolecall.benchmark.graders.pairwise import compare_pair
from rolecall.benchmark.reply import Reply, parse_completion
from rolecall.protocol import validate_artifact


def case(**fields: Any) -> BenchCase:
    base: dict[str, Any] = {
        "id": "c1",
        "task": "text.chat",
        "bucket": "easy",
        "messages": [{"role": "user", "content": "What is the capital of Australia?"}],
        "source": "test",
        "license": "CC0-1.0",
    }
    return BenchCase.model_validate({**base, **fields})


def grade(c: BenchCase, text: str = "", **reply: Any) -> float:
    result = asyncio.run(grade_case(c, Reply(text, **reply)))
    validate_artifact("judge-score", result.score.to_artifact())
    return result.score.score


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("C", "C"),
        ("(B) because", "B"),
        ("Answer: D", "D"),
        ("The answer is A.", "A"),
        ("none", None),
    ],
)
def test_extract_letter(text: str, letter: str | None) -> None:
    assert extract_letter(text, "ABCD") == letter


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("so 3 + 4 = 7. Answer: 1,234", 1234.0),
        ("\\boxed{42}", 42.0),
        ("first 3 then 5", 5.0),
        ("Answer: -2.5", -2.5),
        ("no digits", None),
    ],
)
def test_extract_number(text: str, number: float | None) -> None:
    assert extract_number(text) == number


def test_deterministic_graders() -> None:
    assert grade(case(grader="exact", reference="Canberra"), " canberra. ") == 1.0
    assert (
        grade(case(grader="exact", reference="French", grader_args={"accept": ["fr"]}), "FR") == 1
    )
    assert grade(case(grader="exact", reference="Canberra"), "Sydney") == 0.0
    assert grade(case(grader="choice", reference="B"), "B) Paris") == 1.0
    assert grade(case(grader="choice", reference="B"), "A") == 0.0
    numeric = case(grader="numeric", reference="0.5", grader_args={"tolerance": 0.01})
    assert grade(numeric, "Answer: 0.505") == 1.0
    assert grade(numeric, "Answer: 0.6") == 0.0
    assert (
        grade(case(grader="regex", grader_args={"pattern": "^canb", "flags": "i"}), "Canberra") == 1
    )
    schema = {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}
    as_json = case(grader="json_schema", grader_args={"schema": schema})
    assert grade(as_json, 'Here: ```json\n{"a": 3}\n```') == 1.0
    assert grade(as_json, '{"a": "x"}') == 0.2  # parseable but breaks the schema
    assert grade(as_json, "no json here") == 0.0


def test_tool_call_grader_checks_names_arguments_and_extras() -> None:
    tools = [
        {"type": "function", "function": {"name": n, "parameters": {}}}
        for n in ("get_weather", "f")
    ]
    c = case(
        task="tools.function_calling",
        grader="tool_calls",
        tools=tools,
        expected_tools=["get_weather"],
        grader_args={"arguments": {"get_weather": {"city": "Lisbon"}}},
    )
    right = [{"name": "get_weather", "arguments": {"city": "lisbon"}}]
    assert grade(c, tool_calls=right) == 1.0
    assert grade(c, tool_calls=[{"name": "get_weather", "arguments": {"city": "Rome"}}]) == 0.5
    assert grade(c, tool_calls=[*right, {"name": "f", "arguments": {}}]) == 0.5
    assert grade(c, "It is sunny") == 0.0


def test_completion_body_becomes_a_reply() -> None:
    body = {
        "choices": [
            {
                "message": {
                    "content": None,
                    "tool_calls": [{"function": {"name": "f", "arguments": '{"x": 1}'}}],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20},
    }
    reply = parse_completion(body, 500.0)
    assert reply.tool_calls == [{"name": "f", "arguments": {"x": 1}}]
    assert reply.tokens_per_sec == 40.0


CODE = {"tests": "assert add(2, 3) == 5", "entry_point": "add"}


def test_code_grader_runs_tests_in_a_subprocess() -> None:
    c = case(task="code.edit", grader="code", grader_args=CODE)
    assert grade(c, "```python\ndef add(a, b):\n    return a + b\n```") == 1.0
    assert grade(c, "def add(a, b):\n    return a - b") == 0.0
    human_eval = {
        "tests": "def check(candidate):\n    assert candidate(2) == 4\n",
        "entry_point": "double",
        "prefix": "def double(x):\n",
    }
    completion = case(task="code.edit", grader="code", grader_args=human_eval)
    assert grade(completion, "    return x * 2\n") == 1.0


def test_sandbox_enforces_time_and_memory_limits() -> None:
    code, _ = asyncio.run(run_sandboxed("while True: pass", timeout_s=0.5, memory_mb=256))
    assert code is None
    code, err = asyncio.run(run_sandboxed("x = bytearray(900 * 2**20)", timeout_s=5, memory_mb=128))
    assert code != 0
    assert "MemoryError" in err
    leak, _ = asyncio.run(
        run_sandboxed(
            "import os; assert 'ROLECALL' not in str(os.environ)", timeout_s=5, memory_mb=256
        )
    )
    assert leak == 0


JUDGED = case(grader="judge", reference="Canberra", rubric="Names Canberra.")


def test_judge_replies_are_strict_json_with_a_real_rationale() -> None:
    with pytest.raises(ValueError, match="rationale"):
        parse_judgement('{"score": 0.5, "rationale": "ok"}')
    with pytest.raises(ValueError, match="rationale"):
        parse_judgement('{"score": 1, "rationale": ""}')
    with pytest.raises(ValueError, match="score"):
        parse_judgement('{"score": "high", "rationale": "it is right about the city"}')
    assert parse_judgement('{"score": 7, "rationale": "mostly right but vague"}').score == 0.7


def test_heuristic_grades_without_a_judge() -> None:
    result = asyncio.run(grade_case(JUDGED, Reply("It is Canberra.")))
    assert (result.method, result.score.judge_id, result.score.score) == (
        "heuristic",
        "heuristic:reference",
        1.0,
    )
    assert grade(JUDGED, "Sydney") == 0.0


def test_circuit_breaker_opens_and_half_opens() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=3, cooldown_s=30, clock=lambda: now[0])
    for _ in range(3):
        breaker.failure()
    assert breaker.open
    assert breaker.trips == 1
    now[0] = 31.0
    assert not breaker.open  # half-open: the next call decides
    breaker.failure()
    assert breaker.open  # one more failure closes the door again


def test_pairwise_without_a_judge_uses_the_scores_and_identical_answers_tie() -> None:
    fallback = asyncio.run(compare_pair(JUDGED, ("x", "a", 0.2), ("y", "b", 0.9), None))
    assert (fallback.winner, fallback.judge_id) == ("y", "heuristic:scores")
    same = asyncio.run(compare_pair(JUDGED, ("x", "Paris.", 1), ("y", "paris", 1), None))
    assert (same.winner, same.judge_id) == (None, "identical")


def test_token_f1() -> None:
    assert token_f1("the cat sat", "the cat sat") == 1.0
    assert token_f1("a dog", "the cat") == 0.0
    assert 0 < token_f1("March 9 2018", "March 9, 2018 in Canada") < 1
