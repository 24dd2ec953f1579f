"""Canonical records: round trips through JSONL, CSV and Parquet; errors name file, row and field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rolecall.learned.errors import RecordError
from rolecall.learned.export import benchmark_records
from rolecall.learned.matrix import load_matrix
from rolecall.learned.records import count_records, write_records

ROWS = [
    {"prompt_id": "p1", "prompt": "What is 2+2?", "model": "a", "score": 1.0, "task": "math"},
    {"prompt_id": "p1", "prompt": "What is 2+2?", "model": "b", "score": 0.0, "task": "math"},
    {
        "prompt_id": "p2",
        "prompt": "Capital of France?",
        "model": "a",
        "score": 0.5,
        "cost_usd": 0.01,
    },
    {
        "prompt_id": "p2",
        "prompt": "Capital of France?",
        "model": "b",
        "score": 1.0,
        "cost_usd": 0.03,
    },
    {
        "prompt_id": "p2",
        "prompt": "Capital of France?",
        "model": "b",
        "score": 0.0,
        "cost_usd": 0.01,
    },
]


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_round_trip_and_pivot(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"records{suffix}"
    assert write_records(ROWS, path) == 5
    assert count_records(path) == 5
    matrix = load_matrix(path)
    assert matrix.prompt_ids == ["p1", "p2"]
    assert matrix.models == ["a", "b"]
    # duplicate (prompt, model) records are averaged
    np.testing.assert_allclose(matrix.scores, [[1.0, 0.0], [0.5, 0.5]])
    np.testing.assert_allclose(matrix.costs[1], [0.01, 0.02])
    assert np.isnan(matrix.costs[0]).all()
    assert matrix.tasks == ["math", None]
    np.testing.assert_allclose(matrix.model_cost(), [0.01, 0.02])


def test_missing_cells_are_nan_and_complete_drops_them(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_records(ROWS[:3], path)
    matrix = load_matrix(path)
    assert np.isnan(matrix.scores[1, 1])
    assert matrix.complete().prompt_ids == ["p1"]


def test_split_filter(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    rows = [dict(r, split="train" if r["prompt_id"] == "p1" else "test") for r in ROWS]
    write_records(rows, path)
    assert load_matrix(path, "test").prompt_ids == ["p2"]
    assert load_matrix(path).splits == ["train", "test"]


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_bad_score_names_the_line_and_field(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [dict(r) for r in ROWS]
    rows[3]["score"] = 7
    path = _jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(RecordError) as err:
        load_matrix(path)
    assert err.value.location == ("line", 4)
    assert err.value.field == "score"
    assert str(path) in str(err.value)
    assert "[0, 1]" in str(err.value)


def test_bad_csv_row_and_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("prompt_id,prompt,model,score\np1,hi,a,1\np1,hi,b,oops\n")
    with pytest.raises(RecordError) as err:
        count_records(path)
    assert (err.value.location, err.value.field) == (("row", 2), "score")
    path.write_text("prompt_id,prompt,score\np1,hi,1\n")
    with pytest.raises(RecordError, match="model: required column missing"):
        count_records(path)


def test_bad_split_and_unknown_suffix(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "s.jsonl", [dict(ROWS[0], split="holdout")])
    with pytest.raises(RecordError, match="split: must be train, val or test"):
        count_records(path)
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(RecordError, match=r"use \.jsonl, \.csv or \.parquet"):
        count_records(tmp_path / "x.txt")


def test_benchmark_export(tmp_path: Path) -> None:
    rows = [
        {"prompt": "Sum 1+1", "endpoint_id": "local-qwen", "quality": 1.0, "case_id": "c1"},
        {"prompt": "Sum 1+1", "model": "smol", "score": 0, "suite_id": "arith", "cost_usd": 0.0},
    ]
    out = list(benchmark_records(rows))
    assert out[0]["prompt_id"] == "c1"
    assert out[0]["model"] == "local-qwen"
    assert out[1]["task"] == "arith"
    assert out[1]["score"] == 0.0
    path = tmp_path / "bench.parquet"
    write_records(out, path)
    assert count_records(path) == 2
    with pytest.raises(RecordError, match="row 1: score"):
        list(benchmark_records([{"prompt": "x", "model": "m", "score": 1.5}]))
    with pytest.raises(RecordError, match="row 1: prompt"):
        list(benchmark_records([{"model": "m", "score": 1}]))
