"""Splits are leakage-free: per prompt text, deterministic, and disjoint; CV folds cover train only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rolecall.learned import importers
from rolecall.learned.lab import import_records, load_pair
from rolecall.learned.matrix import hashed_split, kfold_indices, normalise_prompt
from rolecall.learned.records import write_records
from rolecall.learned.scaling import select_group


def test_hashed_split_depends_on_the_text_only() -> None:
    assert hashed_split("What is 2+2?", 0.3) == hashed_split("What  is 2+2?\n", 0.3)
    share = np.mean([hashed_split(f"prompt {i}", 0.25) == "test" for i in range(4000)])
    assert share == pytest.approx(0.25, abs=0.03)
    assert hashed_split("x", 0.0) == "train"
    assert hashed_split("x", 1.0) == "test"


def test_every_record_of_a_prompt_lands_in_one_split() -> None:
    rows = [
        {"prompt_id": f"{i % 50}-{m}", "prompt": f"question {i % 50}", "model": m, "score": 1.0}
        for i in range(200)
        for m in ("a", "b")
    ]
    out = list(importers.with_splits(iter(rows), 0.5, seed=3))
    by_text: dict[str, set[str]] = {}
    for r in out:
        by_text.setdefault(r["prompt"], set()).add(r["split"])
    assert all(len(s) == 1 for s in by_text.values())
    assert {s for v in by_text.values() for s in v} == {"train", "test"}


def test_imported_train_and_test_files_share_no_prompt(tmp_path: Path) -> None:
    rows = [
        {"prompt_id": f"id{i}-{m}", "prompt": f"Q{i % 120}", "model": m, "score": float(i % 2)}
        for i in range(480)
        for m in ("a", "b")
    ]  # the same text under several ids
    src = tmp_path / "src.jsonl"
    write_records(rows, src)
    summary = import_records(src, tmp_path / "out.parquet", test_fraction=0.3)
    assert summary["splits"]["train"]
    assert summary["splits"]["test"]
    train, test = load_pair(tmp_path / "out.train.parquet", tmp_path / "out.test.parquet")
    seen = {normalise_prompt(p) for p in train.prompts}
    assert not any(normalise_prompt(p) in seen for p in test.prompts)


def test_kfold_is_a_disjoint_cover() -> None:
    folds = kfold_indices(103, 5, seed=1)
    joined = np.concatenate(folds)
    assert sorted(joined.tolist()) == list(range(103))
    assert len(joined) == len(set(joined.tolist()))


def test_groups_are_chosen_from_train_scores_only() -> None:
    rng = np.random.default_rng(0)
    rates = np.array([0.15, 0.3, 0.45, 0.6, 0.75, 0.85])
    train = (rng.random((400, 6)) < rates).astype(float)
    assert select_group(train, 2, "all_strong") == [4, 5]
    assert select_group(train, 2, "all_weak") == [0, 1]
    group = select_group(train, 3, "strong_to_weak")
    assert len(group) == 3
    assert len(set(group)) == 3
    # the same train matrix gives the same groups whatever the test data is
    assert select_group(train, 3, "strong_to_weak") == group
