"""Suite files: the built-in suites are complete and self-consistent; bad files name case and field."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from rolecall.benchmark.cases import (
    TASKS,
    SuiteError,
    builtin_suites,
    load_suite,
    load_suites,
    parse_suite,
    select_cases,
)
from rolecall.benchmark.graders import grade_case
from rolecall.benchmark.reply import Reply

GOOD = {
    "id": "he-12",
    "task": "text.classification",
    "bucket": "easy",
    "messages": [{"role": "user", "content": "Sentiment of 'great!'?"}],
    "reference": "positive",
    "grader": "exact",
    "source": "test",
    "license": "CC0-1.0",
}


def _jsonl(*cases: dict[str, object]) -> str:
    return "".join(json.dumps(c) + "\n" for c in cases)


def _error(text: str, name: str = "coder.jsonl", *, is_yaml: bool = False) -> str:
    with pytest.raises(SuiteError) as caught:
        parse_suite(text, name, is_yaml=is_yaml)
    return str(caught.value)


def test_builtin_suites_cover_every_baseline_task_with_provenance() -> None:
    suites = builtin_suites()
    cases = [c for s in suites for c in s.cases]
    assert {c.task for c in cases} == set(TASKS)
    assert all(c.source.strip() and c.license.strip() for c in cases)
    assert len(cases) >= 60
    quick = [c for s in suites for c in s.quick_cases]
    assert 10 <= len(quick) <= 20  # a quick run must finish in minutes on the local CPU pool
    assert all(c.max_tokens <= 200 for c in quick)
    public = {c.source for c in cases if "authored" not in c.source}
    for name in ("GSM8K", "HumanEval", "MMLU", "HellaSwag", "TruthfulQA", "MBPP", "TriviaQA"):
        assert any(name in source for source in public), name


def test_every_reference_answer_passes_its_own_deterministic_grader() -> None:
    """A case whose known-good answer fails its grader would punish every endpoint."""

    async def check() -> list[str]:
        failures = []
        for suite in builtin_suites():
            for case in suite.cases:
                if case.reference and case.grader != "judge":
                    grade = await grade_case(case, Reply(case.reference))
                    if grade.score.score != 1.0:
                        failures.append(f"{suite.name}/{case.id}: {grade.score.rationale}")
        return failures

    assert asyncio.run(check()) == []


def test_unknown_grader_names_suite_case_and_field() -> None:
    message = _error(_jsonl({**GOOD, "grader": "exactt"}))
    assert message.startswith(
        "suite coder.jsonl: case 'he-12': field 'grader': unknown grader 'exactt'"
    )
    assert "expected one of exact, choice, numeric" in message


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"bucket": "tricky"}, "bucket", "easy"),
        ({"reference": None}, "reference", "needs a reference"),
        ({"grader": "choice", "reference": "E"}, "reference", "ABCD"),
        ({"grader": "numeric", "reference": "many"}, "reference", "needs a number"),
        ({"grader": "regex", "grader_args": {"pattern": "("}}, "grader_args.pattern", "regular"),
        ({"grader": "json_schema", "grader_args": {}}, "grader_args.schema", "missing"),
        ({"grader": "exact", "grader_args": {"tolerance": 1}}, "grader_args.tolerance", "unknown"),
        ({"grader": "tool_calls"}, "grader", "tool_calls"),
        ({"max_tokens": 0}, "max_tokens", "greater than"),
        ({"colour": "red"}, "colour", "unknown field"),
    ],
)
def test_bad_fields_are_named(change: dict[str, object], field: str, words: str) -> None:
    message = _error(_jsonl({**GOOD, **change}))
    if field == "grader" and change.get("grader") == "tool_calls":
        field = "tools"
    assert f"case 'he-12': field '{field}'" in message
    assert words in message


def test_missing_field_and_bad_lines() -> None:
    no_license = {k: v for k, v in GOOD.items() if k != "license"}
    assert "field 'license': required field is missing" in _error(_jsonl(no_license))
    assert "line 2: not valid JSON" in _error(_jsonl(GOOD) + "{oops\n")
    assert "field 'id': duplicate case id" in _error(_jsonl(GOOD, GOOD))
    assert "no cases" in _error("\n")
    no_id = {k: v for k, v in GOOD.items() if k != "id"}
    assert "line 1: field 'id'" in _error(_jsonl(no_id))


def test_tool_case_must_offer_its_expected_tools() -> None:
    case = {
        **GOOD,
        "task": "tools.function_calling",
        "grader": "tool_calls",
        "reference": None,
        "tools": [{"type": "function", "function": {"name": "get_time", "parameters": {}}}],
        "expected_tools": ["get_weather"],
    }
    assert "field 'expected_tools': not among the offered tools: ['get_weather']" in _error(
        _jsonl(case)
    )


def test_yaml_suite_file_and_selection(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "cases:\n"
        "  - {id: a, task: text.chat, bucket: hard, quick: true, grader: judge, reference: x,\n"
        "     messages: [{role: user, content: hi}], source: me, license: MIT}\n"
        "  - {id: b, task: text.chat, bucket: easy, grader: regex, grader_args: {pattern: hi},\n"
        "     messages: [{role: user, content: hi}], source: me, license: MIT}\n"
    )
    suite = load_suite(path)
    assert suite.name == "mine"
    assert [c.id for _, c in select_cases([suite], "quick")] == ["a"]
    assert [c.id for _, c in select_cases([suite], "full")] == ["a", "b"]
    assert [c.id for _, c in select_cases([suite], "full", ["mine/b"])] == ["b"]
    with pytest.raises(SuiteError, match="two suites share the name"):
        load_suites([path, path])
    with pytest.raises(SuiteError, match="cannot read"):
        load_suite(tmp_path / "absent.jsonl")
