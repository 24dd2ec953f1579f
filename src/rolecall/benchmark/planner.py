"""Turning a run request into a `RunPlan`: the request checked against the inventory (errors name
the field), the cases selected, and for an adaptive run the item statistics and anchors read from
the stored evidence.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from rolecall.benchmark.adaptive import AdaptiveSettings
from rolecall.benchmark.cases import load_suites, select_cases
from rolecall.benchmark.errors import BenchError
from rolecall.benchmark.plan import RunPlan
from rolecall.benchmark.ports import BenchmarkStore
from rolecall.inventory.inventory import Inventory

__all__ = ["chat_endpoints", "plan_run"]


def plan_run(
    inventory: Inventory,
    store: BenchmarkStore,
    mode: str,
    endpoints: Sequence[str] | None = None,
    judge: str | None = None,
    suites: Iterable[Path | str] | None = None,
    case_ids: Iterable[str] | None = None,
    spend_cap_usd: float | None = None,
    concurrency: int = 2,
    *,
    adaptive: bool | None = None,
    max_cases: int | None = None,
    min_cases: int | None = None,
    tie_margin: float | None = None,
    precision: float | None = None,
) -> RunPlan:
    """Validate a run request against the inventory; `BenchError` names the bad field.

    ``adaptive`` (default: for quick and canary runs) makes the whole suite (or the
    ``case_ids``) the candidates and lets each endpoint answer only what its ranking needs,
    up to ``max_cases`` (default for a quick run: as many as the quick cases; otherwise
    all); a canary compares each endpoint with its own history, not with the pool.
    ``min_cases`` and ``tie_margin`` override `AdaptiveSettings`' defaults; ``precision``
    makes every endpoint also wait until its 95% interval is within ±precision."""
    if mode not in ("quick", "full", "canary"):  # canary: chosen cases of the full suite
        raise BenchError(f"mode: expected 'quick' or 'full', got {mode!r}", param="mode")
    chosen = _chat_chosen(inventory, endpoints)
    if judge is not None and judge not in inventory.endpoints:
        raise BenchError(
            f"judge: unknown endpoint {judge!r} (known: {sorted(inventory.endpoints)})",
            param="judge",
        )
    if concurrency < 1:
        raise BenchError("concurrency: must be at least 1", param="concurrency")
    if max_cases is not None and max_cases < 1:
        raise BenchError("max_cases: must be at least 1", param="max_cases")
    if precision is not None and not 0 < precision < 1:
        raise BenchError("precision: must lie between 0 and 1, e.g. 0.05", param="precision")
    adaptive = mode in ("quick", "canary") if adaptive is None else adaptive
    loaded = load_suites(suites)
    subset = "quick" if mode == "quick" and not adaptive else "full"
    items = select_cases(loaded, subset, case_ids)
    if not items:
        raise BenchError(f"no {mode} cases selected: check --suite / case ids", param="suite")
    run_id = f"bench-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    if not adaptive:
        return RunPlan(run_id, mode, tuple(chosen), judge, tuple(items), spend_cap_usd, concurrency)
    if max_cases is None and mode == "quick":
        max_cases = len(select_cases(loaded, "quick", case_ids)) or None
    settings = AdaptiveSettings(
        max_cases=max_cases,
        seed=run_id,
        against="history" if mode == "canary" else "pool",
    )
    if min_cases is not None:
        settings = replace(settings, min_cases=min_cases)
    if tie_margin is not None:
        settings = replace(settings, tie_margin=tie_margin)
    if precision is not None:
        settings = replace(settings, precision=precision, require_precision=True)
    return _adaptive_plan(
        inventory,
        store,
        RunPlan(run_id, mode, tuple(chosen), judge, tuple(items), spend_cap_usd, concurrency),
        settings,
    )


def _chat_chosen(inventory: Inventory, endpoints: Sequence[str] | None) -> list[str]:
    """The endpoints named (default: every chat endpoint), checked, embedders left out."""
    chosen = list(endpoints) if endpoints else chat_endpoints(inventory)
    unknown = [e for e in chosen if e not in inventory.endpoints]
    if unknown:
        raise BenchError(
            f"endpoints: unknown endpoint(s) {unknown} (known: {sorted(inventory.endpoints)})",
            param="endpoints",
        )
    # the cases are chat: an embeddings-only endpoint named (the console names them all)
    # is left out, and a list of nothing else is refused
    embedders = [e for e in chosen if inventory.endpoints[e].embeddings_only]
    if embedders and len(embedders) == len(chosen):
        raise BenchError(
            f"endpoints: {embedders} serve embeddings only; the benchmark's cases are chat",
            param="endpoints",
        )
    chosen = [e for e in chosen if e not in embedders]
    if not chosen:
        raise BenchError(
            "endpoints: no endpoint to benchmark; configure endpoints first", param="endpoints"
        )
    return list(dict.fromkeys(chosen))


def _adaptive_plan(
    inventory: Inventory, store: BenchmarkStore, plan: RunPlan, settings: AdaptiveSettings
) -> RunPlan:
    """``plan`` made adaptive: the item statistics of its cases — fitted from the stored
    evidence, else the packaged priors fitted from public per-prompt records
    (`item_priors`; never marked flat) — and as anchors every other chat endpoint with stored
    scores (a new endpoint joins a benchmarked pool without the pool running again)."""
    from rolecall.benchmark.item_priors import item_priors
    from rolecall.benchmark.item_report import latest_scores, scores_of, stats_of  # numpy's fit

    latest, facts = latest_scores(store)  # one read of the stored results serves both
    keys = {f"{s}/{c.id}" for s, c in plan.items}
    stored = {k: v for k, v in stats_of(latest, facts).items() if k in keys}
    priors = {k: (b, a, False) for k, (b, a) in item_priors().items() if k in keys}
    stats = {**priors, **stored}
    others = [e for e in chat_endpoints(inventory) if e not in plan.endpoint_ids]
    pool = settings.against == "pool"
    anchors = tuple(sorted(scores_of(latest, others))) if pool else ()
    return replace(
        plan, adaptive=settings, anchors=anchors, item_stats=tuple(sorted(stats.items()))
    )


def chat_endpoints(inventory: Inventory) -> list[str]:
    """The enabled endpoints a benchmark runs on by default: those that chat (an embeddings-only
    endpoint cannot answer a case)."""
    return [e for e, ep in inventory.endpoints.items() if ep.enabled and not ep.embeddings_only]
