"""`rolecall bench items`: each stored case's difficulty and discrimination, hardest first, with the
cases that told no endpoints apart marked. Results stored in a real SQLite database in the data
directory, read back by the real CLI in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

from rolecall.benchmark.results import BenchResultRecord, BenchRunRecord
from rolecall.storage import open_storage
from tests.integration.cli.cli_process import rolecall

ENDPOINTS = ["ep-a", "ep-b", "ep-c", "ep-d"]  # from weakest to strongest
PASSES = {  # case -> the endpoints that pass it
    "everyone": {"ep-a", "ep-b", "ep-c", "ep-d"},
    "nobody": set(),
    "most": {"ep-b", "ep-c", "ep-d"},
    "half": {"ep-c", "ep-d"},
    "best-only": {"ep-d"},
}


def _result(
    run: str, endpoint: str, case: str, score: float | None, **kw: object
) -> BenchResultRecord:
    fields: dict[str, object] = {
        "run_id": run,
        "endpoint_id": endpoint,
        "case_key": f"s/{case}",
        "suite": "s",
        "case_id": case,
        "bucket": "medium",
        "task": "text.chat",
        "status": "graded",
        "score": score,
        "latency_ms": 10.0,
        "tokens_out": 3,
        "cost_usd": None,
        "created_ms": 1000,
        "detail": {},
    }
    fields.update(kw)
    return BenchResultRecord(**fields)  # type: ignore[arg-type]


def _store(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 'data' / 'rolecall.db'}")
    try:
        bench = storage.benchmarks
        bench.create_run(BenchRunRecord("r1", "full", "completed", 100, 200, None, 30, {}))
        bench.create_run(BenchRunRecord("r2", "quick", "completed", 300, 400, None, 3, {}))
        for case, passed in PASSES.items():
            for endpoint in ENDPOINTS:
                bench.put_result(_result("r1", endpoint, case, float(endpoint in passed)))
        # one endpoint only: tells nothing apart
        bench.put_result(_result("r1", "ep-a", "lonely", 1.0))
        # a failed case counts as 0, a skipped one not at all
        bench.put_result(_result("r1", "ep-a", "mixed", None, status="failed"))
        bench.put_result(_result("r1", "ep-b", "mixed", 1.0))
        bench.put_result(_result("r1", "ep-c", "mixed", None, status="skipped"))
        # a later run's result replaces the earlier one
        bench.put_result(_result("r2", "ep-a", "nobody", 1.0, created_ms=5000))
    finally:
        storage.close()


def test_cases_are_ranked_by_difficulty_and_flat_ones_marked(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    _store(tmp_path)
    out = rolecall(tmp_path, "bench", "items", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["case_id"]: r for r in json.loads(out.stdout)["items"]}
    assert set(rows) == {*PASSES, "lonely", "mixed"}
    order = [r["case_id"] for r in json.loads(out.stdout)["items"] if r["case_id"] in PASSES]
    assert order.index("best-only") < order.index("half") < order.index("most")
    assert rows["best-only"]["difficulty"] > rows["most"]["difficulty"]
    assert rows["everyone"]["separates"] is False
    assert rows["lonely"]["separates"] is False
    assert rows["lonely"]["endpoints"] == 1
    assert rows["half"]["separates"] is True
    # r2's later grade of ep-a on "nobody": it no longer fails everywhere
    assert rows["nobody"]["mean_score"] == 0.25
    assert rows["nobody"]["separates"] is True
    assert rows["mixed"]["endpoints"] == 2  # the skipped one is not counted
    assert rows["mixed"]["mean_score"] == 0.5  # the failed one counts as 0
    assert rows["everyone"]["task"] == "text.chat"


def test_the_table_marks_what_separates_none(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    _store(tmp_path)
    out = rolecall(tmp_path, "bench", "items")
    assert out.returncode == 0, out.stderr
    assert "(separates none)" in out.stdout
    assert "best-only" in out.stdout


def test_no_stored_results_is_an_empty_list(tmp_path: Path) -> None:
    out = rolecall(tmp_path, "bench", "items", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"items": []}
