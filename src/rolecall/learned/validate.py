"""`rolecall lab validate`: evaluations that predict how a router does on data it was never tuned on.

* **Leave one source out.** Every candidate router is scored on every source's own train/test split.
  For each source, the default is the candidate that did best on the *other* sources (highest mean
  V_B against the train-chosen best model, among those that did no harm on any of them), so the
  figure reported for a source never informed the choice made for it.
* **Mixed tasks.** Sources that share a model pool are mixed, with the task labels hidden from the
  router (it must recover the task structure from the prompts), plus the published mixed split.
* **The guard, out of sample.** For the default router, what its per-task guard chose (best single,
  task best, learned) and, on the test prompts, how much better the best of those rules would have
  been in each task group (the guard's regret).

Sources come from a data folder laid out like ``../shared/data`` and, optionally, the store's own
records (`rolecall.learned.store_records`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from rolecall.learned import lab
from rolecall.learned.errors import LabError
from rolecall.learned.evaluate import Prepared, prepare, score_predictor
from rolecall.learned.matrix import ScoreMatrix
from rolecall.learned.predictors.base import Predictor, create

CANDIDATES = ("rolecall", "mlc", "cluster", "linear", "knn", "best_single")
DEFAULT = "rolecall"
NO_HARM = 0.99  # V_B against the train-chosen best model, on every source
MAX_TASK_PROMPTS = 1_500  # per task in a mixed set, so that one big task does not make it single

# name → (folder under the data root, import format)
SHARED_SOURCES: dict[str, tuple[str, str]] = {
    "routellm-mmlu": ("routellm/mmlu", "routellm"),
    "routellm-gsm8k": ("routellm/gsm8k", "routellm"),
    "mt-bench": ("routellm/mt_bench", "mt_bench"),
    "llmrouter": ("llmrouter", "llmrouter"),
    "routerarena": ("routerarena", "routerarena"),
}
# mixes of sources with one model pool (tasks hidden from the router)
MIXES: dict[str, tuple[str, ...]] = {
    "routellm: mmlu + gsm8k + mt-bench": ("routellm-mmlu", "routellm-gsm8k", "mt-bench"),
}

Progress = Callable[[str], None] | None


@dataclass(frozen=True)
class Source:
    name: str
    train: ScoreMatrix
    test: ScoreMatrix


def load_shared(root: Path, work: Path, progress: Progress = None) -> list[Source]:
    """Every source under ``root`` that exists, imported once into ``work`` (hashed 80/20 splits
    where a source has none)."""
    out = []
    for name, (folder, fmt) in SHARED_SOURCES.items():
        path = root / folder
        if not path.exists():
            continue
        records = work / f"{name}.parquet"
        if not records.exists():
            if progress:
                progress(f"importing {name}")
            work.mkdir(parents=True, exist_ok=True)
            lab.import_records(path, records, fmt)
        train = records.with_name(f"{name}.train.parquet")
        test = records.with_name(f"{name}.test.parquet")
        out.append(Source(name, *lab.load_pair(train, test)))
    if not out:
        raise LabError(
            f"no performance records under {root} (expected {', '.join(SHARED_SOURCES)})"
        )
    return out


def store_source(rows: list[dict[str, Any]], work: Path, test_fraction: float = 0.25) -> Source:
    """This deployment's own records (`store_records`) as a source: cases split by a hash of
    their text, as `lab train --from-store` splits them."""
    from rolecall.learned import importers
    from rolecall.learned.matrix import load_matrix
    from rolecall.learned.records import write_records

    if not rows:
        raise LabError("the store has no graded benchmark cases: run 'rolecall bench run' first")
    work.mkdir(parents=True, exist_ok=True)
    records = work / "store.parquet"
    write_records(importers.with_splits(iter(rows), test_fraction, 0), records)
    return Source("store", load_matrix(records, "train"), load_matrix(records, "test"))


def hide_tasks(matrix: ScoreMatrix) -> ScoreMatrix:
    return replace(matrix, tasks=[None] * matrix.n)


def mixed(sources: Sequence[Source], name: str, seed: int = 0) -> Source:
    """One source from several with the same models: each part labelled by its source, capped at
    `MAX_TASK_PROMPTS` prompts per part and split, and the labels hidden."""
    models = sources[0].train.models
    parts: dict[str, list[ScoreMatrix]] = {"train": [], "test": []}
    rng = np.random.default_rng(seed)
    for source in sources:
        for split, matrix in (("train", source.train), ("test", source.test)):
            part = matrix.columns(models).complete()
            cap = MAX_TASK_PROMPTS if split == "train" else MAX_TASK_PROMPTS // 4
            if part.n > cap:
                part = part.rows(np.sort(rng.choice(part.n, cap, replace=False)))
            parts[split].append(replace(part, tasks=[source.name] * part.n))
    train, test = (_concat(parts[s]) for s in ("train", "test"))
    return Source(name, hide_tasks(train), test)


def _concat(parts: Sequence[ScoreMatrix]) -> ScoreMatrix:
    first = parts[0]
    return replace(
        first,
        prompt_ids=[f"{i}/{p}" for i, m in enumerate(parts) for p in m.prompt_ids],
        prompts=[p for m in parts for p in m.prompts],
        scores=np.vstack([m.scores for m in parts]),
        costs=np.vstack([m.costs for m in parts]),
        tasks=[t for m in parts for t in m.tasks],
        splits=[s for m in parts for s in m.splits],
    )


def mixes(sources: Sequence[Source]) -> list[Source]:
    by_name = {s.name: s for s in sources}
    out = []
    for name, members in MIXES.items():
        present = [by_name[m] for m in members if m in by_name]
        if len(present) >= 2:
            out.append(mixed(present, name))
    if "llmrouter" in by_name:
        published = by_name["llmrouter"]
        out.append(Source("llmrouter (tasks hidden)", hide_tasks(published.train), published.test))
    return out


def score_source(
    source: Source,
    candidates: Sequence[str],
    encoder: str,
    cache_dir: Path | None,
    progress: Progress = None,
) -> dict[str, Any]:
    """Every candidate on one source's split, and the default router's guard, out of sample."""
    prepared = prepare(source.train, source.test, encoder, cache_dir)
    rows: dict[str, dict[str, Any]] = {}
    guard: dict[str, Any] | None = None
    for name in candidates:
        if progress:
            progress(f"{source.name}: {name}")
        predictor = create(name).fit(prepared.train)
        rows[name] = score_predictor(predictor, prepared)
        if name == DEFAULT:
            guard = guard_report(predictor, prepared)
    first = next(iter(rows.values()))
    return {
        "source": source.name,
        "n_train": prepared.train.n,
        "n_test": first["n_test"],
        "m": first["m"],
        "best_single": first["best_single"],
        "best_single_test": first["best_single_test"],
        "oracle": first["oracle"],
        "routers": rows,
        "guard": guard,
    }


def guard_report(predictor: Predictor, prepared: Prepared) -> dict[str, Any] | None:
    """The rule the guard chose per task group and, measured on the test prompts of each group,
    the score the best rule would have added (regret, in mean score over all test prompts)."""
    guard = getattr(predictor, "guard", None)
    if guard is None:
        return None
    test = prepared.test
    y = test.labels()
    tasks, choices = predictor.rule_choices(test)  # type: ignore[attr-defined]
    rows = np.arange(len(y))
    outcomes = np.stack([y[rows, c] for c in choices])  # rules × prompts
    regret = 0.0
    for t in np.unique(tasks):
        mask = tasks == t
        sums = outcomes[:, mask].sum(axis=1)
        regret += float(sums.max() - sums[guard.rules[t]])
    chosen = guard.apply(tasks, choices)
    return {
        "rules": guard.summary(),
        "regret": regret / len(y),
        "always": {
            name: float(outcomes[i].mean())
            for i, name in enumerate(("best_single", "task_best", "learned"))
        },
        "guarded": float(y[rows, chosen].mean()),
    }


def leave_one_out(
    results: Sequence[dict[str, Any]], candidates: Sequence[str]
) -> list[dict[str, Any]]:
    """For each source, the candidate chosen on the others, and how it did on this one."""
    table = []
    for i, held in enumerate(results):
        others = [r for j, r in enumerate(results) if j != i]
        chosen = choose_default(others, candidates)
        row = held["routers"][chosen]
        default = held["routers"].get(DEFAULT, row)
        table.append(
            {
                "source": held["source"],
                "n_test": held["n_test"],
                "m": held["m"],
                "best_single": held["best_single"],
                "oracle": held["oracle"],
                "chosen": chosen,
                "mu_o": row["mu_o"],
                "v_b": row["v_b"],
                "v_b_train": row["v_b_train"],
                "gap_closed": row["gap_closed"],
                "default_v_b": default["v_b"],
                "default_v_b_train": default["v_b_train"],
                "default_gap_closed": default["gap_closed"],
                "guard": held["guard"],
            }
        )
    return table


def choose_default(results: Sequence[dict[str, Any]], candidates: Sequence[str]) -> str:
    """The candidate with the best mean V_B (train-chosen reference) over ``results`` among those
    that did no harm on every one of them; the best single model when none qualifies."""
    if not results:
        return DEFAULT
    best, best_mean = "best_single", -np.inf
    for name in candidates:
        ratios = [r["routers"][name]["v_b_train"] for r in results if name in r["routers"]]
        if len(ratios) < len(results) or min(ratios) < NO_HARM:
            continue
        mean = float(np.mean(ratios))
        if mean > best_mean + 1e-12:
            best, best_mean = name, mean
    return best


def validate(
    root: Path,
    work: Path,
    candidates: Sequence[str] = CANDIDATES,
    encoder: str = "wordllama",
    store: Source | None = None,
    progress: Progress = None,
) -> dict[str, Any]:
    sources = load_shared(root, work, progress)
    if store is not None:
        sources.append(store)
    cache = work / "cache"
    per_source = [score_source(s, candidates, encoder, cache, progress) for s in sources]
    mixed_sets = [score_source(s, candidates, encoder, cache, progress) for s in mixes(sources)]
    # LLMRouter's published split is itself mixed: with its task labels given it is the source
    # just scored, not a second evaluation
    mixed_sets += [
        {**r, "source": "llmrouter (tasks given)"} for r in per_source if r["source"] == "llmrouter"
    ]
    return {
        "kind": "validate",
        "candidates": list(candidates),
        "leave_one_source_out": leave_one_out(per_source, candidates),
        "mixed": [_mixed_row(r) for r in mixed_sets],
        "per_source": per_source,
    }


def _mixed_row(result: dict[str, Any]) -> dict[str, Any]:
    default = result["routers"][DEFAULT]
    others = {n: r["v_b"] for n, r in result["routers"].items() if n != DEFAULT}
    best_other = max(others, key=lambda n: others[n]) if others else None
    return {
        "source": result["source"],
        "n_test": result["n_test"],
        "m": result["m"],
        "best_single": result["best_single"],
        "oracle": result["oracle"],
        "v_b": default["v_b"],
        "v_b_train": default["v_b_train"],
        "gap_closed": default["gap_closed"],
        "best_other": best_other,
        "best_other_v_b": None if best_other is None else others[best_other],
        "guard": result["guard"],
    }
