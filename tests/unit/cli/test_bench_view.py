"""`rolecall bench`'s rendering of a run report (`rolecall.cli.bench_view`), on reports built by
the same function the console's run detail serves (`build_report`) from stored records."""

from __future__ import annotations

from typing import Any

import pytest

from rolecall.benchmark.report import build_report
from rolecall.benchmark.results import BenchResultRecord, BenchRunRecord
from rolecall.cli.bench_view import print_report


def _result(endpoint_id: str, case_id: str, status: str, score: float | None, **detail: Any) -> Any:
    return BenchResultRecord(
        "run-1",
        endpoint_id,
        f"s/{case_id}",
        "s",
        case_id,
        "easy",
        "text.chat",
        status,
        score,
        None if status == "skipped" else 50.0,
        5,
        None,
        1_000,
        detail,
    )


def _report(judge: str | None, results: list[BenchResultRecord]) -> dict[str, Any]:
    config = {"endpoints": ["ep-a", "ep-b"], "judge_overlap": judge == "ep-a"}
    run = BenchRunRecord("run-1", "full", "completed", 1_000, 3_000, judge, 4, config)
    return build_report(run, results)


def test_a_self_judging_run_is_marked_with_its_bias(capsys: pytest.CaptureFixture[str]) -> None:
    results = [
        _result("ep-a", "q1", "graded", 1.0, method="judge", self_graded=True, heuristic_score=0.2),
        _result("ep-b", "q1", "graded", 0.5, method="judge", heuristic_score=0.5),
        _result("ep-a", "t1", "skipped", None, error="the endpoint declares no tool calling"),
        _result("ep-b", "t1", "graded", 1.0, method="deterministic"),
    ]
    print_report(_report("ep-a", results), elapsed_s=2.0, cases=True)
    out = capsys.readouterr().out
    assert "run run-1 (full, completed)" in out
    assert "elapsed 2.0 s" in out
    assert "judge: ep-a" in out
    assert "yes: self-judging" in out
    assert "measured self-bias     +0.800" in out  # (1.0 - 0.2) - (0.5 - 0.5)
    assert "1 case(s) skipped" in out
    rows = {line.split("│")[2].strip() + line.split("│")[3].strip(): line for line in _cases(out)}
    assert "judge ep-a (self)" in rows["q1ep-a"]
    assert "judge ep-a" in rows["q1ep-b"]
    assert "(self)" not in rows["q1ep-b"]
    assert "the endpoint declares no tool calling" in rows["t1ep-a"]
    assert "deterministic" in rows["t1ep-b"]


def test_no_judge_is_said_so(capsys: pytest.CaptureFixture[str]) -> None:
    results = [
        _result("ep-a", "q1", "graded", 0.4, method="heuristic"),
        _result("ep-b", "q1", "failed", None, error="timeout: no answer in 30 s"),
    ]
    print_report(_report(None, results))
    out = capsys.readouterr().out
    assert "judge: no judge (graders only) — 1 open-ended case(s) scored by the judge-free" in out
    assert "self-judging" not in out
    assert "elapsed" not in out
    assert "per case" not in out


def _cases(out: str) -> list[str]:
    """The body rows of the per-case table."""
    body = out.split("per case", 1)[1]
    return [line for line in body.splitlines() if line.startswith("│")]
