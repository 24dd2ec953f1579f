"""Each stored benchmark case's statistics (`rolecall.benchmark.items`), for `rolecall bench items`.

Per suite, every endpoint's latest result on each case counts once: a graded score as it is, a
failed case as 0 (as the benchmark's reports count it), a skipped one not at all. Cases no two
endpoints were graded on, or on which they all scored the same, are flagged: they did not tell
the endpoints apart, and an adaptive run takes them last.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from rolecall.benchmark.items import fit_items
from rolecall.benchmark.ports import BenchmarkStore
from rolecall.benchmark.results import BenchResultRecord

__all__ = [
    "endpoint_scores",
    "item_rows",
    "latest_scores",
    "scores_of",
    "stats_of",
]

Case = tuple[str, str]  # (suite, case id)


Latest = dict[Case, dict[str, tuple[int, float]]]  # case → endpoint → (graded at, score)


def item_rows(store: BenchmarkStore, limit: int = 1000) -> list[dict[str, Any]]:
    """One row per case graded in the newest ``limit`` runs, by suite, hardest first."""
    latest, facts = latest_scores(store, limit)
    rows: list[dict[str, Any]] = []
    for suite in sorted({suite for suite, _ in latest}):
        rows += _suite_rows(suite, {c: e for c, e in latest.items() if c[0] == suite}, facts)
    return rows


def stats_of(
    latest: Latest, facts: dict[Case, BenchResultRecord]
) -> dict[str, tuple[float, float, bool]]:
    """(difficulty, discrimination, flat) of every case in ``latest`` (`latest_scores`) by its
    key (``suite/case_id``), for an adaptive run's choices."""
    out: dict[str, tuple[float, float, bool]] = {}
    for suite in sorted({suite for suite, _ in latest}):
        for row in _suite_rows(suite, {c: e for c, e in latest.items() if c[0] == suite}, facts):
            key = f"{suite}/{row['case_id']}"
            out[key] = (row["difficulty"], row["discrimination"], not row["separates"])
    return out


def endpoint_scores(
    store: BenchmarkStore, endpoint_ids: list[str], limit: int = 1000, *, baseline: bool = False
) -> dict[str, dict[str, float]]:
    """Each endpoint's latest score on every case it has one for (key ``suite/case_id``); an
    endpoint with none is left out. ``baseline``: from quick and full runs only, the history a
    canary is measured against (a canary's own scores are what is being checked)."""
    latest, _ = latest_scores(store, limit, skip_canaries=baseline)
    return scores_of(latest, endpoint_ids)


def scores_of(latest: Latest, endpoint_ids: list[str]) -> dict[str, dict[str, float]]:
    """`endpoint_scores` from scores already read (`latest_scores`)."""
    out: dict[str, dict[str, float]] = {}
    for (suite, case_id), by_endpoint in latest.items():
        for endpoint in endpoint_ids:
            if endpoint in by_endpoint:
                out.setdefault(endpoint, {})[f"{suite}/{case_id}"] = by_endpoint[endpoint][1]
    return out


def latest_scores(
    store: BenchmarkStore, limit: int = 1000, *, skip_canaries: bool = False
) -> tuple[Latest, dict[Case, BenchResultRecord]]:
    """Every endpoint's latest score per case over the newest ``limit`` runs (canary runs left
    out with ``skip_canaries``), and a result of each case (for its task and bucket)."""
    latest: Latest = defaultdict(dict)
    facts: dict[Case, BenchResultRecord] = {}
    for run in store.list_runs(limit=limit):
        if skip_canaries and run.mode == "canary":
            continue
        for result in store.results(run.run_id):
            score = result.measured
            if score is None:
                continue
            case = (result.suite, result.case_id)
            seen = latest[case].get(result.endpoint_id)
            if seen is None or result.created_ms > seen[0]:
                latest[case][result.endpoint_id] = (result.created_ms, score)
                facts[case] = result
    return latest, facts


def _suite_rows(
    suite: str,
    graded: Latest,
    facts: dict[Case, BenchResultRecord],
) -> list[dict[str, Any]]:
    cases = sorted(graded)
    endpoints = sorted({e for by_endpoint in graded.values() for e in by_endpoint})
    scores = np.full((len(cases), len(endpoints)), np.nan)
    for i, case in enumerate(cases):
        for j, endpoint in enumerate(endpoints):
            if endpoint in graded[case]:
                scores[i, j] = graded[case][endpoint][1]
    items, _ = fit_items(scores)
    rows = [
        {
            "suite": suite,
            "case_id": case[1],
            "task": facts[case].task,
            "bucket": facts[case].bucket,
            "endpoints": int(items.graded[i]),
            "mean_score": float(np.nanmean(scores[i])),
            "difficulty": round(float(items.difficulty[i]), 3),
            "discrimination": round(float(items.discrimination[i]), 3),
            "separates": not bool(items.flat[i]),
        }
        for i, case in enumerate(cases)
    ]
    return sorted(rows, key=lambda r: -r["difficulty"])
