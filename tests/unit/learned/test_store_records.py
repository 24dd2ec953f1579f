"""Records from the store: the latest graded score of each (case, endpoint); nothing ungraded."""

from __future__ import annotations

from rolecall.benchmark.results import BenchResultRecord, BenchRunRecord
from rolecall.learned.store_records import bench_records

CASE = {
    "suite": "s",
    "case": {
        "id": "c1",
        "task": "qa",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of Peru?"},
        ],
    },
}


def _result(run: str, score: float | None, at: int, status: str = "graded") -> BenchResultRecord:
    return BenchResultRecord(
        run, "ep", "s/c1", "s", "c1", "easy", "qa", status, score, 1.0, 1, 0.0, at
    )


def test_the_latest_graded_score_of_each_pair_is_kept() -> None:
    runs = [
        BenchRunRecord("old", "full", "completed", 1, 2, None, 1, {"cases": [CASE]}),
        BenchRunRecord("new", "quick", "completed", 3, 4, None, 1, {"cases": [CASE]}),
    ]
    results = {
        "old": [_result("old", 0.2, 10)],
        "new": [_result("new", 0.9, 20), _result("new", None, 30, status="error")],
    }
    [row] = bench_records(runs, lambda run_id: results[run_id])
    assert row["score"] == 0.9
    assert (row["prompt_id"], row["model"], row["task"]) == ("s/c1", "ep", "qa")
    assert row["prompt"] == "Be brief.\n\nCapital of Peru?"


def test_a_result_whose_case_is_unknown_is_left_out() -> None:
    runs = [BenchRunRecord("r", "full", "completed", 1, 2, None, 1, {"cases": []})]
    assert bench_records(runs, lambda _: [_result("r", 1.0, 5)]) == []
