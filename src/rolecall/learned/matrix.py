"""The prompt × model score matrix that predictors train and are evaluated on, and leakage-free splits."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rolecall.learned.errors import LabError
from rolecall.learned.records import connect, validate


@dataclass(frozen=True)
class ScoreMatrix:
    """Scores (n prompts × m models; NaN where a model was not scored) plus prompt metadata.

    Duplicate (prompt_id, model) records are averaged. ``costs`` is NaN where unknown.
    """

    prompt_ids: list[str]
    prompts: list[str]
    models: list[str]
    scores: NDArray[np.float64]
    costs: NDArray[np.float64]
    tasks: list[str | None]
    splits: list[str | None]

    @property
    def n(self) -> int:
        return len(self.prompt_ids)

    def rows(self, index: Sequence[int] | NDArray[np.int64]) -> ScoreMatrix:
        idx = np.asarray(index, dtype=np.int64)
        return replace(
            self,
            prompt_ids=[self.prompt_ids[i] for i in idx],
            prompts=[self.prompts[i] for i in idx],
            scores=self.scores[idx],
            costs=self.costs[idx],
            tasks=[self.tasks[i] for i in idx],
            splits=[self.splits[i] for i in idx],
        )

    def columns(self, models: Sequence[str]) -> ScoreMatrix:
        """Keep (and order) the named models; a name not present is an error naming it."""
        missing = [m for m in models if m not in self.models]
        if missing:
            raise LabError(
                f"model {missing[0]!r} not in the records (have: {', '.join(self.models)})"
            )
        idx = [self.models.index(m) for m in models]
        return replace(
            self, models=list(models), scores=self.scores[:, idx], costs=self.costs[:, idx]
        )

    def split(self, name: str) -> ScoreMatrix:
        return self.rows([i for i, s in enumerate(self.splits) if s == name])

    def complete(self) -> ScoreMatrix:
        """Only prompts that every model was scored on (evaluation needs the full matrix)."""
        return self.rows(np.flatnonzero(~np.isnan(self.scores).any(axis=1)))

    def task(self, name: str) -> ScoreMatrix:
        return self.rows([i for i, t in enumerate(self.tasks) if t == name])

    def task_names(self) -> list[str]:
        return sorted({t for t in self.tasks if t is not None})

    def model_cost(self) -> NDArray[np.float64]:
        """Mean known cost per model (0 where no cost is known)."""
        known = np.isfinite(self.costs)
        totals = np.where(known, self.costs, 0.0).sum(axis=0)
        counts = known.sum(axis=0)
        return np.asarray(
            np.where(counts > 0, totals / np.maximum(counts, 1), 0.0), dtype=np.float64
        )

    def has_costs(self) -> bool:
        return bool(np.isfinite(self.costs).any())


def load_matrix(path: Path, split: str | None = None) -> ScoreMatrix:
    """Pivot a canonical record file into a ScoreMatrix (aggregation runs inside DuckDB)."""
    with connect() as con:
        view = validate(con, path)
        where = "WHERE split = ?" if split else ""
        params = [split] if split else []
        # three streaming passes: prompts (with their row index), models, then the cells; only
        # the small index tables are materialised, never the records
        con.execute(
            f"""CREATE TEMP TABLE p AS SELECT prompt_id, any_value(prompt) AS prompt,
                  any_value(task) AS task, any_value(split) AS split,
                  row_number() OVER (ORDER BY prompt_id) - 1 AS i
                FROM {view} {where} GROUP BY prompt_id""",
            params,
        )
        con.execute(
            f"""CREATE TEMP TABLE m AS SELECT model, row_number() OVER (ORDER BY model) - 1 AS j
                FROM (SELECT DISTINCT model FROM {view} {where})""",
            params,
        )
        models = [r[0] for r in con.execute("SELECT model FROM m ORDER BY j").fetchall()]
        prompts = con.execute(
            "SELECT prompt_id, prompt, task, split FROM p ORDER BY i"
        ).fetchnumpy()
        cells = con.execute(
            f"""SELECT p.i, m.j, avg(r.score), avg(r.cost_usd) FROM {view} r
                JOIN p USING (prompt_id) JOIN m USING (model) {where.replace("split", "r.split")}
                GROUP BY p.i, m.j""",
            params,
        ).fetchnumpy()
    ids = [str(x) for x in prompts["prompt_id"]]
    if not ids:
        hint = (
            f" with split={split!r} (give the file a split with 'rolecall lab import')"
            if split
            else ""
        )
        raise LabError(f"{path}: no records{hint}")
    values = list(cells.values())
    i, j = np.asarray(values[0], dtype=np.int64), np.asarray(values[1], dtype=np.int64)
    scores = np.full((len(ids), len(models)), np.nan)
    costs = np.full((len(ids), len(models)), np.nan)
    scores[i, j] = np.asarray(values[2], dtype=np.float64)
    costs[i, j] = _float_array(values[3])
    cols = list(prompts.values())
    return ScoreMatrix(
        prompt_ids=ids,
        prompts=[str(x) for x in cols[1]],
        models=models,
        scores=scores,
        costs=costs,
        tasks=[_none(x) for x in cols[2]],
        splits=[_none(x) for x in cols[3]],
    )


def _float_array(values: object) -> NDArray[np.float64]:
    arr: Any = np.ma.asarray(values)  # DuckDB returns masked arrays where values are NULL
    return np.asarray(np.ma.filled(arr.astype(np.float64), np.nan), dtype=np.float64)


def _none(value: object) -> str | None:
    if value is None or value is np.ma.masked or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)


# --- splits ----------------------------------------------------------------------------------------


def normalise_prompt(text: str) -> str:
    """Unicode-normalised, whitespace-collapsed text: the identity of a prompt for splitting."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def prompt_hash(text: str) -> str:
    return hashlib.sha256(normalise_prompt(text).encode()).hexdigest()[:16]


def hashed_split(prompt: str, test_fraction: float, seed: int = 0) -> str:
    """``train`` or ``test``, a pure function of the normalised prompt text.

    Every record of a prompt — and every copy of the same text under another id — lands in the same
    split, so no test prompt is ever seen in training.
    """
    digest = hashlib.sha256(f"{seed}:{normalise_prompt(prompt)}".encode()).digest()
    return "test" if int.from_bytes(digest[:8], "big") / 2**64 < test_fraction else "train"


def kfold_indices(n: int, folds: int, seed: int = 0) -> list[NDArray[np.int64]]:
    """Random, disjoint folds covering 0..n-1 (for cross-validation on train only)."""
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(part) for part in np.array_split(order, folds)]
