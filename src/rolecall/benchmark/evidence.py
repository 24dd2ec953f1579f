"""Benchmark evidence into observed profiles: graded cases become `benchmark` samples.

Owns `sample_for` (one stored result → one `Sample`) and `refresh_profiles` (re-aggregate
endpoints' profiles from every stored sample, through `Runtime.refresh_profile`, which sets stale
benchmark samples aside). The revision an endpoint is graded under is
`rolecall.inventory.inventory.membership_revision_for`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rolecall.benchmark.records import BenchResultRecord
from rolecall.profiles import Sample

__all__ = ["EXECUTION_FAILED", "refresh_profiles", "sample_for"]

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
        benchmark_mode="quick" if mode == "quick" else "full",
    )


def refresh_profiles(runtime: Any, endpoint_ids: Iterable[str]) -> dict[str, Any]:
    """Re-aggregate and store the profiles of ``endpoint_ids`` (run on the writer thread).

    Stale benchmark samples (another membership revision) are set aside. Returns the new
    `ObservedPerformanceProfile` per endpoint (endpoints without usable samples are left out).
    """
    out = {}
    for endpoint_id in endpoint_ids:
        if endpoint_id not in runtime.inventory.endpoints:
            continue
        profile = runtime.refresh_profile(endpoint_id, runtime.storage.samples_for(endpoint_id))
        if profile is not None:
            out[endpoint_id] = profile
    return out
