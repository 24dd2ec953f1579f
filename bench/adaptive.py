"""Adaptive benchmarking on the shared per-prompt records: a fifth of the cases, the full ranking?

For each source (RouteLLM MMLU and GSM8K, LLMRouter, RouterArena; the prompts every model was
graded on) every model in turn plays a new endpoint. The other models' grades fit the item
statistics (`rolecall.benchmark.items`: difficulty and discrimination, 2PL IRT); the endpoint then
answers cases chosen one at a time, round-robin over strata (task × difficulty tercile), each the
case of its stratum most informative at its current ability, up to a budget (``--budget``, a
share of the suite). Its full-suite quality is estimated as its observed scores on the cases it
answered plus the fitted model's predictions on the rest ("IRT"). Beside it, two samples of the
same size: stratified (the same strata, cases allocated in proportion to their size, the strata's
means weighted by size) and uniform random (the mean), each over ``--seeds`` repetitions (the
median). Printed per source: cases used, the largest per-model quality error and Kendall's τ of
the ranking against the full suite's. Targets (the adaptive-benchmarking issue): τ ≥ 0.9 and error ≤ 0.05 at
≤ 20% of the cases. Prints figures, never pass/fail.

With ``--run RUN_ID --database URL`` the same comparisons run on a stored fixed run instead (every
endpoint graded on every case, e.g. the built-in suites on the local pool: `rolecall bench run
--full --fixed`), the cases' declared tasks and buckets kept.

Run: .venv/bin/python bench/adaptive.py [--data ../shared/data] [--budget 0.2] [--seeds 5]
     .venv/bin/python bench/adaptive.py --run RUN_ID --database sqlite:///DATA/rolecall.db
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.stats import kendalltau

from rolecall.benchmark.adaptive import AdaptiveSettings, Slot
from rolecall.benchmark.items import ItemStats, ability, expected_score, fit_items, information
from rolecall.benchmark.sampler import AdaptiveSampler
from rolecall.learned import importers

ROOT = Path(__file__).resolve().parent.parent
TARGET_TAU = 0.9
TARGET_ERROR = 0.05
TARGET_BUDGET = 0.2

Array = NDArray[np.float64]


@dataclass
class Source:
    name: str
    models: list[str]
    tasks: list[str]  # per case
    scores: Array  # cases × models, complete
    buckets: list[str] | None = None  # per case, where the suite declares them


def sources(data: Path) -> Iterator[Source]:
    """The shared sources as complete score matrices (RouteLLM split into MMLU and GSM8K)."""
    records = {
        "llmrouter": importers.llmrouter(data / "llmrouter"),
        "routerarena": importers.routerarena(data / "routerarena"),
        "routellm": importers.routellm(data / "routellm"),
    }
    for name, rows in records.items():
        grouped: dict[str, list[dict[str, object]]] = defaultdict(list)
        for row in rows:
            task = str(row.get("task") or "")
            key = "routellm-gsm8k" if task.startswith("gsm8k") else "routellm-mmlu"
            grouped[key if name == "routellm" else name].append(row)
        for key, group in grouped.items():
            source = _matrix(key, group)
            if source is not None:
                yield source


def stored_source(database: str, run_id: str) -> Source:
    """A stored fixed run (every endpoint on every case: `rolecall bench run --full --fixed`) as
    a source, its cases' declared tasks and buckets kept; a failed case scores 0, a case some
    endpoint skipped is left out."""
    from rolecall.storage import open_storage

    storage = open_storage(database, migrate=False)
    try:
        results = storage.benchmarks.results(run_id)
    finally:
        storage.close()
    models = sorted({r.endpoint_id for r in results})
    cells: dict[str, dict[str, float]] = defaultdict(dict)
    facts: dict[str, tuple[str, str]] = {}
    for r in results:
        if r.status in ("graded", "failed"):
            cells[r.case_key][r.endpoint_id] = 0.0 if r.status == "failed" else float(r.score or 0)
            facts[r.case_key] = (r.task, r.bucket)
    keys = sorted(k for k, by in cells.items() if len(by) == len(models))
    if len(models) < 2 or not keys:
        raise SystemExit(f"run {run_id}: needs two or more endpoints graded on the same cases")
    scores = np.clip(np.array([[cells[k][m] for m in models] for k in keys]), 0, 1)
    return Source(
        f"stored run {run_id}",
        models,
        [facts[k][0] for k in keys],
        scores,
        [facts[k][1] for k in keys],
    )


def _matrix(name: str, rows: list[dict[str, object]]) -> Source | None:
    models = sorted({str(r["model"]) for r in rows})
    index = {m: j for j, m in enumerate(models)}
    cells: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    tasks: dict[str, str] = {}
    for r in rows:
        pid = str(r["prompt_id"])
        cells[pid][index[str(r["model"])]].append(float(r["score"]))  # type: ignore[arg-type]
        tasks[pid] = str(r.get("task") or "")
    complete = [pid for pid, by_model in cells.items() if len(by_model) == len(models)]
    if len(models) < 2 or not complete:
        return None
    scores = np.array(
        [[np.mean(cells[pid][j]) for j in range(len(models))] for pid in sorted(complete)]
    )
    return Source(name, models, [tasks[pid] for pid in sorted(complete)], np.clip(scores, 0, 1))


def strata(tasks: list[str], items: ItemStats) -> NDArray[np.int64]:
    """Each case's stratum: its task × the tercile of its fitted difficulty."""
    terciles = np.quantile(items.difficulty, [1 / 3, 2 / 3])
    bucket = np.searchsorted(terciles, items.difficulty)
    names = {t: k for k, t in enumerate(sorted(set(tasks)))}
    out: NDArray[np.int64] = np.array([names[t] * 3 for t in tasks]) + bucket
    return out


