"""The pool view across runs (`rolecall.benchmark.pool`) and a running run's ETA."""

from __future__ import annotations

from rolecall.benchmark.pool import pool_summary
from rolecall.benchmark.progress import RunProgress
from rolecall.benchmark.results import BenchRunRecord

from .test_report import result


def run(run_id: str, started: int, endpoints: list[str], mode: str = "quick") -> BenchRunRecord:
    return BenchRunRecord(
        run_id, mode, "completed", started, started + 10, None, 0, {"endpoints": endpoints}
    )


def test_repeated_runs_count_each_case_once_and_the_newest_result_wins() -> None:
    runs = [run(f"r{n}", n * 100, ["a"]) for n in range(3)]
    # the same 12 cases graded three times: 0.0 in the oldest two runs, 1.0 in the newest
    results = {
        r.run_id: [
            result("a", i, 1.0 if r.run_id == "r2" else 0.0, run=r.run_id) for i in range(12)
        ]
        for r in runs
    }
    card = pool_summary({"a": False}, runs, results)["endpoints"][0]
    assert card["distinct_cases"] == 12
    assert card["quality"]["overall"]["samples"] == 12  # not 36
    assert card["quality"]["overall"]["mean"] == 1.0
    assert card["evidence_runs"] == ["r2"]
    assert card["latest_run_id"] == "r2"


def test_a_run_on_one_endpoint_keeps_the_others_and_advice_spans_the_pool() -> None:
    both = run("r1", 100, ["good", "poor"])
    alone = run("r2", 200, ["poor"])
    # the poor endpoint is faster, so it stays in the pool and the advice weighs both
    results = {
        "r1": [result("good", i, 1.0, run="r1") for i in range(12)]
        + [result("poor", i, 0.0, run="r1") for i in range(12)],
        "r2": [result("poor", i, 0.1, run="r2", latency_ms=20.0) for i in range(12)],
    }
    pool = {"good": False, "poor": True, "new": False}
    summary = pool_summary(pool, [both, alone], results)
    cards = {c["endpoint_id"]: c for c in summary["endpoints"]}
    assert cards["good"]["quality"]["overall"]["mean"] == 1.0
    assert cards["good"]["latest_run_id"] == "r1"
    assert cards["poor"]["quality"]["overall"]["mean"] == 0.1
    assert cards["poor"]["local"] is True
    assert cards["new"]["cases"] == 0
    assert summary["unmeasured"] == ["new"]
    assert summary["recommendation"]["strategy"] == "quality"
    assert not any("only one healthy" in r for r in summary["recommendation"]["reasons"])


def test_eta_extrapolates_this_process_pace_and_ends_with_the_run() -> None:
    progress = RunProgress("r", total=10)
    assert progress.to_dict()["eta_s"] is None  # nothing finished yet
    progress.resumed_at = progress.done = 4  # stored before a resume: took no time here
    assert progress.eta_s is None
    progress.started -= 2.0
    progress.done = 6  # two cases in two seconds, four left
    assert 3.9 < (progress.eta_s or 0) < 4.5
    progress.status, progress.ended = "cancelled", progress.started + 2.0
    assert progress.eta_s is None
    assert progress.to_dict()["elapsed_s"] == 2.0
