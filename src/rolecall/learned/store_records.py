"""Learned-routing records from rolecall's own store: graded benchmark cases and, where prompt
capture kept the prompt, scored live answers.

A benchmark run keeps the cases it ran in its configuration (their messages) and one result per
(endpoint, case); each (case, endpoint) pair becomes one canonical record — ``prompt_id`` the
case key, ``prompt`` the case's conversation as text, ``model`` the endpoint id (what
``routing.learned.models`` maps), ``score`` the latest graded score, ``cost_usd`` its cost,
``task`` the case's task. Cases that were skipped or failed to grade are left out.

A live request whose prompt was captured (``routing.prompt_capture``) and whose answer was scored
— feedback with a score, or a shadow grade — becomes one record too (`live_records`): the prompt
as the same kind of text, the endpoint that answered, the score. Each record says where it came
from (``source``: ``benchmark``, ``feedback`` or ``live_judged``; the record files keep only the
canonical columns).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from rolecall.benchmark.results import BenchResultRecord, BenchRunRecord
from rolecall.observe.prompt_capture import conversation_text

__all__ = [
    "LIVE_PROMPT_ID",
    "LiveOutcome",
    "bench_records",
    "case_prompt",
    "live_records",
    "store_records",
]

LIVE_PROMPT_ID: Final = "live/"  # prefix of a live record's prompt id: never a case key
LiveSource = Literal["feedback", "live_judged"]


@dataclass(frozen=True, slots=True)
class LiveOutcome:
    """A captured prompt and one score of the answer its request got: ``feedback`` (a giver's
    score, 0 to 1 as given) or ``live_judged`` (a shadow grade, 0 to 1); ``at_ms`` is when the
    score was given (feedback: last replaced)."""

    request_id: str
    prompt: str
    endpoint_id: str
    score: float
    source: LiveSource
    at_ms: int


def case_prompt(case: dict[str, Any]) -> str:
    """A stored case's conversation as one text (its turns' texts, in order)."""
    return conversation_text(case.get("messages") or [])[0]


def store_records(
    runs: Iterable[BenchRunRecord],
    results_of: Callable[[str], Sequence[BenchResultRecord]],
    live: Iterable[LiveOutcome],
) -> list[dict[str, Any]]:
    """Every record the store holds: the benchmark cases' (`bench_records`), then the scored
    live answers' (`live_records`)."""
    return [*bench_records(runs, results_of), *live_records(live)]


def live_records(outcomes: Iterable[LiveOutcome]) -> list[dict[str, Any]]:
    """One canonical record per request with a scored answer (without a split).

    A request scored more than once counts once: feedback over a shadow grade (a person who
    read the answer over a judge that guessed), and of the same kind the latest (a giver's new
    score replaces the old one, so the latest giver's word is the current one). The prompt id
    is a hash of the prompt's text, so the same prompt answered by several endpoints is one
    prompt scored for each (duplicates of one pair are averaged when the matrix is built)."""
    from rolecall.learned.matrix import prompt_hash  # numpy: only training reads records

    chosen: dict[str, LiveOutcome] = {}
    for outcome in outcomes:
        held = chosen.get(outcome.request_id)
        if held is None or _rank(outcome) > _rank(held):
            chosen[outcome.request_id] = outcome
    return [
        {
            "prompt_id": LIVE_PROMPT_ID + prompt_hash(o.prompt),
            "prompt": o.prompt,
            "model": o.endpoint_id,
            "score": min(1.0, max(0.0, float(o.score))),
            "cost_usd": None,
            "task": None,
            "split": None,
            "source": o.source,
        }
        for o in sorted(chosen.values(), key=lambda o: (o.at_ms, o.request_id))
    ]


def _rank(outcome: LiveOutcome) -> tuple[bool, int]:
    return outcome.source == "feedback", outcome.at_ms


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
                "source": "benchmark",
            }
        )
    return rows
