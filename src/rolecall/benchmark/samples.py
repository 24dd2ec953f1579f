"""Benchmark evidence into observed profiles: graded cases become `benchmark` samples.

Owns `sample_for` (one stored result → one `Sample`); `rolecall.observe.evidence.EvidenceIntake`
stores the samples and refreshes the profiles. The revision an endpoint is graded under is
`rolecall.inventory.inventory.membership_revision_for`.
"""

from __future__ import annotations

from rolecall.benchmark.results import BenchResultRecord
from rolecall.profiles import Sample

__all__ = ["EXECUTION_FAILED", "sample_for"]

EXECUTION_FAILED = "benchmark_execution_failed"


def sample_for(
    result: BenchResultRecord, *, version: str, revision: str, mode: str
) -> Sample | None:
    """The profile sample of a stored result; None for a skipped case (it measured nothing)."""
    if result.status == "skipped":
        return None
    detail = result.detail
    tokens = int(detail.get("tokens_in", 0)) + result.tokens_out
    cost_per_1k = None
    if result.cost_usd is not None and tokens > 0:
        cost_per_1k = result.cost_usd / tokens * 1000
    return Sample(
        endpoint_id=result.endpoint_id,
        endpoint_version=version,
        source="benchmark",
        timestamp_ms=result.created_ms,
        latency_ms=result.latency_ms,
        tokens_per_sec=detail.get("tokens_per_sec"),
        cost_per_1k_tokens=cost_per_1k,
        cost_usd=result.cost_usd,
        judge_score=0.0 if result.status == "failed" else result.score,
        error_class=EXECUTION_FAILED if result.status == "failed" else None,
        difficulty_bucket=result.bucket if result.bucket in ("easy", "medium", "hard") else None,  # type: ignore[arg-type]
        membership_revision=revision,
        case_key=result.case_key,
        benchmark_mode="canary" if mode == "canary" else "quick" if mode == "quick" else "full",
    )
