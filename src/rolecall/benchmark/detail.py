"""Per-suite and per-case detail of one run, for the console's run view and the CLI.

Pure: stored results in, plain rows out. A skipped or failed case carries the reason the runner
recorded (no tool calling declared, spend cap reached, preflight failed, the upstream's error), so
the page can say why a case has no score instead of silently leaving it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean
from typing import Any

from rolecall.benchmark.results import BenchResultRecord

__all__ = ["case_rows", "suite_rows"]


def case_rows(results: Sequence[BenchResultRecord]) -> list[dict[str, Any]]:
    """One row per (endpoint, case), in suite then case order."""
    rows = [
        {
            "endpoint_id": r.endpoint_id,
            "suite": r.suite,
            "case_id": r.case_id,
            "bucket": r.bucket,
            "status": r.status,
            "score": r.score,
            "method": r.detail.get("method"),
            "self_graded": bool(r.detail.get("self_graded")),
            "reason": r.detail.get("error"),
            "latency_ms": r.latency_ms,
        }
        for r in results
    ]
    return sorted(rows, key=lambda row: (row["suite"], row["case_id"], row["endpoint_id"]))


def suite_rows(results: Sequence[BenchResultRecord]) -> list[dict[str, Any]]:
    """Per (suite, endpoint): distinct cases graded, failed, skipped and the mean score."""
    groups: dict[tuple[str, str], list[BenchResultRecord]] = {}
    for r in results:
        groups.setdefault((r.suite, r.endpoint_id), []).append(r)
    out = []
    for (suite, endpoint_id), rs in sorted(groups.items()):
        # a failed case scores 0 in quality (as in the profiles); a skipped one does not count
        scored = [
            0.0 if r.status == "failed" else (r.score or 0.0) for r in rs if r.status != "skipped"
        ]
        out.append(
            {
                "suite": suite,
                "endpoint_id": endpoint_id,
                "graded": sum(r.status == "graded" for r in rs),
                "failed": sum(r.status == "failed" for r in rs),
                "skipped": sum(r.status == "skipped" for r in rs),
                "mean": round(fmean(scored), 4) if scored else None,
            }
        )
    return out