def adaptive_estimate(
    answers: Array, items: ItemStats, groups: NDArray[np.int64], budget: int
) -> float:
    """Answer ``budget`` cases, round-robin over the strata, each the most informative of its
    stratum at the current ability; the full-suite estimate (observed + predicted)."""
    tested = np.zeros(items.n, dtype=bool)
    order = list(np.unique(groups))
    theta = 0.0
    picked: list[int] = []
    turn = 0
    while len(picked) < budget and len(picked) < items.n:
        group = order[turn % len(order)]
        turn += 1
        candidates = np.flatnonzero((groups == group) & ~tested)
        if candidates.size == 0:  # this stratum is used up; an untested case is in another
            continue
        best = candidates[np.argmax(information(theta, items.subset(candidates)))]
        tested[best] = True
        picked.append(int(best))
        index = np.array(picked)
        theta = ability(answers[index], items.subset(index)).theta
    rest = np.flatnonzero(~tested)
    predicted = expected_score(theta, items.subset(rest)) * rest.size if rest.size else 0.0
    return float((answers[tested].sum() + predicted) / items.n)


def stratified_estimate(
    answers: Array, groups: NDArray[np.int64], budget: int, rng: np.random.Generator
) -> float:
    """A sample of ``budget`` cases allocated to the strata in proportion to their size (at
    least one each), the strata's means weighted by their sizes."""
    names, sizes = np.unique(groups, return_counts=True)
    take = np.maximum(1, np.round(sizes / sizes.sum() * budget)).astype(int)
    total = 0.0
    for name, size, k in zip(names, sizes, take, strict=True):
        members = np.flatnonzero(groups == name)
        chosen = rng.choice(members, min(k, members.size), replace=False)
        total += answers[chosen].mean() * size
    return total / groups.size


