"""`rolecall lab train --from-store --records ...`: public records join the training part only.

The store holds graded benchmark cases of two endpoints (SQLite and PostgreSQL); the public
records come in a RouteLLM responses folder and a canonical JSONL file, written here in those
formats. Their models are matched to the endpoints by upstream model name (letter case and a
provider prefix ignored; the run's recorded model, else the inventory's), records of other models
are ignored and counted, a public prompt that is one of the held-out store cases is dropped, and
the held-out evaluation is over the store's own cases only."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from rolecall.benchmark.results import BenchResultRecord, BenchRunRecord
from rolecall.cli import app
from rolecall.learned.matrix import hashed_split
from rolecall.storage.sql import SqlStorage

GPT4 = "gpt-4-1106-preview"
MIXTRAL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
TEST_FRACTION = 0.25
TOPICS = {  # ep-a is right on arithmetic, ep-b on code
    "math": ("Compute {n} plus {m}, then multiply the result by {k}.", {"ep-a": 1.0, "ep-b": 0.0}),
    "code": (
        "Write a Python function that sorts list {n} by key {m} ({k}).",
        {"ep-a": 0.0, "ep-b": 1.0},
    ),
}


def _store_prompts() -> dict[str, str]:
    """Case key → prompt of every stored case."""
    return {
        f"own/{topic}-{i}": template.format(n=i, m=i * 7 % 13, k=i % 5 + 2)
        for topic, (template, _) in TOPICS.items()
        for i in range(20)
    }


def _store(storage: SqlStorage) -> None:
    now = time.time_ns() // 1_000_000
    cases, results = [], []
    for key, prompt in _store_prompts().items():
        case_id = key.split("/", 1)[1]
        topic = case_id.split("-")[0]
        cases.append(
            {
                "suite": "own",
                "case": {
                    "id": case_id,
                    "task": topic,
                    "messages": [{"role": "user", "content": prompt}],
                },
            }
        )
        for endpoint_id, score in TOPICS[topic][1].items():
            results.append(
                BenchResultRecord(
                    "run-1",
                    endpoint_id,
                    key,
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
    # the run recorded ep-a's model (letter case differs from the public name); ep-b's comes
    # from the inventory file
    meta = {"ep-a": {"local": False, "model": "GPT-4-1106-Preview"}}
    config = {"endpoints": ["ep-a", "ep-b"], "endpoint_meta": meta, "cases": cases}
    storage.benchmarks.create_run(
        BenchRunRecord("run-1", "full", "completed", now, now, None, len(cases), config)
    )
    for result in results:
        storage.benchmarks.put_result(result)


def _inventory(tmp_path: Path) -> Path:
    path = tmp_path / "rolecall.yaml"
    inventory = {
        "providers": {"p": {"kind": "openai_compatible", "base_url": "http://127.0.0.1:9/v1"}},
        "endpoints": [
            # the run's record wins over this for ep-a: its scores are of what it served then
            {"provider": "p", "model": "something-else", "id": "ep-a"},
            {"provider": "p", "model": "Mixtral-8x7B-Instruct-v0.1", "id": "ep-b"},
        ],
    }
    path.write_text(yaml.safe_dump(inventory))
    return path


PUBLIC_PROMPTS = [
    f"Public question {i}: add {i} and {i + 3}, then sort the digits." for i in range(12)
]


def _routellm_folder(root: Path) -> Path:
    """RouteLLM's GSM8K layout: a prompt column and one True/False column per model."""
    folder = root / "routellm" / "gsm8k"
    folder.mkdir(parents=True)
    with (folder / "gsm8k_responses.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["prompt", MIXTRAL, GPT4, f"{GPT4}_response"])
        for i, prompt in enumerate(PUBLIC_PROMPTS):
            writer.writerow([prompt, str(i % 2 == 0), str(i % 2 == 1), "an answer"])
    return root / "routellm"


def _canonical_file(root: Path, held_out_prompt: str) -> Path:
    def rec(prompt_id: str, prompt: str, model: str, score: float) -> dict[str, Any]:
        return {"prompt_id": prompt_id, "prompt": prompt, "model": model, "score": score}

    rows = [
        # a model no endpoint serves: ignored and counted
        *(rec(f"c/{i}", f"Other {i}", "claude-2", 1.0) for i in range(5)),
        # the text of a held-out store case: dropped, so nothing leaks into the evaluation
        rec("c/leak", held_out_prompt, GPT4, 1.0),
        rec("c/leak", held_out_prompt, MIXTRAL, 0.0),
        # scored for one endpoint's model only: cannot train a full-matrix predictor
        rec("c/half", "Only one model answered this.", GPT4, 1.0),
    ]
    path = root / "public.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_public_records_join_training_and_the_held_out_part_stays_the_stores(
    storage: SqlStorage, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(storage)
    prompts = _store_prompts()
    held_out = [p for p in prompts.values() if hashed_split(p, TEST_FRACTION) == "test"]
    assert held_out, "the hashed split holds no store case out"
    monkeypatch.setenv("ROLECALL_DATABASE_URL", db_url)
    monkeypatch.setenv("ROLECALL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ROLECALL_CONFIG", str(_inventory(tmp_path)))
    args = ["lab", "train", "--from-store", "--router", "knn", "--out", str(tmp_path / "r.npz")]
    args += ["--records", str(_routellm_folder(tmp_path))]
    args += ["--records", str(_canonical_file(tmp_path, held_out[0]))]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])

    public = summary["public"]
    assert public["records_read"] == 2 * len(PUBLIC_PROMPTS) + 8
    assert public["prompts_joined"] == len(PUBLIC_PROMPTS)
    assert public["records_joined"] == 2 * len(PUBLIC_PROMPTS)
    assert public["ignored_records"] == 5
    assert public["ignored_models"] == ["claude-2"]
    assert public["dropped_held_out_overlap"] == 2
    assert public["prompts_incomplete"] == 1
    assert "public records: 24 of 32 joined the training part" in result.stderr
    # the evaluation is over the store's held-out cases only; training has the rest and the public
    assert sorted(summary["endpoints"]) == ["ep-a", "ep-b"]
    assert summary["n_test"] == len(held_out)
    assert summary["n_train"] == len(prompts) - len(held_out) + len(PUBLIC_PROMPTS)


def test_without_public_records_the_summary_is_unchanged(
    storage: SqlStorage, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(storage)
    monkeypatch.setenv("ROLECALL_DATABASE_URL", db_url)
    monkeypatch.setenv("ROLECALL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ROLECALL_CONFIG", str(tmp_path / "absent.yaml"))
    out = tmp_path / "r.npz"
    result = CliRunner().invoke(
        app, ["lab", "train", "--from-store", "--router", "knn", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert "public" not in summary
    assert summary["n_train"] + summary["n_test"] == len(_store_prompts())
