"""Export rolecall's own benchmark results as canonical performance records.

The benchmark package produces one row per (case, endpoint) outcome; this takes plain rows so that it
does not depend on that package's classes. Accepted keys per row: ``prompt`` (required), ``model`` (or
``endpoint_id``), ``score`` (or ``quality``, in [0, 1]), optional ``prompt_id`` (or ``case_id``),
``cost_usd``, ``task`` (or ``suite_id``) and ``split``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from rolecall.learned.errors import RecordError
from rolecall.learned.matrix import prompt_hash

_ALIASES = {
    "model": ("model", "endpoint_id"),
    "score": ("score", "quality"),
    "prompt_id": ("prompt_id", "case_id"),
    "task": ("task", "suite_id"),
}


def _pick(row: Mapping[str, Any], field: str) -> Any:
    for key in _ALIASES.get(field, (field,)):
        if row.get(key) is not None:
            return row[key]
    return None


def benchmark_records(
    rows: Iterable[Mapping[str, Any]], source: str = "benchmark"
) -> Iterator[dict[str, Any]]:
    """Canonical records from benchmark result rows; errors name the row (1-based) and the field."""
    for n, row in enumerate(rows, 1):
        prompt = row.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise RecordError(source, ("row", n), "prompt", "missing: export needs the prompt text")
        model = _pick(row, "model")
        if not model:
            raise RecordError(source, ("row", n), "model", "missing (give model or endpoint_id)")
        score = _pick(row, "score")
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
            raise RecordError(
                source, ("row", n), "score", f"need a number in [0, 1], got {score!r}"
            )
        cost = row.get("cost_usd")
        if cost is not None and (not isinstance(cost, int | float) or cost < 0):
            raise RecordError(source, ("row", n), "cost_usd", f"need a number >= 0, got {cost!r}")
        pid = _pick(row, "prompt_id")
        yield {
            "prompt_id": str(pid) if pid is not None else prompt_hash(prompt),
            "prompt": prompt,
            "model": str(model),
            "score": float(score),
            "cost_usd": None if cost is None else float(cost),
            "task": None if _pick(row, "task") is None else str(_pick(row, "task")),
            "split": row.get("split"),
        }
