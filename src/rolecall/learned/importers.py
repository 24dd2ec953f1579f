"""Importers from the public routing-data formats into canonical records (plain dicts, streamed).

Formats (docs/learned.md §Importers): RouteLLM per-subject MMLU CSVs, the GSM8K responses CSV and
MT-Bench judgements; LLMRouter ``dcrouter_preprocessed`` score JSON joined with its query JSONL for task
labels (the key order inside ``scores`` varies per row: always index by model name); RouterArena cached
result JSONL (one file per model). Every error names the file, the row/line and the field.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rolecall.learned.errors import RecordError
from rolecall.learned.matrix import hashed_split, normalise_prompt, prompt_hash

Record = dict[str, Any]
# Token estimate for list-price costs when the source has no token counts (documented in learned.md).
CHARS_PER_TOKEN = 4.0
ASSUMED_OUTPUT_TOKENS = 256
# RouterArena's METEOR scores can be slightly negative; values this close to [0, 1] are clipped.
ARENA_SCORE_SLACK = 0.1


def _bool_score(value: str, file: Path, row: int, field: str) -> float:
    text = value.strip().lower()
    if text in ("true", "1", "1.0"):
        return 1.0
    if text in ("false", "0", "0.0"):
        return 0.0
    raise RecordError(str(file), ("row", row), field, f"expected True/False, got {value!r}")


def _contaminated(path: Path) -> set[str]:
    """RouteLLM's contaminated eval prompts (dropped, as RouteLLM does)."""
    if not path.is_file():
        return set()
    out = set()
    for n, line in _lines(path):
        if line.strip():
            out.add(normalise_prompt(_json_line(line, path, n).get("eval_prompt", "")))
    return out


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered lines split on newlines only (JSON strings may hold U+2028, which splitlines() splits)."""
    with path.open(encoding="utf-8", newline="") as fh:
        for n, line in enumerate(fh, 1):
            yield n, line.rstrip("\r\n")


def _json_line(line: str, file: Path, n: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordError(str(file), ("line", n), "line", f"not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise RecordError(str(file), ("line", n), "line", "expected a JSON object")
    return value


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    csv.field_size_limit(sys.maxsize)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "prompt" not in reader.fieldnames:
            raise RecordError(str(path), None, "prompt", "CSV header needs a 'prompt' column")
        yield from enumerate(reader, 1)


def routellm_csv(path: Path, task: str, contaminated: set[str]) -> Iterator[Record]:
    """A RouteLLM responses CSV: ``prompt`` plus one boolean correctness column per model."""
    for row_no, row in _csv_rows(path):
        prompt = row["prompt"]
        if normalise_prompt(prompt) in contaminated:
            continue
        models = [k for k in row if k != "prompt" and not k.endswith("_response")]
        pid = f"{task}/{prompt_hash(prompt)}"
        for model in models:
            score = _bool_score(row[model] or "", path, row_no, model)
            yield {"prompt_id": pid, "prompt": prompt, "model": model, "score": score, "task": task}


def routellm(root: Path) -> Iterator[Record]:
    """RouteLLM's eval folder: ``mmlu/responses/*.csv`` and/or ``gsm8k/gsm8k_responses.csv``."""
    mmlu = root if (root / "responses").is_dir() else root / "mmlu"
    if (mmlu / "responses").is_dir():
        dropped = _contaminated(mmlu / "contaminated_prompts.jsonl")
        for path in sorted((mmlu / "responses").glob("mmlu_*.csv")):
            yield from routellm_csv(path, path.stem, dropped)
    gsm8k = root if (root / "gsm8k_responses.csv").is_file() else root / "gsm8k"
    if (gsm8k / "gsm8k_responses.csv").is_file():
        dropped = _contaminated(gsm8k / "contaminated_prompts.jsonl")
        yield from routellm_csv(gsm8k / "gsm8k_responses.csv", "gsm8k", dropped)


def mt_bench(root: Path) -> Iterator[Record]:
    """MT-Bench: prompt = turn-1 question; score = mean GPT-4 judge score over both turns / 10."""
    questions = {}
    qfile = root / "question.jsonl"
    for n, line in _lines(qfile):
        if line.strip():
            q = _json_line(line, qfile, n)
            questions[str(q["question_id"])] = (q["turns"][0], q.get("category"))
    dropped = _contaminated(root / "contaminated_prompts.jsonl")
    totals: dict[tuple[str, str], list[float]] = {}
    jfile = root / "judgements.jsonl"
    for n, line in _lines(jfile):
        if not line.strip():
            continue
        j = _json_line(line, jfile, n)
        score = _number(j.get("score"), jfile, n, "score")
        if not 1 <= score <= 10:
            raise RecordError(str(jfile), ("line", n), "score", f"judge score {score} not in 1..10")
        totals.setdefault((str(j["question_id"]), str(j["model"])), []).append(score / 10.0)
    for (qid, model), values in sorted(totals.items()):
        prompt, category = questions[qid]
        if normalise_prompt(prompt) not in dropped:
            yield {
                "prompt_id": f"mt_bench/{qid}",
                "prompt": prompt,
                "model": model,
                "score": sum(values) / len(values),
                "task": f"mt_bench/{category}" if category else "mt_bench",
            }


