"""Benchmark evidence into observed profiles: graded cases become `benchmark` samples.

Owns `membership_revision_for` (the revision an endpoint is graded under: its identity and role
bindings, via `rolecall.profiles.membership_revision`), `sample_for` (one stored result → one
`Sample`) and `refresh_profiles` (re-aggregate endpoints' profiles from stored samples with stale
benchmark samples set aside, then store them and hand them to the candidate pool).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from rolecall.benchmark.records import BenchResultRecord
from rolecall.inventory.inventory import Inventory, endpoint_version
from rolecall.profiles import Sample, aggregate_profile, membership_revision

__all__ = ["EXECUTION_FAILED", "membership_revision_for", "refresh_profiles", "sample_for"]

EXECUTION_FAILED = "benchmark_execution_failed"


def membership_revision_for(inventory: Inventory, endpoint_id: str) -> str:
    """The membership revision of an endpoint: identity fields plus its role bindings."""
    endpoint = inventory.endpoints[endpoint_id]
    bindings = [b.to_artifact() for b in inventory.bindings if b.endpoint_id == endpoint_id]
    return membership_revision(endpoint.identity.to_artifact(), bindings)


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
    inventory: Inventory = runtime.inventory
    now = time.time_ns() // 1_000_000
    out = {}
    for endpoint_id in endpoint_ids:
        endpoint = inventory.endpoints.get(endpoint_id)
        if endpoint is None:
            continue
        aggregate = aggregate_profile(
            runtime.storage.samples_for(endpoint_id),
            endpoint_id=endpoint_id,
            endpoint_version=endpoint_version(endpoint.identity),
            now_ms=now,
            membership_revision=membership_revision_for(inventory, endpoint_id),
        )
        if aggregate is None:
            continue
        runtime.storage.put_profile(aggregate.profile)
        runtime.pool.set_profile(aggregate.profile)
        out[endpoint_id] = aggregate.profile
    return out
