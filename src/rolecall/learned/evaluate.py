"""Train predictors on one record file and score them on another with every metric (one row per predictor)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rolecall.learned import metrics as mt
from rolecall.learned.errors import LabError
from rolecall.learned.features import DEFAULT_ENCODER, FeatureSpace
from rolecall.learned.matrix import ScoreMatrix, normalise_prompt
from rolecall.learned.predictors.base import Dataset, Predictor, create, names

DEFAULT_PREDICTOR = "rolecall"
# willingness-to-pay grid for cost–quality curves and AIQ, relative to the mean model cost: from
# "quality is worth 1% of a typical call" (always the cheapest) to "worth 10,000 calls" (quality only)
RELATIVE_WILLINGNESS = tuple(float(x) for x in np.logspace(-2, 4, 31))


@dataclass
class Prepared:
    """Train and test data in one feature space, with the train-selected best single model."""

    train: Dataset
    test: Dataset
    train_matrix: ScoreMatrix
    test_matrix: ScoreMatrix
    space: FeatureSpace

    @property
    def best_index(self) -> int:
        return mt.best_single_index(self.train.labels())


def to_dataset(matrix: ScoreMatrix, space: FeatureSpace, cost: np.ndarray | None = None) -> Dataset:
    return Dataset(
        features=space.transform(matrix.prompts),
        models=list(matrix.models),
        scores=matrix.scores,
        tasks=list(matrix.tasks),
        model_cost=matrix.model_cost() if cost is None else cost,
    )


def prepare(
    train: ScoreMatrix,
    test: ScoreMatrix,
    encoder: str = DEFAULT_ENCODER,
    cache_dir: Path | None = None,
    drop_overlap: bool = False,
) -> Prepared:
    """Align models, keep complete rows, optionally drop test prompts whose text is also in train."""
    missing = [m for m in train.models if m not in test.models]
    if missing:
        raise LabError(
            f"model {missing[0]!r} is in the training records but not in the test records"
        )
    train, test = train.complete(), test.columns(train.models).complete()
    if drop_overlap:
        seen = {normalise_prompt(p) for p in train.prompts}
        test = test.rows([i for i, p in enumerate(test.prompts) if normalise_prompt(p) not in seen])
    if train.n < 2 or test.n < 1:
        raise LabError(
            f"need at least 2 complete training prompts and 1 test prompt ({train.n}/{test.n})"
        )
    space = FeatureSpace(encoder, cache_dir).fit(train.prompts)
    train_ds = to_dataset(train, space)
    return Prepared(train_ds, to_dataset(test, space, train_ds.model_cost), train, test, space)


def overlap_count(train: ScoreMatrix, test: ScoreMatrix) -> int:
    seen = {normalise_prompt(p) for p in train.prompts}
    return sum(normalise_prompt(p) in seen for p in test.prompts)


def predictor_names(selection: str) -> list[str]:
    if selection == "all":
        return names()
    return [s.strip() for s in selection.split(",") if s.strip()]


def evaluate(
    prepared: Prepared,
    predictors: Sequence[str],
    reference_accuracy: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    rows = []
    for name in predictors:
        if progress:
            progress(name)
        predictor = create(name).fit(prepared.train)
        rows.append(score_predictor(predictor, prepared, reference_accuracy))
    return rows


def score_predictor(
    predictor: Predictor, prepared: Prepared, reference_accuracy: float | None = None
) -> dict[str, Any]:
    test, y = prepared.test, prepared.test.labels()
    best = prepared.best_index
    choice = predictor.choose(test)
    expected = predictor.expected_score(test)  # random and r_o(p): the exact average over runs
    mu = mt.mu_o(y, choice) if expected is None else expected
    oracle = mt.oracle_mu(y)
    best_single = float(np.mean(y[:, best]))
    row: dict[str, Any] = {
        "router": predictor.name,
        "n_test": len(y),
        "m": int(y.shape[1]),
        "mu_o": mu,
        "v_b": mt.v_b(mu, y),
        "v_b_train": mt.v_b_train(mu, y, best),
        "v_r": None if reference_accuracy is None else mt.v_r(mu, reference_accuracy),
        "oracle": oracle,
        "random": mt.random_mu(y),
        "best_single": best_single,
        "best_single_model": prepared.train.models[best],
        "best_single_test": float(np.max(mt.model_means(y))),
        "e_p": mt.selection_entropy(predictor.probabilities(test)),
        "choice_entropy": mt.choice_entropy(choice, y.shape[1]),
        "ece": mt.calibration_error(predictor.predict(test), y)
        if predictor.predicts_success
        else None,
        "gain": mt.gain_over_best(mu, best_single),
        "gap_closed": mt.gap_closed(mu, best_single, oracle),
        "selection": {
            prepared.train.models[j]: int(c)
            for j, c in enumerate(np.bincount(choice, minlength=y.shape[1]))
        },
    }
    row.update(_binary_metrics(predictor, prepared, best))
    row.update(_cost_metrics(predictor, prepared, choice))
    return _clean(row)


def _binary_metrics(predictor: Predictor, prepared: Prepared, best: int) -> dict[str, Any]:
    """RouteLLM's APGR/CPT for two-model pools (strong = the train-best model)."""
    y = prepared.test.labels()
    if y.shape[1] != 2:
        return {}
    weak = 1 - best
    predicted = predictor.predict(prepared.test)
    curve = mt.threshold_curve(predicted[:, best] - predicted[:, weak], y[:, best], y[:, weak])
    return {
        "apgr": mt.apgr(curve),
        "cpt50": mt.cpt(curve, 0.5),
        "cpt80": mt.cpt(curve, 0.8),
        "strong_percent": 100.0 * float(np.mean(predictor.choose(prepared.test) == best)),
    }


def _cost_metrics(predictor: Predictor, prepared: Prepared, choice: np.ndarray) -> dict[str, Any]:
    """Mean cost, the cost–quality curve's AIQ and the zero router's AIQ (RouterBench)."""
    test = prepared.test_matrix
    if not test.has_costs():
        return {}
    y, costs = prepared.test.labels(), np.nan_to_num(test.costs, nan=0.0)
    rows = np.arange(len(y))
    model_points = np.column_stack([costs.mean(axis=0), y.mean(axis=0)])
    out: dict[str, Any] = {"mean_cost": float(np.mean(costs[rows, choice]))}
    lo, hi = float(model_points[:, 0].min()), float(model_points[:, 0].max())
    if hi > lo:
        model_cost = prepared.train.model_cost
        assert model_cost is not None
        scale = float(np.mean(model_cost)) or 1.0
        grid = [w * scale for w in RELATIVE_WILLINGNESS]
        curve = mt.cost_quality_curve(predictor.predict(prepared.test), model_cost, y, costs, grid)
        out["aiq"] = mt.aiq(curve, lo, hi)
        out["zero_router_aiq"] = mt.zero_router_aiq(model_points)
        out["cost_quality"] = curve.tolist()
    return out


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe: NaN becomes null."""
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
