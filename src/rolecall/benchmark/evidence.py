"""Benchmark evidence into observed profiles: graded cases become `benchmark` samples.

Owns `sample_for` (one stored result → one `Sample`) and `refresh_profiles` (re-aggregate
endpoints' profiles from every stored sample, setting stale benchmark samples aside). The revision
an endpoint is graded under is `rolecall.inventory.inventory.membership_revision_for`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rolecall.benchmark.records import BenchResultRecord
from rolecall.execution.state import RoutingState
from rolecall.observe.profile_refresh import EndpointFacts, store_profile
from rolecall.profiles import Sample
from rolecall.protocol import ObservedPerformanceProfile

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


def refresh_profiles(
    routing: RoutingState, storage: Any, endpoint_ids: Iterable[str]
) -> dict[str, ObservedPerformanceProfile]:
    """Re-aggregate, store and route on the profiles of ``endpoint_ids`` (run on the writer
    thread) from every stored sample.

    Stale benchmark samples (another membership revision) are set aside. Returns the new
    `ObservedPerformanceProfile` per endpoint (endpoints without usable samples are left out).
    """
    out = {}
    for endpoint_id in endpoint_ids:
        facts = routing.endpoint_facts(endpoint_id)
        if facts is None:
            continue
        samples = storage.samples_for(endpoint_id)
        profile = store_profile(storage, endpoint_id, samples, EndpointFacts(*facts))
        if profile is not None:
            routing.publish_profile(profile)
            out[endpoint_id] = profile
    return out
