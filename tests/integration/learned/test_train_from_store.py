"""`rolecall lab train --from-store`: records built from the deployment's own graded benchmark
cases (SQLite and PostgreSQL), a router evaluated against the best single endpoint on held-out
cases, and the artifact written only when it does no harm there."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rolecall.benchmark.results import BenchResultRecord, BenchRunRecord
from rolecall.cli import app
from rolecall.learned.deploy import LearnedQuality
from rolecall.storage.sql import SqlStorage

TOPICS = {
    "math": ("Compute the sum of {n} and {m}, then multiply by {k}.", {"ep-a": 1.0, "ep-b": 0.0}),
    "code": (
        "Write a Python function that reverses list number {n} ({m}, {k}).",
        {"ep-a": 0.0, "ep-b": 1.0},
    ),
}


def _store_runs(storage: SqlStorage, *, cases_per_topic: int = 30, steady: float = 0.5) -> None:
    """ep-a is right on math, ep-b on code, ep-c scores ``steady`` on everything."""
    now = time.time_ns() // 1_000_000
    cases, results = [], []
    for topic, (template, scores) in TOPICS.items():
        for i in range(cases_per_topic):
            case_id = f"{topic}-{i}"
            text = template.format(n=i, m=i * 7 % 13, k=i % 5 + 2)
            cases.append(
                {
                    "suite": "own",
                    "case": {
                        "id": case_id,
                        "task": topic,
                        "messages": [{"role": "user", "content": text}],
                    },
                }
            )
            for endpoint_id, score in {**scores, "ep-c": steady}.items():
                results.append(
                    BenchResultRecord(
                        "run-1",
                        endpoint_id,
                        f"own/{case_id}",
                        "own",
                        case_id,
                        "medium",
                        topic,
                        "graded",
                        score,
                        100.0,
                        10,
                        0.001,
                        now,
                    )
                )
    config = {"endpoints": ["ep-a", "ep-b", "ep-c"], "cases": cases}
    storage.benchmarks.create_run(
        BenchRunRecord("run-1", "full", "completed", now, now, None, len(cases), config)
    )
    for result in results:
        storage.benchmarks.put_result(result)
    skipped = BenchResultRecord(
        "run-1",
        "ep-a",
        "own/skipped",
        "own",
        "skipped",
        "medium",
        "math",
        "skipped",
        None,
        None,
        0,
        None,
        now,
    )
    storage.benchmarks.put_result(skipped)


def _train(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> dict:
    monkeypatch.setenv("ROLECALL_DATABASE_URL", db_url)
    monkeypatch.setenv("ROLECALL_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["lab", "train", "--from-store", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_router_that_beats_the_best_single_endpoint_is_deployed(
    storage: SqlStorage, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_runs(storage)
    out = tmp_path / "router.npz"
    summary = _train(tmp_path, db_url, monkeypatch, "--router", "knn", "--out", str(out))
    assert summary["records"] == 3 * 60
    assert sorted(summary["endpoints"]) == ["ep-a", "ep-b", "ep-c"]
    held_out = summary["held_out"]
    assert held_out["knn"] > held_out["best_single"] + 0.2, held_out
    assert summary["deployed"] is True
    quality = LearnedQuality.load(out)
    assert quality.artifact_id == summary["artifact_id"]
    math = quality.estimates("Compute the sum of 40 and 2, then multiply by 3.", summary["models"])
    code = quality.estimates(
        "Write a Python function that reverses list number 99.", summary["models"]
    )
    assert math["ep-a"].value > math["ep-b"].value
    assert code["ep-b"].value > code["ep-a"].value


def test_a_router_that_would_do_harm_is_not_deployed(
    storage: SqlStorage, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_runs(storage, steady=0.9)  # ep-c is best for every case: picking at random harms
    out = tmp_path / "router.npz"
    summary = _train(tmp_path, db_url, monkeypatch, "--router", "random", "--out", str(out))
    assert summary["deployed"] is False
    assert "not deployed" in summary["reason"]
    assert not out.exists()


def test_an_empty_store_says_what_to_do(
    storage: SqlStorage, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLECALL_DATABASE_URL", db_url)
    monkeypatch.setenv("ROLECALL_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["lab", "train", "--from-store"])
    assert result.exit_code == 2
    assert "run 'rolecall bench run' first" in result.output
    missing = CliRunner().invoke(app, ["lab", "train", "--from-store", "--records", "x.jsonl"])
    assert missing.exit_code == 2
    assert "--records x.jsonl: no such file or folder" in missing.output
    neither = CliRunner().invoke(app, ["lab", "train"])
    assert neither.exit_code == 2
    assert "give one --records FILE, or --from-store" in neither.output
