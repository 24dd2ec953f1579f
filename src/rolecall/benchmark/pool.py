"""The whole pool's benchmark standing: each endpoint from its latest evidence across runs.

A run may cover only some endpoints; the page must not forget the others. `pool_summary` walks
the runs newest first and keeps, per endpoint and case, the newest stored result, so a run on one
endpoint replaces only that endpoint's cases and every other card keeps its last evidence. Because
each case counts once (its newest result), an endpoint's interval rests on distinct cases, not on
the same case graded again by repeated runs. The advice is computed over every configured endpoint
that has evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rolecall.benchmark.report import endpoint_entry, recommend
from rolecall.benchmark.results import BenchResultRecord, BenchRunRecord
from rolecall.inventory.modes import CeilingConfig

__all__ = ["latest_results", "pool_summary"]


def latest_results(
    runs: Sequence[BenchRunRecord], results: Mapping[str, Sequence[BenchResultRecord]]
) -> dict[str, dict[str, tuple[BenchRunRecord, BenchResultRecord]]]:
    """endpoint → case key → (run, result) from the newest run that graded, failed or skipped it."""
    latest: dict[str, dict[str, tuple[BenchRunRecord, BenchResultRecord]]] = {}
    for run in sorted(runs, key=lambda r: r.started_ms, reverse=True):
        for r in results.get(run.run_id, ()):
            latest.setdefault(r.endpoint_id, {}).setdefault(r.case_key, (run, r))
    return latest


def _card(
    endpoint_id: str,
    evidence: Mapping[str, tuple[BenchRunRecord, BenchResultRecord]],
    local: bool,
    ceilings: CeilingConfig,
) -> dict[str, Any]:
    runs = {run.run_id: run for run, _ in evidence.values()}
    newest = max(runs.values(), key=lambda r: r.started_ms, default=None)
    # the quality math needs one mode; full wins when any of the evidence came from a full run
    mode = "full" if any(r.mode == "full" for r in runs.values()) else "quick"
    entry = endpoint_entry(
        endpoint_id, [r for _, r in evidence.values()], local=local, mode=mode, ceilings=ceilings
    )
    entry["evidence_runs"] = sorted(runs)
    entry["latest_run_id"] = newest.run_id if newest else None
    entry["latest_ms"] = (newest.finished_ms or newest.started_ms) if newest else None
    return entry


def pool_summary(
    pool: Mapping[str, bool],
    runs: Sequence[BenchRunRecord],
    results: Mapping[str, Sequence[BenchResultRecord]],
    *,
    ceilings: CeilingConfig | None = None,
) -> dict[str, Any]:
    """``pool``: the configured chat endpoints (id → local). Cards for all of them, advice over
    those with evidence; an endpoint without any is named so the advice is not read as complete."""
    rule = ceilings or CeilingConfig()
    latest = latest_results(runs, results)
    cards = [_card(e, latest.get(e, {}), local, rule) for e, local in pool.items()]
    measured = [c for c in cards if c["cases"]]
    advice = recommend(measured)
    missing = [c["endpoint_id"] for c in cards if not c["cases"]]
    if missing:
        advice["reasons"].append(f"no benchmark evidence yet for {', '.join(missing)}: run one")
    return {"endpoints": cards, "recommendation": advice, "unmeasured": missing}
