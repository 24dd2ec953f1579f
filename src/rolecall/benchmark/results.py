"""The stored records of benchmarking: runs, graded case results and pairwise comparisons.

Plain frozen dataclasses crossing the `BenchmarkStore` port (`rolecall.benchmark.ports`). A run's
``config`` holds everything needed to resume it (endpoints, judge, the case keys, suite sources,
spend cap, membership revisions); a result's ``detail`` holds the reply, the JudgeScore artifact
and how it was graded. Keys: a run by ``run_id``; a result by (run, endpoint, case key); a pair by
(run, case key, endpoint a, endpoint b). ``case_key`` is ``suite/case_id``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["BenchPairRecord", "BenchResultRecord", "BenchRunRecord", "ResultStatus", "RunStatus"]

RunStatus = Literal["running", "completed", "failed", "interrupted"]
ResultStatus = Literal["graded", "failed", "skipped"]


@dataclass(frozen=True)
class BenchRunRecord:
    run_id: str
    mode: str
    status: str
    started_ms: int
    finished_ms: int | None
    judge_id: str | None
    cases_total: int
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def endpoints(self) -> list[str]:
        return list(self.config.get("endpoints", []))


@dataclass(frozen=True)
class BenchResultRecord:
    run_id: str
    endpoint_id: str
    case_key: str
    suite: str
    case_id: str
    bucket: str
    task: str
    status: str
    score: float | None
    latency_ms: float | None
    tokens_out: int
    cost_usd: float | None
    created_ms: int
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def measured(self) -> float | None:
        """What the result counts as in item statistics and adaptive runs: a graded score
        clamped to [0, 1], 0 for a failed case (as the reports and profiles count it), None
        when it measured nothing (skipped, or graded without a score)."""
        if self.status == "failed":
            return 0.0
        if self.status != "graded" or self.score is None:
            return None
        return min(1.0, max(0.0, float(self.score)))


@dataclass(frozen=True)
class BenchPairRecord:
    run_id: str
    case_key: str
    endpoint_a: str
    endpoint_b: str
    winner: str | None
    detail: dict[str, Any] = field(default_factory=dict)
