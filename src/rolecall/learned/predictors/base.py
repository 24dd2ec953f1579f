"""The predictor base class (a learned router), the data it sees, and the name registry.

A `Predictor` is fitted on a training `Dataset` (features + the prompt × model score matrix) and, for a
new `Dataset`, predicts an expected score per candidate; it picks the argmax unless it overrides
`choose` (shrinkage, cost-aware utility). Deployable predictors also serialise to plain arrays (no
pickle).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from rolecall.learned.errors import LabError
from rolecall.learned.metrics import softmax

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix  # type: ignore[import-untyped]

Matrix = NDArray[np.float64]
Choice = NDArray[np.int64]


@dataclass
class Features:
    """Prompt features: a dense, L2-normalised embedding and (optionally) sparse TF-IDF."""

    dense: NDArray[np.float32]
    sparse: csr_matrix | None = None

    @property
    def n(self) -> int:
        return int(self.dense.shape[0])

    def rows(self, idx: NDArray[np.int64]) -> Features:
        return Features(self.dense[idx], None if self.sparse is None else self.sparse[idx])


@dataclass
class Dataset:
    """What a predictor sees. ``scores`` is the full matrix (required for training; at test time only the
    label-using bounds — oracle, r_o(p) — read it). ``model_cost`` is each model's expected cost."""

    features: Features
    models: list[str]
    scores: Matrix | None = None
    tasks: list[str | None] = field(default_factory=list)
    model_cost: Matrix | None = None

    @property
    def n(self) -> int:
        return self.features.n

    def rows(self, idx: NDArray[np.int64]) -> Dataset:
        return Dataset(
            self.features.rows(idx),
            self.models,
            None if self.scores is None else self.scores[idx],
            [self.tasks[i] for i in idx] if self.tasks else [],
            self.model_cost,
        )

    def columns(self, cols: Sequence[int]) -> Dataset:
        """The same prompts with only the models ``cols`` (in that order)."""
        keep = list(cols)
        return Dataset(
            self.features,
            [self.models[j] for j in keep],
            None if self.scores is None else self.scores[:, keep],
            self.tasks,
            None if self.model_cost is None else self.model_cost[keep],
        )

    def labels(self) -> Matrix:
        if self.scores is None:
            raise LabError("this router needs the score matrix (train it, or pass test scores)")
        return self.scores


class Predictor:
    """Base class: subclasses implement `fit` and `predict`; the rest has sensible defaults."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    deployable: ClassVar[bool] = True
    # `predict` gives each model's probability of success (its calibration is then reported)
    predicts_success: ClassVar[bool] = False

    def __init__(self, **params: Any) -> None:
        self.params = params
        self.models: list[str] = []
        self.best_index = 0
        self.training_cost: Matrix | None = None  # mean cost per model in the training records

    def fit(self, train: Dataset) -> Predictor:
        self.models = list(train.models)
        self.best_index = int(np.argmax(np.mean(train.labels(), axis=0)))
        self.training_cost = train.model_cost
        self._fit(train)
        return self

    def _fit(self, train: Dataset) -> None:
        """Learn from ``train`` (models and best_index are already set)."""

    def predict(self, data: Dataset) -> Matrix:
        raise NotImplementedError

    def choose(self, data: Dataset) -> Choice:
        return np.asarray(np.argmax(self.predict(data), axis=1), dtype=np.int64)

    def expected_score(self, data: Dataset) -> float | None:
        """For randomised predictors, the exact expected µ_o (what averaging many runs estimates)."""
        return None

    def probabilities(self, data: Dataset) -> Matrix:
        """The predictor's per-prompt probability vectors (for E_p): by default a softmax of predictions."""
        return softmax(self.predict(data))

    # --- serialisation: plain JSON metadata + named numpy arrays ---------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        raise LabError(f"router {self.name!r} cannot be saved as a deployable artifact")

    def load_state(self, meta: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> None:
        raise LabError(f"router {self.name!r} cannot be loaded from an artifact")


REGISTRY: dict[str, Callable[..., Predictor]] = {}


def register(cls: type[Predictor]) -> type[Predictor]:
    REGISTRY[cls.name] = cls
    return cls


def create(name: str, **params: Any) -> Predictor:
    _load_builtin()
    if name not in REGISTRY:
        raise LabError(f"unknown router {name!r}; choose one of: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name](**params)


def names() -> list[str]:
    _load_builtin()
    return list(REGISTRY)


def _load_builtin() -> None:
    # importing the modules registers their predictors (kept lazy: scikit-learn loads only when used)
    from rolecall.learned.predictors import baselines, classic, ensemble, mf, mlc  # noqa: F401
