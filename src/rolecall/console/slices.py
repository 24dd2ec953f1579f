"""Turning the storage's additive group sums into what the pages show.

`rolecall.storage.analytics` returns sums per group; here they are added into coarser groups
(buckets → totals, bucket × endpoint → split), finished into averages and rates, and latency
quantiles are read from the bin histogram (exactly, with one small query per quantile, or
approximately from the bins alone where a per-group or per-bucket estimate is enough).

Every window counts the same facts: short ones read them directly, long ones (`use_rollup`)
read the 5-minute rollup for their whole buckets and the facts for the part before
(`SqlAnalytics.window_groups`), so a request is in a 24-hour total exactly when it is in the
1-hour total of the same moment, and counted the same way.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from rolecall.storage.analytics import (
    BINS_PER_E,
    HISTOGRAM_BINS,
    ROLLUP_MS,
    SUMS,
    FactFilter,
    SqlAnalytics,
)

ROLLUP_FROM_MS = 6 * 3_600_000  # windows this long or longer read the 5-minute rollup


async def in_threads(*calls: Callable[[], Any]) -> list[Any]:
    """Run blocking storage calls on worker threads, concurrently; results in call order."""
    return list(await asyncio.gather(*(asyncio.to_thread(call) for call in calls)))


def empty_sums() -> dict[str, Any]:
    return {name: 0 for name in SUMS}


def combine(rows: Iterable[Mapping[str, Any]], key: str | None = None) -> Any:
    """Sum rows into one total, or into one total per value of ``key``."""
    if key is None:
        total = empty_sums()
        for row in rows:
            for name in SUMS:
                total[name] += row[name]
        return finish(total)
    grouped: dict[Any, dict[str, Any]] = {}
    for row in rows:
        target = grouped.setdefault(row[key], empty_sums())
        for name in SUMS:
            target[name] += row[name]
    return {k: finish(v) for k, v in grouped.items()}


def finish(sums: dict[str, Any]) -> dict[str, Any]:
    """Add the derived figures: average latency (of executed requests), the success, error and
    refusal rates (of requests; decision-only calls are none)."""
    n, executed = sums["requests"], sums["executed"]
    sums["latency_avg_ms"] = sums["latency_sum_ms"] / executed if executed else None
    sums["success_rate"] = sums["ok"] / n if n else None
    sums["error_rate"] = sums["failed"] / n if n else None
    sums["refusal_rate"] = sums["refused"] / n if n else None
    return sums


def _rank(q: float, count: int) -> int:
    """0-based nearest-rank index of quantile ``q`` among ``count`` values."""
    return min(count - 1, max(0, math.ceil(q * count) - 1))


def _locate(histogram: Sequence[tuple[int, int]], rank: int) -> tuple[int, int] | None:
    """(bin, offset within the bin) holding the value of 0-based ``rank``."""
    seen = 0
    for bin_, n in histogram:
        if rank < seen + n:
            return bin_, rank - seen
        seen += n
    return None


def merge_fine(histograms: Iterable[Sequence[tuple[int, int]]]) -> list[tuple[int, int]]:
    """Fine histograms (per bucket, say) added into one, in bin order."""
    total: dict[int, int] = {}
    for histogram in histograms:
        for bin_, n in histogram:
            total[bin_] = total.get(bin_, 0) + n
    return sorted(total.items())


def exact_quantiles(
    storage: SqlAnalytics,
    slice_: FactFilter,
    quantiles: Sequence[float],
    histogram: Sequence[tuple[int, int]] | None = None,
) -> dict[float, float | None]:
    """Exact latency quantiles of the slice's executed requests (``histogram``: its fine
    histogram, when the caller has it already)."""
    if histogram is None:
        histogram = storage.fact_histogram(slice_).get(None, [])
    count = sum(n for _, n in histogram)
    out: dict[float, float | None] = {}
    for q in quantiles:
        spot = _locate(histogram, _rank(q, count)) if count else None
        out[q] = None if spot is None else storage.fact_latency_at(slice_, *spot)
    return out


def approx_quantile(histogram: Sequence[tuple[int, int]], q: float) -> float | None:
    """The geometric middle of the bin holding the quantile (within ≈3% of the true value)."""
    count = sum(n for _, n in histogram)
    spot = _locate(histogram, _rank(q, count)) if count else None
    return None if spot is None else math.exp((spot[0] + 0.5) / BINS_PER_E)


def coarse_quantile(histogram: Sequence[int], q: float) -> float | None:
    """A quantile from the rollup's coarse bins (bin k = [2^(k/4), 2^((k+1)/4)) ms), placed
    geometrically within its bin by the rank's position: within ≈9% of the true value."""
    count = sum(histogram)
    if not count:
        return None
    rank = _rank(q, count)
    seen = 0
    for k, n in enumerate(histogram):
        if rank < seen + n:
            low = 0.0 if k == 0 else 2 ** (k / 4)
            high = 2 ** ((k + 1) / 4)
            fraction = (rank - seen + 0.5) / n
            return low + (high - low) * fraction if k == 0 else low * (high / low) ** fraction
        seen += n
    return None


def add_histograms(rows: Iterable[Mapping[str, Any]]) -> list[int]:
    total = [0] * HISTOGRAM_BINS
    for row in rows:
        for k, n in enumerate(row["histogram"]):
            total[k] += n
    return total


def use_rollup(span_ms: int) -> bool:
    return span_ms >= ROLLUP_FROM_MS


def series_axis(now_ms: int, span_ms: int, buckets: int) -> tuple[int, int, int]:
    """(start, bucket width, bucket count) of a chart; on the rollup, whole 5-minute buckets."""
    if not use_rollup(span_ms):
        width = max(1, span_ms // buckets)
        return now_ms - span_ms, width, buckets
    width = max(1, math.ceil(span_ms / buckets / ROLLUP_MS)) * ROLLUP_MS
    start = now_ms - span_ms
    start -= start % ROLLUP_MS
    return start, width, math.ceil((now_ms - start) / width)


def groups(
    storage: SqlAnalytics,
    slice_: FactFilter,
    dimensions: Sequence[str],
    span_ms: int,
    *,
    bucket: tuple[int, int] | None = None,
    histogram: bool = False,
) -> list[dict[str, Any]]:
    """Group sums of a window from the source that suits it (the rollup for long windows; with
    ``histogram``, its coarse latency histograms, which only that source has)."""
    if use_rollup(span_ms):
        return storage.window_groups(slice_, dimensions, bucket=bucket, histogram=histogram)
    return storage.fact_groups(slice_, dimensions, bucket=bucket, histogram=histogram)
