"""What an adaptive run found, for its report and the console: per endpoint, the cases it
answered against the suite's size, why it stopped, and its suite-level quality estimated from
that sample (`rolecall.benchmark.estimates.stratified`) overall, per task and per difficulty
bucket, each with its 95% interval. None for a fixed run.

Strata are the run's candidates' (task, bucket) cells; a failed case counts 0, a skipped one not
at all (as the reports and the profiles count them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rolecall.benchmark.estimates import stratified
from rolecall.benchmark.results import BenchResultRecord, BenchRunRecord

__all__ = ["STOPS", "adaptive_summary"]

# why an adaptive run stopped an endpoint, in words (`sampler.StopReason`); the CLI and the
# console show the report's ``why``
STOPS = {
    "separated": "ranking settled (intervals separate)",
    "tied": "tied with the others within the margin",
    "settled": "ranking settled",
    "precise": "estimate precise enough",
    "case_budget": "case budget reached",
    "exhausted": "every case answered",
    "spend_cap": "spend cap reached",
    "preflight": "failed its preflight",
}

Stratum = tuple[str, str]


def adaptive_summary(
    run: BenchRunRecord, results: Sequence[BenchResultRecord]
) -> dict[str, Any] | None:
    settings = run.config.get("adaptive")
    if settings is None:
        return None
    sizes: dict[Stratum, int] = {}
    for item in run.config.get("cases", []):
        case = item["case"]
        stratum = (str(case["task"]), str(case["bucket"]))
        sizes[stratum] = sizes.get(stratum, 0) + 1
    outcome = run.config.get("adaptive_outcome") or {}
    endpoints = {}
    for endpoint in run.endpoints:
        own = [
            (r, v) for r in results if r.endpoint_id == endpoint and (v := r.measured) is not None
        ]
        endpoints[endpoint] = {
            "cases_used": len(own),
            "cases_full": sum(sizes.values()),
            "stopped": (stopped := (outcome.get(endpoint) or {}).get("stopped")),
            "why": STOPS.get(stopped, stopped) if stopped else "not finished",
            "estimate": _estimate(own, sizes, lambda s: True),
            "by_task": {
                task: _estimate(own, sizes, lambda s, t=task: s[0] == t)
                for task in sorted({t for t, _ in sizes})
            },
            "by_bucket": {
                bucket: _estimate(own, sizes, lambda s, b=bucket: s[1] == b)
                for bucket in sorted({b for _, b in sizes})
            },
        }
    return {
        "max_cases": settings.get("max_cases"),
        "min_cases": settings.get("min_cases"),
        "anchors": list(settings.get("anchors", [])),
        "endpoints": endpoints,
    }


def _estimate(
    own: list[tuple[BenchResultRecord, float]], sizes: dict[Stratum, int], keep: Any
) -> dict[str, Any] | None:
    part = {s: n for s, n in sizes.items() if keep(s)}
    values = [((r.task, r.bucket), v) for r, v in own if (r.task, r.bucket) in part]
    estimate = stratified(values, part)
    return None if estimate is None else estimate.to_dict()