def evaluate(source: Source, share: float, seeds: int) -> dict[str, float]:
    """Every model in turn the new endpoint: item statistics and strata from the others only."""
    n, m = source.scores.shape
    budget = max(1, round(share * n))
    truth = source.scores.mean(axis=0)
    adaptive = np.zeros(m)
    groups = []
    for j in range(m):
        items, _ = fit_items(source.scores[:, [k for k in range(m) if k != j]])
        groups.append(strata(source.tasks, items))
        adaptive[j] = adaptive_estimate(source.scores[:, j], items, groups[j], budget)
    random_tau, random_error, strat_tau, strat_error = [], [], [], []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        sample = rng.choice(n, budget, replace=False)
        guess = source.scores[sample].mean(axis=0)
        random_tau.append(_tau(guess, truth))
        random_error.append(float(np.max(np.abs(guess - truth))))
        strat = np.array(
            [stratified_estimate(source.scores[:, j], groups[j], budget, rng) for j in range(m)]
        )
        strat_tau.append(_tau(strat, truth))
        strat_error.append(float(np.max(np.abs(strat - truth))))
    return {
        "cases": n,
        "models": m,
        "budget": budget,
        "tau": _tau(adaptive, truth),
        "error": float(np.max(np.abs(adaptive - truth))),
        "random_tau": statistics.median(random_tau),
        "random_error": statistics.median(random_error),
        "strat_tau": statistics.median(strat_tau),
        "strat_error": statistics.median(strat_error),
    }


TERCILES = ("easy", "medium", "hard")


def _slots(source: Source, items: ItemStats | None) -> list[Slot]:
    """The source's prompts as an adaptive run's candidates: the task, and the declared bucket
    (a stored run's), else the tercile of the difficulty fitted from other models, else (no
    item statistics either) "medium" for all."""
    if items is None:
        declared = source.buckets or ["medium"] * len(source.tasks)
        return [Slot(str(i), t, declared[i]) for i, t in enumerate(source.tasks)]
    cuts = np.quantile(items.difficulty, [1 / 3, 2 / 3])
    terciles = [TERCILES[int(k)] for k in np.searchsorted(cuts, items.difficulty)]
    buckets = source.buckets or terciles
    return [
        Slot(
            str(i),
            t,
            buckets[i],
            float(items.difficulty[i]),
            float(items.discrimination[i]),
            bool(items.flat[i]),
        )
        for i, t in enumerate(source.tasks)
    ]


def walk(sampler: AdaptiveSampler, answers: dict[str, Array]) -> None:
    """Every endpoint of the sampler answers its picks (one at a time each, in turn) until all
    have stopped."""
    active = list(answers)
    while active:
        for endpoint in list(active):
            key = sampler.next_case(endpoint)
            if key is None:
                active.remove(endpoint)
                continue
            sampler.record(endpoint, key, float(answers[endpoint][int(key)]))


def _settings(n: int, share: float, seed: str, precision: float | None) -> AdaptiveSettings:
    """A case budget of ``share``; with ``precision``, each endpoint also walks until its 95%
    interval is within ±precision (a quality error bound, not only the ranking)."""
    budget = max(1, round(share * n))
    if precision is None:
        return AdaptiveSettings(max_cases=budget, seed=seed)
    return AdaptiveSettings(
        max_cases=budget, seed=seed, precision=precision, require_precision=True
    )


def sampler_pool(
    source: Source, share: float, seed: int, precision: float | None
) -> dict[str, float]:
    """The models of the source walk together as a fresh pool (no item statistics, no anchors):
    the production sampler (`rolecall.benchmark.sampler`)."""
    n = source.scores.shape[0]
    settings = _settings(n, share, f"pool-{seed}", precision)
    sampler = AdaptiveSampler(_slots(source, None), settings, source.models)
    walk(sampler, {name: source.scores[:, j] for j, name in enumerate(source.models)})
    estimates = np.array([_mean(sampler, name) for name in source.models])
    truth = source.scores.mean(axis=0)
    used = [len(sampler.walks[name].scores) for name in source.models]
    return {
        "used": float(np.mean(used)) / n,
        "tau": _tau(estimates, truth),
        "error": float(np.max(np.abs(estimates - truth))),
    }


