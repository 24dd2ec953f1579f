"""Importers on small real slices of /work/shared/data (copied into tmp so that the slices are small)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rolecall.learned import importers
from rolecall.learned.errors import RecordError

DATA = Path("/work/shared/data")
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared data not mounted")


def _head(src: Path, dst: Path, lines: int) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with src.open(encoding="utf-8", newline="") as fh:
        dst.write_text("".join(next(fh) for _ in range(lines)), encoding="utf-8")


def test_routellm_mmlu_csv_drops_contaminated(tmp_path: Path) -> None:
    root = tmp_path / "mmlu"
    (root / "responses").mkdir(parents=True)
    shutil.copy(DATA / "routellm/mmlu/responses/mmlu_anatomy.csv", root / "responses")
    contaminated = DATA / "routellm/mmlu/contaminated_prompts.jsonl"
    shutil.copy(contaminated, root)
    records = list(importers.routellm(root))
    assert len(records) == 2 * 135  # 135 anatomy questions × 2 models (none contaminated)
    assert {r["model"] for r in records} == {
        "gpt-4-1106-preview",
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
    }
    assert {r["score"] for r in records} == {0.0, 1.0}
    assert records[0]["task"] == "mmlu_anatomy"
    assert records[0]["prompt"].endswith("Answer:")
    # a contaminated prompt is dropped
    first = records[0]["prompt"]
    (root / "contaminated_prompts.jsonl").write_text(json.dumps({"eval_prompt": first}) + "\n")
    assert len(list(importers.routellm(root))) == 2 * 134


def test_routellm_gsm8k_slice(tmp_path: Path) -> None:
    root = tmp_path / "gsm8k"
    root.mkdir()
    shutil.copy(DATA / "routellm/gsm8k/contaminated_prompts.jsonl", root)
    src = (DATA / "routellm/gsm8k/gsm8k_responses.csv").read_text(encoding="utf-8")
    import csv
    import io

    rows = list(csv.reader(io.StringIO(src)))
    out = io.StringIO()
    csv.writer(out).writerows(rows[:41])  # header + 40 prompts
    (root / "gsm8k_responses.csv").write_text(out.getvalue(), encoding="utf-8")
    records = list(importers.routellm(root))
    models = {r["model"] for r in records}
    assert models == {
        "gpt-4-1106-preview",
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
    }  # not *_response
    assert 0 < len(records) < 80  # some of the first prompts are on the contaminated list


def test_llmrouter_indexes_scores_by_model_name(tmp_path: Path) -> None:
    root = tmp_path / "llmrouter"
    shutil.copytree(DATA / "llmrouter/query_data", root / "query_data")
    shutil.copytree(DATA / "llmrouter/llm_candidates", root / "llm_candidates")
    items = json.loads((DATA / "llmrouter/dcrouter_preprocessed/test.json").read_text())[:12]
    # the key order varies per row in the source: reverse one row's keys, values must follow names
    items[0]["scores"] = dict(reversed(list(items[0]["scores"].items())))
    (root / "dcrouter_preprocessed").mkdir()
    (root / "dcrouter_preprocessed/test.json").write_text(json.dumps(items))
    records = list(importers.llmrouter(root))
    assert len(records) == 12 * 9
    first = {r["model"]: r["score"] for r in records if r["prompt"] == items[0]["question"]}
    assert first == items[0]["scores"]
    assert all(r["split"] == "test" and r["task"] for r in records)  # task labels joined on text
    assert all(r["cost_usd"] > 0 for r in records)


def test_llmrouter_bad_score_names_file_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "train.json"
    path.write_text(
        json.dumps([{"question": "q", "scores": {"m": 0.5}}, {"question": "r", "scores": {"m": 2}}])
    )
    with pytest.raises(RecordError) as err:
        list(importers.llmrouter_scores(path, "train", {}, {}))
    assert err.value.location == ("row", 2)
    assert err.value.field == "scores.m"


def test_routerarena_slice(tmp_path: Path) -> None:
    root = tmp_path / "routerarena"
    for name in ("claude-3-haiku-20240307.jsonl", "gemini-2.0-flash-001.jsonl"):
        _head(DATA / "routerarena/cached_results" / name, root / "cached_results" / name, 25)
    records = list(importers.routerarena(root))
    assert len(records) == 50
    assert {r["model"] for r in records} == {"claude-3-haiku-20240307", "gemini-2.0-flash-001"}
    assert all(0 <= r["score"] <= 1 and r["cost_usd"] >= 0 for r in records)
    assert records[0]["task"] == records[0]["prompt_id"].rsplit("_", 1)[0]


def test_routerarena_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "cached_results" / "m.jsonl"
    path.parent.mkdir()
    path.write_text('{"global_index": "X_1", "question": "q", "llm_selected": "m"}\n')
    with pytest.raises(RecordError, match=r"m\.jsonl: line 1: evaluation_result: missing"):
        list(importers.routerarena(tmp_path))


def test_mt_bench_scores_are_rescaled_means(tmp_path: Path) -> None:
    records = list(importers.mt_bench(DATA / "routellm/mt_bench"))
    assert len(records) == 2 * 72  # 80 questions, 8 contaminated
    assert all(0.1 <= r["score"] <= 1.0 for r in records)


def test_detect_layouts() -> None:
    assert importers.detect(DATA / "llmrouter") == "llmrouter"
    assert importers.detect(DATA / "routerarena") == "routerarena"
    assert importers.detect(DATA / "routellm/mt_bench") == "mt_bench"
    assert importers.detect(DATA / "routellm/mmlu") == "routellm"
    with pytest.raises(RecordError, match="unknown source layout"):
        importers.detect(DATA / "catalog")