def _number(value: Any, file: Path, n: int, field: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise RecordError(
            str(file), ("line", n), field, f"expected a number, got {value!r}"
        ) from None
    if not math.isfinite(out):
        raise RecordError(str(file), ("line", n), field, "expected a finite number")
    return out


def _llmrouter_tasks(query_dir: Path) -> dict[str, str]:
    tasks: dict[str, str] = {}
    for path in sorted(query_dir.glob("*.jsonl")):
        for n, line in _lines(path):
            if line.strip():
                q = _json_line(line, path, n)
                tasks.setdefault(q["query"], str(q["task_name"]))
    return tasks


def _llmrouter_prices(path: Path) -> dict[str, tuple[float, float]]:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {k: (float(v["input_price"]), float(v["output_price"])) for k, v in data.items()}


def estimated_cost(prompt: str, prices: tuple[float, float]) -> float:
    """List-price cost (USD) of one call: estimated prompt tokens + an assumed answer length."""
    tokens_in = math.ceil(len(prompt) / CHARS_PER_TOKEN)
    return (prices[0] * tokens_in + prices[1] * ASSUMED_OUTPUT_TOKENS) / 1e6


def llmrouter(root: Path) -> Iterator[Record]:
    """LLMRouter: ``dcrouter_preprocessed/{train,test}.json`` + task labels + list prices."""
    tasks = _llmrouter_tasks(root / "query_data")
    prices = _llmrouter_prices(root / "llm_candidates" / "default_llm.json")
    for split in ("train", "test"):
        path = root / "dcrouter_preprocessed" / f"{split}.json"
        if path.is_file():
            yield from llmrouter_scores(path, split, tasks, prices)


def llmrouter_scores(
    path: Path, split: str, tasks: dict[str, str], prices: dict[str, tuple[float, float]]
) -> Iterator[Record]:
    data = json.loads(path.read_text())
    if not isinstance(data, list):
        raise RecordError(str(path), None, "file", "expected a JSON list of {question, scores}")
    for n, item in enumerate(data, 1):
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            raise RecordError(str(path), ("row", n), "question", "missing or not a string")
        scores = item.get("scores")
        if not isinstance(scores, dict) or not scores:
            raise RecordError(str(path), ("row", n), "scores", "expected an object {model: score}")
        prompt = item["question"]
        for model, value in scores.items():  # keyed by name: the key order varies per row
            score = _number(value, path, n, f"scores.{model}")
            if not 0 <= score <= 1:
                raise RecordError(str(path), ("row", n), f"scores.{model}", "not in [0, 1]")
            cost = estimated_cost(prompt, prices[model]) if model in prices else None
            yield {
                # the source's own split is kept (its published figures use it); the id carries the
                # split because some test questions repeat training ones (see docs/learned.md)
                "prompt_id": f"{split}/{prompt_hash(prompt)}",
                "prompt": prompt,
                "model": model,
                "score": score,
                "cost_usd": cost,
                "task": tasks.get(prompt),
                "split": split,
            }


def routerarena(root: Path) -> Iterator[Record]:
    """RouterArena ``cached_results/<model>.jsonl``: score and per-prompt USD cost per model."""
    folder = root / "cached_results" if (root / "cached_results").is_dir() else root
    for path in sorted(folder.glob("*.jsonl")):
        for n, line in _lines(path):
            if line.strip():
                yield _arena_record(_json_line(line, path, n), path, n)


def _arena_record(row: dict[str, Any], path: Path, n: int) -> Record:
    for field in ("global_index", "question", "llm_selected", "evaluation_result"):
        if field not in row:
            raise RecordError(str(path), ("line", n), field, "missing")
    result = row["evaluation_result"]
    if not isinstance(result, dict):
        raise RecordError(str(path), ("line", n), "evaluation_result", "expected an object")
    score = _number(result.get("score"), path, n, "evaluation_result.score")
    if not -ARENA_SCORE_SLACK <= score <= 1 + ARENA_SCORE_SLACK:
        raise RecordError(
            str(path), ("line", n), "evaluation_result.score", f"{score} not in [0, 1]"
        )
    score = min(max(score, 0.0), 1.0)  # METEOR can dip slightly below 0 (penalty term)
    cost = result.get("inference_cost")
    index = str(row["global_index"])
    return {
        "prompt_id": index,
        "prompt": row["question"],
        "model": str(row["llm_selected"]),
        "score": score,
        "cost_usd": None if cost is None else _number(cost, path, n, "inference_cost"),
        "task": index.rsplit("_", 1)[0],
    }


IMPORTERS: dict[str, Callable[[Path], Iterator[Record]]] = {
    "routellm": routellm,
    "mt_bench": mt_bench,
    "llmrouter": llmrouter,
    "routerarena": routerarena,
}


def detect(path: Path) -> str:
    """Guess the source format of a folder (or a canonical record file)."""
    if path.is_file():
        return "canonical"
    if (path / "dcrouter_preprocessed").is_dir():
        return "llmrouter"
    if (path / "cached_results").is_dir():
        return "routerarena"
    if (path / "judgements.jsonl").is_file():
        return "mt_bench"
    if any((path / p).exists() for p in ("mmlu", "gsm8k", "responses", "gsm8k_responses.csv")):
        return "routellm"
    raise RecordError(
        str(path), None, "path", f"unknown source layout; pass --format ({', '.join(IMPORTERS)})"
    )


def with_splits(records: Iterator[Record], test_fraction: float, seed: int) -> Iterator[Record]:
    """Fill a missing ``split`` by hashing the prompt text (leakage-free: per prompt, not per row)."""
    for rec in records:
        if not rec.get("split"):
            rec["split"] = hashed_split(rec["prompt"], test_fraction, seed)
        yield rec
