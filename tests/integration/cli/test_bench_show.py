"""`rolecall bench show RUN_ID` tells what the console's run view tells: the judge actually used
(and that it judged its own answers, with the measured bias), per-suite scores, and with
``--cases`` one row per case with the reason a skipped case has no score; ``--json`` is the
console's run detail. A real benchmark run by the real CLI against scripted upstreams (real HTTP,
real graders), SQLite on disk."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.cli.cli_process import assert_one_error, environment, rolecall

WRONG = "I am not sure."
OPEN = {  # judge-graded cases: question -> reference
    "Name the largest planet of the solar system.": "Jupiter is the largest planet.",
    "Which gas do plants take in for photosynthesis?": "Plants take in carbon dioxide.",
    "What is the boiling point of water at sea level?": "Water boils at 100 degrees Celsius.",
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def _cases() -> list[dict[str, Any]]:
    common = {"bucket": "easy", "source": "test", "license": "CC0-1.0", "max_tokens": 32}
    cases = [
        {
            **common,
            "id": f"open-{i}",
            "task": "text.chat",
            "messages": [{"role": "user", "content": question}],
            "reference": reference,
            "grader": "judge",
        }
        for i, (question, reference) in enumerate(OPEN.items())
    ]
    cases.append(
        {
            **common,
            "id": "colour",
            "task": "text.classification",
            "messages": [{"role": "user", "content": "What colour is a clear daytime sky?"}],
            "reference": "blue",
            "grader": "exact",
        }
    )
    cases.append(
        {
            **common,
            "id": "weather",
            "task": "tools.function_calling",
            "messages": [{"role": "user", "content": "What's the weather in Lisbon?"}],
            "tools": TOOLS,
            "expected_tools": ["get_weather"],
            "grader": "tool_calls",
            "grader_args": {"arguments": {"get_weather": {"city": "Lisbon"}}},
        }
    )
    return cases


def _rules() -> list[dict[str, Any]]:
    """The expert gives every reference; the judge scores an answer 1 when it is the reference
    and prefers the reference in head-to-heads."""
    rules: list[dict[str, Any]] = [
        {"model": "expert", "prompt_contains": question, "answer": reference}
        for question, reference in OPEN.items()
    ]
    rules.append({"model": "expert", "prompt_contains": "clear daytime sky", "answer": "blue"})
    for reference in OPEN.values():
        right = {"score": 1, "rationale": "It gives the reference answer."}
        rules.append(
            {
                "model": "judge",
                "prompt_contains": f"Candidate answer:\n{reference}",
                "answer": json.dumps(right),
            }
        )
        for slot in ("A", "B"):
            pick = {"winner": slot, "rationale": f"Answer {slot} is the reference."}
            rules.append(
                {
                    "model": "judge",
                    "prompt_contains": f"Answer {slot}:\n{reference}",
                    "answer": json.dumps(pick),
                }
            )
    return rules


@pytest.fixture(scope="module")
def upstream() -> Iterator[Any]:
    wrong = json.dumps({"score": 0, "rationale": "It does not give the reference answer."})
    script = {
        "models": {"judge": {"answer": wrong}, "expert": {"answer": WRONG}},
        "rules": _rules(),
    }
    handle = ScriptedUpstream.start_in_thread(script)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def judged(upstream: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A working directory (inventory, suite, data) and the id of its finished run, in which the
    judge was also a candidate."""
    tmp_path = tmp_path_factory.mktemp("bench-show")
    inventory = {
        "providers": {
            "p": {"kind": "openai_compatible", "base_url": upstream.base_url, "local": False}
        },
        "endpoints": [
            # the judge declares no tool calling: the tool case is skipped on it, with the reason
            {"provider": "p", "model": "judge", "id": "ep-judge", "tools": False},
            {"provider": "p", "model": "expert", "id": "ep-expert", "tools": True},
        ],
    }
    (tmp_path / "rolecall.yaml").write_text(yaml.safe_dump(inventory))
    suite = tmp_path / "small.jsonl"
    suite.write_text("".join(json.dumps(c) + "\n" for c in _cases()))
    ran = _cli(
        tmp_path, "bench", "run", "--full", "--suite", str(suite), "--judge", "ep-judge", "--json"
    )
    assert ran.returncode == 0, ran.stderr
    return tmp_path, str(json.loads(ran.stdout)["run_id"])


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = environment(tmp_path, ROLECALL_CONFIG=str(tmp_path / "rolecall.yaml"))
    return rolecall(tmp_path, *args, env=env, timeout=120)


