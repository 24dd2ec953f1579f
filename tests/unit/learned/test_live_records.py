"""Learned-routing records from scored live answers: one per request (feedback over a shadow
grade, the latest of a kind), the prompt's text as its identity, the source said."""

from __future__ import annotations

from pathlib import Path

from rolecall.benchmark.results import BenchRunRecord
from rolecall.learned.matrix import load_matrix
from rolecall.learned.records import write_records
from rolecall.learned.store_records import (
    LIVE_PROMPT_ID,
    LiveOutcome,
    live_records,
    store_records,
)


def _o(
    request: str, source: str, score: float, at: int, *, prompt: str = "Q?", ep: str = "ep-a"
) -> LiveOutcome:
    return LiveOutcome(request, prompt, ep, score, source, at)  # type: ignore[arg-type]


def test_feedback_wins_over_a_grade_and_the_latest_feedback_counts() -> None:
    rows = live_records(
        [
            _o("r1", "live_judged", 0.9, 50),
            _o("r1", "feedback", 0.2, 10),  # a client's score
            _o("r1", "feedback", 0.6, 30),  # an operator's, given later: the current word
            _o("r1", "live_judged", 0.1, 90),  # a later grade does not override feedback
        ]
    )
    [row] = rows
    assert (row["score"], row["source"], row["model"], row["prompt"]) == (
        0.6,
        "feedback",
        "ep-a",
        "Q?",
    )
    assert row["prompt_id"].startswith(LIVE_PROMPT_ID)
    assert (row["split"], row["cost_usd"]) == (None, None)


def test_a_graded_request_without_feedback_is_its_grade() -> None:
    [row] = live_records([_o("r1", "live_judged", 0.3, 5), _o("r1", "live_judged", 0.7, 9)])
    assert (row["score"], row["source"]) == (0.7, "live_judged")


def test_the_same_text_is_one_prompt_scored_for_each_endpoint() -> None:
    rows = live_records(
        [
            _o("r1", "feedback", 1.0, 1, prompt="What is 2+2?", ep="ep-a"),
            _o("r2", "feedback", 0.0, 2, prompt="What  is 2+2?\n", ep="ep-b"),
            _o("r3", "feedback", 0.5, 3, prompt="Something else", ep="ep-a"),
        ]
    )
    ids = [r["prompt_id"] for r in rows]
    assert ids[0] == ids[1] != ids[2]  # whitespace does not make another prompt
    assert [r["model"] for r in rows] == ["ep-a", "ep-b", "ep-a"]


def test_scores_stay_in_range_and_store_records_puts_benchmarks_first() -> None:
    [row] = live_records([_o("r1", "feedback", 1.5, 1)])
    assert row["score"] == 1.0
    runs = [BenchRunRecord("r", "full", "completed", 1, 2, None, 0, {"cases": []})]
    assert store_records(runs, lambda _: [], [_o("r1", "live_judged", 0.4, 1)]) == live_records(
        [_o("r1", "live_judged", 0.4, 1)]
    )


def test_live_records_load_as_one_prompt_scored_for_each_endpoint(tmp_path: Path) -> None:
    rows = store_records(
        [],
        lambda _: [],
        [
            _o("r1", "feedback", 1.0, 1, prompt="What is 2+2?", ep="ep-a"),
            _o("r2", "live_judged", 0.25, 2, prompt="What is 2+2? ", ep="ep-b"),
        ],
    )
    path = tmp_path / "records.parquet"
    assert write_records(rows, path) == 2  # the in-memory ``source`` is not a file column
    matrix = load_matrix(path)
    assert (matrix.n, matrix.models) == (1, ["ep-a", "ep-b"])
    assert matrix.scores.tolist() == [[1.0, 0.25]]
