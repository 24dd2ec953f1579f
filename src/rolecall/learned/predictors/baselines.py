"""Reference predictors: oracle r_o, r_o(p), random, and the best single model chosen on train."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from rolecall.learned.metrics import r_o_mu, r_o_probabilities, random_mu
from rolecall.learned.predictors.base import Choice, Dataset, Matrix, Predictor, register


@register
class OraclePredictor(Predictor):
    """Picks a best-scoring candidate per prompt from the test labels: the upper bound, not deployable."""

    name: ClassVar[str] = "oracle"
    description: ClassVar[str] = "upper bound: best candidate per prompt (reads test labels)"
    deployable: ClassVar[bool] = False

    def predict(self, data: Dataset) -> Matrix:
        return data.labels()

    def probabilities(self, data: Dataset) -> Matrix:
        return r_o_probabilities(data.labels(), 1.0)


@register
class RoPPredictor(Predictor):
    """r_o(p): the oracle with probability p (default 0.5), else a uniformly random candidate."""

    name: ClassVar[str] = "r_o"
    description: ClassVar[str] = "oracle with probability p (default 0.5), else random"
    deployable: ClassVar[bool] = False

    def __init__(self, p: float = 0.5, seed: int = 0, **params: Any) -> None:
        super().__init__(p=p, seed=seed, **params)
        self.p, self.seed = p, seed

    def predict(self, data: Dataset) -> Matrix:
        return r_o_probabilities(data.labels(), self.p)

    def choose(self, data: Dataset) -> Choice:
        rng = np.random.default_rng(self.seed)
        scores = data.labels()
        n, m = scores.shape
        best = np.argmax(scores + rng.random((n, m)) * 1e-9, axis=1)  # random among tied best
        use_oracle = rng.random(n) < self.p
        return np.where(use_oracle, best, rng.integers(0, m, n)).astype(np.int64)

    def probabilities(self, data: Dataset) -> Matrix:
        return r_o_probabilities(data.labels(), self.p)

    def expected_score(self, data: Dataset) -> float | None:
        return r_o_mu(data.labels(), self.p)


@register
class RandomPredictor(Predictor):
    """A uniformly random candidate per prompt (r_o(0))."""

    name: ClassVar[str] = "random"
    description: ClassVar[str] = "uniformly random candidate"

    def __init__(self, seed: int = 0, **params: Any) -> None:
        super().__init__(seed=seed, **params)
        self.seed = seed

    def predict(self, data: Dataset) -> Matrix:
        return np.full((data.n, len(self.models)), 1.0 / len(self.models))

    def expected_score(self, data: Dataset) -> float | None:
        return None if data.scores is None else random_mu(data.scores)

    def choose(self, data: Dataset) -> Choice:
        rng = np.random.default_rng(self.seed)
        return rng.integers(0, len(self.models), data.n).astype(np.int64)

    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"seed": self.seed}, {}

    def load_state(self, meta: dict[str, Any], arrays: dict[str, Any]) -> None:
        self.seed = int(meta["seed"])


@register
class BestSinglePredictor(Predictor):
    """Always the model with the best mean score on the training prompts."""

    name: ClassVar[str] = "best_single"
    description: ClassVar[str] = "the best model on train, for every prompt"

    def _fit(self, train: Dataset) -> None:
        self.means = np.mean(train.labels(), axis=0)

    def predict(self, data: Dataset) -> Matrix:
        return np.tile(self.means, (data.n, 1))

    def choose(self, data: Dataset) -> Choice:
        return np.full(data.n, self.best_index, dtype=np.int64)

    def probabilities(self, data: Dataset) -> Matrix:
        out = np.zeros((data.n, len(self.models)))
        out[:, self.best_index] = 1.0
        return out

    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return {}, {"means": self.means}

    def load_state(self, meta: dict[str, Any], arrays: dict[str, Any]) -> None:
        self.means = np.asarray(arrays["means"], dtype=np.float64)