def test_show_names_the_judge_marks_self_judging_and_lists_every_case(
    judged: tuple[Path, str],
) -> None:
    workdir, run_id = judged
    shown = _cli(workdir, "bench", "show", run_id, "--cases")
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert f"run {run_id} (full, completed)" in text
    assert "elapsed" in text
    assert "judge: ep-judge" in text
    assert "yes: self-judging" in text
    assert "measured self-bias" in text
    assert "ep-judge judged its own answers" in text
    assert "per suite" in text
    assert "pairwise" in text
    assert "1 case(s) skipped" in text
    # per-case rows: each (case, endpoint), graded by the judge (self-marked on its own answers),
    # the deterministic grader, or skipped with its reason
    case_lines = [line for line in text.splitlines() if "small" in line and "open-" in line]
    assert len(case_lines) == 2 * len(OPEN), text
    assert all("judge ep-judge" in line for line in case_lines)
    assert all("(self)" in line for line in case_lines if "ep-expert" not in line)
    assert not [line for line in case_lines if "ep-expert" in line and "(self)" in line]
    skipped = [line for line in text.splitlines() if "weather" in line and "skipped" in line]
    assert len(skipped) == 1
    assert "ep-judge" in skipped[0]
    assert "declares no tool calling" in skipped[0]
    assert any("colour" in line and "deterministic" in line for line in text.splitlines())


def test_show_json_is_the_console_run_detail(judged: tuple[Path, str]) -> None:
    workdir, run_id = judged
    shown = _cli(workdir, "bench", "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    facts = report["judge_facts"]
    assert report["judge"] == "ep-judge"
    assert facts["overlap"] is True
    assert facts["self_graded_cases"] == len(OPEN)
    assert isinstance(facts["score_bias"], float)
    assert {row["endpoint_id"] for row in report["suites"]} == {"ep-judge", "ep-expert"}
    assert len(report["cases"]) == 2 * len(_cases())
    assert report["pairwise"]
    # exactly the keys of the console's GET /api/bench/runs/{run_id}
    assert set(report) == {
        "run_id",
        "mode",
        "status",
        "judge",
        "started_ms",
        "finished_ms",
        "cases_total",
        "cases_done",
        "endpoints",
        "judge_facts",
        "pairwise",
        "suites",
        "cases",
        "recommendation",
        "adaptive",
    }


def test_a_run_without_judge_says_graders_only_and_keeps_to_the_summary(
    judged: tuple[Path, str],
) -> None:
    workdir = judged[0]
    suite = workdir / "small.jsonl"
    ran = _cli(workdir, "bench", "run", "--full", "--suite", str(suite), "--no-judge", "--json")
    assert ran.returncode == 0, ran.stderr
    shown = _cli(workdir, "bench", "show", json.loads(ran.stdout)["run_id"])
    assert shown.returncode == 0, shown.stderr
    assert "judge: no judge (graders only)" in shown.stdout
    assert "open-ended case(s) scored by the judge-free heuristic" in shown.stdout
    assert "self-judging" not in shown.stdout
    # without --cases: the summary, and a pointer to the reason a case was skipped
    assert "per case" not in shown.stdout
    assert "1 case(s) skipped (--cases shows why)" in shown.stdout


def test_an_unknown_run_id_is_one_error_naming_the_fix(judged: tuple[Path, str]) -> None:
    workdir = judged[0]
    result = _cli(workdir, "bench", "show", "bench-nope", "--json")
    assert_one_error(result, 2, "no benchmark run 'bench-nope'", "rolecall bench list")
    assert result.stdout == ""
