"""``mlc``: RouterEval's multi-label classifier router.

Each prompt's labels are the models that reach its best score (ties all count); one logistic
classifier per model learns, from word and character TF-IDF, whether that model is among the best
for a prompt, and the router picks the most probable. Prompts on which every model scores the same
say nothing about whom to route to and are left out of training. The weights are stored sparse:
hashed features never seen in training have none.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from rolecall.learned.predictors.base import Dataset, Matrix, Predictor, register
from rolecall.learned.predictors.classic import fit_logistic, sigmoid

Array = NDArray[Any]
MAX_FIT = 30_000  # prompts the classifiers learn from (a random sample beyond this)
TIE = 1e-9


def best_labels(y: Matrix) -> tuple[Matrix, NDArray[np.bool_]]:
    """The multi-label target (1 where a model reaches the prompt's best score) and which prompts
    separate the models at all."""
    top = y.max(axis=1, keepdims=True)
    labels = (y >= top - TIE).astype(np.float64)
    informative = labels.sum(axis=1) < y.shape[1]
    return labels, informative


@register
class MlcPredictor(Predictor):
    name: ClassVar[str] = "mlc"
    description: ClassVar[str] = "MLC: multi-label classifier of each prompt's best models (TF-IDF)"

    def __init__(self, c: float = 1.0, seed: int = 0, **params: Any) -> None:
        super().__init__(c=c, seed=seed, **params)
        self.c, self.seed = c, seed

    def _fit(self, train: Dataset) -> None:
        from scipy.sparse import csr_matrix  # type: ignore[import-untyped]

        sparse = train.features.sparse
        assert sparse is not None, "the mlc router needs TF-IDF features"
        labels, informative = best_labels(train.labels())
        rows = np.flatnonzero(informative)
        if len(rows) > MAX_FIT:
            rows = np.sort(np.random.default_rng(self.seed).choice(rows, MAX_FIT, False))
        if len(rows) == 0:  # every model ties everywhere: the best single model, always
            self.coef_t = csr_matrix((sparse.shape[1], len(train.models)), dtype=np.float32)
            self.intercept = np.zeros(len(train.models))
            self.intercept[self.best_index] = 1.0
            return
        coef, self.intercept = fit_logistic(sparse[rows], labels[rows], self.c, "liblinear")
        self.coef_t = csr_matrix(coef.T.astype(np.float32))

    def logits(self, data: Dataset) -> Matrix:
        product = data.features.sparse @ self.coef_t
        dense = product.toarray() if hasattr(product, "toarray") else product
        return np.asarray(dense, dtype=np.float64) + self.intercept

    def predict(self, data: Dataset) -> Matrix:
        """P(model is among the prompt's best), per model."""
        return sigmoid(self.logits(data))

    def probabilities(self, data: Dataset) -> Matrix:
        p = np.maximum(self.predict(data), 1e-9)
        return np.asarray(p / p.sum(axis=1, keepdims=True), dtype=np.float64)

    def state(self) -> tuple[dict[str, Any], dict[str, Array]]:
        c = self.coef_t.tocsr()
        arrays = {
            "coef_data": c.data,
            "coef_indices": c.indices,
            "coef_indptr": c.indptr,
            "coef_shape": np.asarray(c.shape, dtype=np.int64),
            "intercept": self.intercept,
        }
        return {"c": self.c}, arrays

    def load_state(self, meta: dict[str, Any], arrays: dict[str, Array]) -> None:
        from scipy.sparse import csr_matrix

        self.c = float(meta["c"])
        shape = tuple(int(v) for v in arrays["coef_shape"])
        parts = (arrays["coef_data"], arrays["coef_indices"], arrays["coef_indptr"])
        self.coef_t = csr_matrix(parts, shape=shape)
        self.intercept = np.asarray(arrays["intercept"], dtype=np.float64)
