"""The report of one run, the comparison of two runs, and the recommended strategy.

`build_report` turns a stored run and its results into the console/CLI report: per endpoint the
quality overall and per difficulty bucket with 95% intervals (the same math as observed profiles,
`rolecall.profiles.benchmark_quality`), failures, latency p50/p95, tokens/s, cost per case and
locality, and the difficulty ceiling that quality supports (`rolecall.profiles.ceilings`: a bucket
with too few cases for one says so in its ``note``); judge facts (overlap, self-preference); and
`recommend`'s answer to the seed's questions
(should the quality leader, the fastest or the cheapest healthy endpoint win, or is balanced right;
which endpoints should leave the pool). `compare_runs` pairs two runs case by case per endpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean
from typing import Any, Final

from rolecall.benchmark.adaptive_report import adaptive_summary
from rolecall.benchmark.detail import case_rows, suite_rows
from rolecall.benchmark.results import BenchPairRecord, BenchResultRecord, BenchRunRecord
from rolecall.benchmark.stats import paired_permutation_p
from rolecall.inventory.modes import CeilingConfig
from rolecall.profiles import (
    DIFFICULTY_BUCKETS,
    BucketQuality,
    Sample,
    benchmark_quality,
    percentile,
)
from rolecall.profiles.ceilings import derive_ceiling

__all__ = ["build_report", "compare_runs", "endpoint_entry", "recommend"]

FAILURE_LIMIT: Final = 0.3  # an endpoint failing more often than this should leave the pool
SPREAD: Final = 0.5  # "meaningful" latency/cost spread: the best is at most half the worst


def _quality(
    results: Sequence[BenchResultRecord], mode: str, ceilings: CeilingConfig
) -> dict[str, Any]:
    samples = [
        Sample(
            r.endpoint_id,
            "report",
            "benchmark",
            r.created_ms,
            r.latency_ms,
            judge_score=0.0 if r.status == "failed" else r.score,
            difficulty_bucket=r.bucket if r.bucket in DIFFICULTY_BUCKETS else None,
            benchmark_mode="quick" if mode == "quick" else "full",
        )
        for r in results
        if r.status != "skipped"
    ]
    quality = benchmark_quality(samples)
    if quality is None:
        return {"overall": None, "buckets": {}}
    evidence = derive_ceiling(
        quality.buckets, min_samples=ceilings.min_samples, min_quality=ceilings.min_quality
    )
    buckets = {name: _interval(q) for name, q in quality.buckets.items()}
    for name, entry in buckets.items():
        if evidence.verdicts.get(name, "").startswith("too few samples"):
            entry["note"] = f"{evidence.verdicts[name]}: too few for a difficulty ceiling"
    return {
        "overall": _interval(quality.overall),
        "buckets": buckets,
        "ceiling": evidence.to_json(),
    }


def _interval(q: BucketQuality) -> dict[str, Any]:
    return {
        "mean": round(q.mean, 4),
        "ci_low": round(q.ci_low, 4),
        "ci_high": round(q.ci_high, 4),
        "samples": q.samples,
    }


def endpoint_entry(
    endpoint_id: str,
    results: list[BenchResultRecord],
    *,
    local: bool,
    mode: str,
    ceilings: CeilingConfig,
) -> dict[str, Any]:
    """One endpoint's card over ``results`` (at most one per case): quality, failures, speed, cost.

    ``distinct_cases`` is what the confidence rests on: a case graded twice is one case."""
    graded = [r for r in results if r.status == "graded"]
    attempted = [r for r in results if r.status != "skipped"]
    latencies = [r.latency_ms for r in graded if r.latency_ms is not None]
    speeds = [v for r in graded if (v := r.detail.get("tokens_per_sec")) is not None]
    costs = [r.cost_usd for r in graded if r.cost_usd is not None]
    failures = len(attempted) - len(graded)
    return {
        "endpoint_id": endpoint_id,
        "local": local,
        "quality": _quality(results, mode, ceilings),
        "cases": len(results),
        "distinct_cases": len({r.case_key for r in graded}),
        "graded": len(graded),
        "skipped": len(results) - len(attempted),
        "failures": failures,
        "failure_rate": round(failures / len(attempted), 4) if attempted else 0.0,
        "latency_ms_p50": round(percentile(latencies, 50), 1) if latencies else None,
        "latency_ms_p95": round(percentile(latencies, 95), 1) if latencies else None,
        "tokens_per_sec": round(percentile(speeds, 50), 2) if speeds else None,
        "cost_per_case_usd": fmean(costs) if costs else None,
    }


def _judge_facts(
    run: BenchRunRecord, results: Sequence[BenchResultRecord], pairs: Sequence[BenchPairRecord]
) -> dict[str, Any]:
    """Judge-subject overlap and self-preference, measured two ways:

    * ``score_bias``: how much more the judge's scores exceed the judge-free heuristic on its own
      answers than on other endpoints' answers (positive = it favours itself);
    * ``pairwise_win_rate`` vs ``expected_win_rate``: how often it picked its own answer in
      head-to-heads, against how often its graded case score was the higher one.
    """
    judge = run.judge_id
    judged = [r for r in results if r.detail.get("method") == "judge"]
    facts: dict[str, Any] = {
        "endpoint_id": judge,
        "overlap": bool(run.config.get("judge_overlap")),
        # what the judge actually did: a judge named but never reached grades nothing
        "judged_cases": len(judged),
        "self_graded_cases": sum(bool(r.detail.get("self_graded")) for r in judged),
        "heuristic_cases": sum(r.detail.get("method") == "heuristic" for r in results),
    }
    if judge is None or not facts["overlap"]:
        return facts
    gaps: dict[bool, list[float]] = {True: [], False: []}
    for r in results:
        if (
            r.detail.get("method") == "judge"
            and r.detail.get("heuristic_score") is not None
            and r.score is not None
        ):
            gaps[r.endpoint_id == judge].append(r.score - float(r.detail["heuristic_score"]))
    if gaps[True] and gaps[False]:
        facts["score_bias"] = round(fmean(gaps[True]) - fmean(gaps[False]), 4)
    own = [
        p
        for p in pairs
        if judge in (p.endpoint_a, p.endpoint_b)
        and str(p.detail.get("judge_id", "")).startswith("judge:")
    ]
    if own:
        facts["pairwise_win_rate"] = round(sum(p.winner == judge for p in own) / len(own), 4)
        scores = {(r.endpoint_id, r.case_key): r.score or 0.0 for r in results}
        expected = [
            scores.get((judge, p.case_key), 0.0)
            > scores.get((p.endpoint_b if p.endpoint_a == judge else p.endpoint_a, p.case_key), 0.0)
            for p in own
        ]
        facts["expected_win_rate"] = round(sum(expected) / len(own), 4)
    return facts


def build_report(
    run: BenchRunRecord,
    results: Sequence[BenchResultRecord],
    pairs: Sequence[BenchPairRecord] = (),
    *,
    ceilings: CeilingConfig | None = None,
) -> dict[str, Any]:
    """``ceilings``: the rule a bucket's quality sets a difficulty ceiling by (defaults: the
    ``routing.difficulty.ceilings`` defaults)."""
    rule = ceilings or CeilingConfig()
    by_endpoint: dict[str, list[BenchResultRecord]] = {e: [] for e in run.endpoints}
    for r in results:
        by_endpoint.setdefault(r.endpoint_id, []).append(r)
    meta = run.config.get("endpoint_meta") or {}
    endpoints = [
        endpoint_entry(
            e, rs, local=bool(meta.get(e, {}).get("local")), mode=run.mode, ceilings=rule
        )
        for e, rs in by_endpoint.items()
    ]
    return {
        "run_id": run.run_id,
        "mode": run.mode,
        "status": run.status,
        "judge": run.judge_id,
        "started_ms": run.started_ms,
        "finished_ms": run.finished_ms,
        "cases_total": run.cases_total,
        "cases_done": len(results),
        "endpoints": endpoints,
        "judge_facts": _judge_facts(run, results, pairs),
        "pairwise": [p.detail for p in pairs],
        "suites": suite_rows(results),
        "cases": case_rows(results),
        "recommendation": recommend(endpoints),
        "adaptive": adaptive_summary(run, results),
    }


def _mean(entry: dict[str, Any]) -> float:
    overall = entry["quality"]["overall"]
    return float(overall["mean"]) if overall else 0.0


def _leave_pool(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(endpoint, why) for unstable endpoints and those another endpoint beats on every axis."""
    out = []
    for e in entries:
        if e["graded"] == 0 and e["cases"] > e["skipped"]:
            out.append((e["endpoint_id"], "no case succeeded"))
        elif e["failure_rate"] > FAILURE_LIMIT:
            out.append((e["endpoint_id"], f"failed {e['failure_rate']:.0%} of its cases"))
        else:
            better = next((o for o in entries if o is not e and _dominates(o, e)), None)
            if better is not None:
                out.append(
                    (e["endpoint_id"], f"{better['endpoint_id']} is better, faster and no dearer")
                )
    return out


