"""The benchmark store on SQLite and PostgreSQL: runs, results written once, pairs, clearing."""

from __future__ import annotations

from rolecall.benchmark.results import BenchPairRecord, BenchResultRecord, BenchRunRecord
from rolecall.storage import SqlStorage


def _result(
    run: str, endpoint: str, case: str, *, status: str = "graded", score: float = 1.0
) -> BenchResultRecord:
    return BenchResultRecord(
        run_id=run,
        endpoint_id=endpoint,
        case_key=f"s/{case}",
        suite="s",
        case_id=case,
        bucket="hard",
        task="text.chat",
        status=status,
        score=score,
        latency_ms=12.5,
        tokens_out=7,
        cost_usd=None,
        created_ms=1000,
        detail={"reply": {"text": "é ✓"}, "judge_score": {"judge_id": "grader:exact"}},
    )


def test_runs_results_and_pairs_round_trip(storage: SqlStorage) -> None:
    config = {"endpoints": ["a", "b"], "cases": [{"suite": "s", "case": {"id": "c1"}}]}
    storage.benchmarks.create_run(
        BenchRunRecord("r1", "quick", "running", 100, None, "b", 4, config)
    )
    storage.benchmarks.create_run(BenchRunRecord("r2", "full", "running", 200, None, None, 2, {}))
    assert [r.run_id for r in storage.benchmarks.list_runs()] == ["r2", "r1"]  # newest first
    storage.benchmarks.update_run("r1", status="completed", finished_ms=150)
    run = storage.benchmarks.get_run("r1")
    assert run is not None
    assert (run.status, run.finished_ms, run.config) == ("completed", 150, config)
    assert storage.benchmarks.get_run("nope") is None

    first = _result("r1", "a", "c1", score=0.25)
    assert storage.benchmarks.put_result(first) is True
    assert storage.benchmarks.put_result(_result("r1", "a", "c1", score=1.0)) is False  # kept first
    assert storage.benchmarks.put_result(_result("r1", "b", "c1", status="failed")) is True
    assert storage.benchmarks.results("r1")[0] == first
    assert storage.benchmarks.count_results("r1") == {"graded": 1, "failed": 1}

    pair = BenchPairRecord("r1", "s/c1", "a", "b", "a", {"consistent": True})
    assert storage.benchmarks.put_pair(pair) is True
    assert storage.benchmarks.put_pair(pair) is False
    assert storage.benchmarks.pairs("r1") == [pair]

    assert storage.benchmarks.delete_results("a") == 1
    assert storage.benchmarks.pairs("r1") == []
    assert [r.endpoint_id for r in storage.benchmarks.results("r1")] == ["b"]
    assert storage.benchmarks.delete_results() == 1
