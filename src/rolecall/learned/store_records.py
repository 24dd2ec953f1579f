"""Learned-routing records from rolecall's own store: every graded benchmark case, per endpoint.

A benchmark run keeps the cases it ran in its configuration (their messages) and one result per
(endpoint, case); each (case, endpoint) pair becomes one canonical record — ``prompt_id`` the
case key, ``prompt`` the case's conversation as text, ``model`` the endpoint id (what
``routing.learned.models`` maps), ``score`` the latest graded score, ``cost_usd`` its cost,
``task`` the case's task. Cases that were skipped or failed to grade are left out. Feedback and
shadow-judged answers cannot join: rolecall does not keep their prompts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rolecall.benchmark.results import BenchResultRecord, BenchRunRecord

__all__ = ["bench_records", "case_prompt"]


def case_prompt(case: dict[str, Any]) -> str:
    """A stored case's conversation as one text (its turns' contents, in order)."""
    messages = case.get("messages") or []
    return "\n\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))


def bench_records(
    runs: Iterable[BenchRunRecord], results_of: Callable[[str], Sequence[BenchResultRecord]]
) -> list[dict[str, Any]]:
    """Canonical records (without a split) of every graded case of ``runs``, the latest score
    of each (case, endpoint) pair."""
    prompts: dict[str, tuple[str, str]] = {}  # case key -> (prompt, task)
    latest: dict[tuple[str, str], BenchResultRecord] = {}
    for run in runs:
        for item in run.config.get("cases") or []:
            case = item.get("case") or {}
            key = f"{item.get('suite')}/{case.get('id')}"
            prompts[key] = (case_prompt(case), str(case.get("task") or ""))
        for result in results_of(run.run_id):
            if result.status != "graded" or result.score is None:
                continue
            pair = (result.case_key, result.endpoint_id)
            held = latest.get(pair)
            if held is None or result.created_ms >= held.created_ms:
                latest[pair] = result
    rows = []
    for (case_key, endpoint_id), result in sorted(latest.items()):
        prompt, task = prompts.get(case_key, ("", ""))
        if not prompt:
            continue
        rows.append(
            {
                "prompt_id": case_key,
                "prompt": prompt,
                "model": endpoint_id,
                "score": min(1.0, max(0.0, float(result.score or 0.0))),
                "cost_usd": result.cost_usd,
                "task": task or result.task,
                "split": None,
            }
        )
    return rows