def _dominates(a: dict[str, Any], b: dict[str, Any]) -> bool:
    qa, qb = a["quality"]["overall"], b["quality"]["overall"]
    if not qa or not qb or a["graded"] == 0 or qa["ci_low"] <= qb["ci_high"]:
        return False
    faster = (a["latency_ms_p50"] or 0) <= (b["latency_ms_p50"] or 0)
    cheaper = (a["cost_per_case_usd"] or 0) <= (b["cost_per_case_usd"] or 0)
    return faster and cheaper


def recommend(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The strategy the evidence supports, with reasons, and the endpoints that should leave."""
    leave = _leave_pool(entries)
    leaving = {e for e, _ in leave}
    healthy = [e for e in entries if e["endpoint_id"] not in leaving and e["graded"] > 0]
    reasons = [f"{e}: {why}; remove it from the pool" for e, why in leave]
    if len(healthy) < 2:
        if healthy:
            only = healthy[0]["endpoint_id"]
            reasons.append(f"only one healthy endpoint ({only}): there is nothing to trade off yet")
        else:
            reasons.append("no healthy endpoint measured yet: there is nothing to trade off")
        return {"strategy": "balanced", "reasons": reasons, "leave_pool": sorted(leaving)}
    ranked = sorted(healthy, key=_mean, reverse=True)
    leader, runner_up = ranked[0], ranked[1]
    lq, rq = leader["quality"]["overall"], runner_up["quality"]["overall"]
    gap = _mean(leader) - _mean(runner_up)
    separated = bool(lq and rq and lq["ci_low"] > rq["ci_high"])
    reasons.append(
        f"quality leader {leader['endpoint_id']} ({_mean(leader):.2f}) vs {runner_up['endpoint_id']} "
        f"({_mean(runner_up):.2f}): gap {gap:.2f}{', intervals do not overlap' if separated else ''}"
    )
    if separated or gap >= 0.15:
        reasons.append("the quality difference is real: let the quality leader win more often")
        return {"strategy": "quality", "reasons": reasons, "leave_pool": sorted(leaving)}
    close = [e for e in healthy if _mean(leader) - _mean(e) < 0.15]
    strategy = _spread_strategy(close, reasons)
    return {"strategy": strategy, "reasons": reasons, "leave_pool": sorted(leaving)}


def _spread_strategy(close: list[dict[str, Any]], reasons: list[str]) -> str:
    """Among endpoints of similar quality: a big latency or cost spread picks that strategy."""
    spread = _wide_spread(close, "latency_ms_p50")
    if spread is not None:
        fast, slow = spread
        reasons.append(
            f"similar quality, but {fast['endpoint_id']} answers in {fast['latency_ms_p50']:.0f} ms "
            f"vs {slow['latency_ms_p50']:.0f} ms: let the fastest healthy endpoint win"
        )
        return "latency"
    spread = _wide_spread(close, "cost_per_case_usd")
    if spread is not None:
        reasons.append(
            f"similar quality and speed, but {spread[0]['endpoint_id']} costs far less per case: "
            "let the cheapest healthy endpoint win"
        )
        return "cost"
    reasons.append("quality, latency and cost are close: a balanced trade-off is the right default")
    return "balanced"


def _wide_spread(
    rows: list[dict[str, Any]], field: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The rows with the lowest and highest ``field`` when at least two have it and the lowest is
    at most `SPREAD` of the highest; else None."""
    measured = [r for r in rows if r[field]]
    if len(measured) < 2:
        return None
    low = min(measured, key=lambda r: r[field])
    high = max(measured, key=lambda r: r[field])
    return (low, high) if low[field] <= SPREAD * high[field] else None


def compare_runs(a: Sequence[BenchResultRecord], b: Sequence[BenchResultRecord]) -> dict[str, Any]:
    """Per endpoint in both runs: means over the shared cases, delta (b − a) and a paired p-value."""

    def scores(results: Sequence[BenchResultRecord]) -> dict[tuple[str, str], float]:
        return {
            (r.endpoint_id, r.case_key): 0.0 if r.status == "failed" else (r.score or 0.0)
            for r in results
            if r.status != "skipped"
        }

    sa, sb = scores(a), scores(b)
    endpoints = sorted({e for e, _ in sa} & {e for e, _ in sb})
    out = []
    for endpoint_id in endpoints:
        shared = sorted(k for e, k in sa if e == endpoint_id and (e, k) in sb)
        xa = [sa[(endpoint_id, k)] for k in shared]
        xb = [sb[(endpoint_id, k)] for k in shared]
        out.append(
            {
                "endpoint_id": endpoint_id,
                "a_mean": round(fmean(xa), 4) if xa else None,
                "b_mean": round(fmean(xb), 4) if xb else None,
                "delta": round(fmean(xb) - fmean(xa), 4) if xa else None,
                "shared_cases": len(shared),
                "p_value": round(
                    paired_permutation_p([y - x for x, y in zip(xa, xb, strict=True)]), 6
                ),
            }
        )
    return {"endpoints": out}