def sampler_join(source: Source, share: float, precision: float | None) -> dict[str, float]:
    """Every model in turn joins a measured pool: the others are anchors (their full scores)
    and fit the item statistics; the newcomer walks alone against them."""
    n, m = source.scores.shape
    truth = source.scores.mean(axis=0)
    estimates, used, placed = np.zeros(m), [], []
    for j, name in enumerate(source.models):
        others = [k for k in range(m) if k != j]
        items, _ = fit_items(source.scores[:, others])
        anchors = {
            source.models[k]: {str(i): float(source.scores[i, k]) for i in range(n)} for k in others
        }
        settings = _settings(n, share, f"join-{name}", precision)
        sampler = AdaptiveSampler(_slots(source, items), settings, [name], anchors)
        walk(sampler, {name: source.scores[:, j]})
        estimates[j] = _mean(sampler, name)
        used.append(len(sampler.walks[name].scores))
        placed += [
            (estimates[j] > truth[k]) == (truth[j] > truth[k])
            for k in others
            if truth[j] != truth[k]
        ]
    return {
        "used": float(np.mean(used)) / n,
        "tau": _tau(estimates, truth),
        "error": float(np.max(np.abs(estimates - truth))),
        "placed": float(np.mean(placed)) if placed else 1.0,
    }


def _mean(sampler: AdaptiveSampler, name: str) -> float:
    estimate = sampler.estimate(name)
    return float("nan") if estimate is None else estimate.mean


def _tau(a: Array, b: Array) -> float:
    if len(a) < 2:
        return float("nan")
    value = kendalltau(a, b).statistic
    return float(value) if value == value else 1.0  # all tied on both sides: the same ranking


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--budget", type=float, default=TARGET_BUDGET, help="share of the cases")
    parser.add_argument("--seeds", type=int, default=5, help="random-sample repetitions")
    parser.add_argument(
        "--precision", type=float, default=TARGET_ERROR, help="the sampler's precision rows"
    )
    parser.add_argument("--run", help="a stored fixed run to measure instead of the records")
    parser.add_argument("--database", help="the database holding --run (SQLAlchemy URL)")
    args = parser.parse_args()
    if args.run:
        if not args.database:
            parser.error("--run needs --database")
        chosen = [stored_source(args.database, args.run)]
    else:
        chosen = list(sources(args.data))
    print(f"budget: {args.budget:.0%} of each suite's cases per endpoint")
    head = (
        "source | models | cases | used | IRT τ / max error | stratified τ / max error"
        " | random τ / max error | s"
    )
    print(head)
    for source in chosen:
        started = time.perf_counter()
        r = evaluate(source, args.budget, args.seeds)
        print(
            f"{source.name} | {r['models']:.0f} | {r['cases']:,.0f} | {r['budget']:,.0f} | "
            f"{r['tau']:.3f} / {r['error']:.3f} | {r['strat_tau']:.3f} / {r['strat_error']:.3f}"
            f" | {r['random_tau']:.3f} / {r['random_error']:.3f}"
            f" | {time.perf_counter() - started:.1f}"
        )
    for precision in (None, args.precision):
        stop = "ranking settled" if precision is None else f"ranking and ±{precision} (95%)"
        print()
        print(f"the production sampler (rolecall.benchmark.sampler), stopping on: {stop}")
        print(
            "source | pool run: cases used / τ / max error (median of seeds)"
            " | a newcomer joins: cases used / τ / max error / pairs placed right | s"
        )
        for source in chosen:
            started = time.perf_counter()
            pools = [sampler_pool(source, args.budget, k, precision) for k in range(args.seeds)]
            pool = {k: statistics.median(p[k] for p in pools) for k in pools[0]}
            join = sampler_join(source, args.budget, precision)
            print(
                f"{source.name} | {pool['used']:.1%} / {pool['tau']:.3f} / {pool['error']:.3f}"
                f" | {join['used']:.1%} / {join['tau']:.3f} / {join['error']:.3f}"
                f" / {join['placed']:.1%} | {time.perf_counter() - started:.1f}"
            )
    print(f"targets: τ ≥ {TARGET_TAU}, max error ≤ {TARGET_ERROR} at ≤ {TARGET_BUDGET:.0%}")


if __name__ == "__main__":
    main()
