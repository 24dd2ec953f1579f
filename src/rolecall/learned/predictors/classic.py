"""The RouterEval baselines on a dense prompt embedding: PRknn, LinearR, MLPR and the k-means cluster
router (C-RoBERTa style). Inference is plain numpy over stored arrays, so all are deployable."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from rolecall.learned.predictors.base import Dataset, Matrix, Predictor, register

Array = NDArray[Any]


def top_k_mean(query: Array, keys: Array, values: Matrix, k: int, chunk: int = 2048) -> Matrix:
    """Mean of ``values`` over each query's k most cosine-similar keys (inputs are L2-normalised)."""
    k = max(1, min(k, len(keys)))
    out = np.empty((len(query), values.shape[1]))
    for start in range(0, len(query), chunk):
        sims = query[start : start + chunk] @ keys.T
        idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        out[start : start + chunk] = values[idx].mean(axis=1)
    return out


def sigmoid(x: Matrix) -> Matrix:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)), dtype=np.float64)


def fit_logistic(x: Any, y: Matrix, c: float, solver: str = "lbfgs") -> tuple[Matrix, Matrix]:
    """One L2-regularised logistic regression per column of ``y`` (fractional scores are handled as
    weighted 0/1 examples). Returns (coef m×d, intercept m). ``liblinear`` suits sparse TF-IDF."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    n, m = y.shape
    coef = np.zeros((m, x.shape[1]))
    intercept = np.zeros(m)
    for j in range(m):
        col = y[:, j]
        mean = float(np.clip(col.mean(), 1e-4, 1 - 1e-4))
        if np.all(col == col[0]):  # one class only: a constant prediction
            intercept[j] = np.log(mean / (1 - mean))
            continue
        binary = np.all((col == 0) | (col == 1))
        if binary:
            xs, ys, w = x, col.astype(int), None
        else:
            xs = _stack(x, x)
            ys = np.concatenate([np.ones(n, int), np.zeros(n, int)])
            w = np.concatenate([col, 1.0 - col])
        model = LogisticRegression(C=c, max_iter=300, solver=solver)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(xs, ys, sample_weight=w)
        coef[j], intercept[j] = model.coef_[0], model.intercept_[0]
    return coef, intercept


def _stack(a: Any, b: Any) -> Any:
    if hasattr(a, "tocsr"):
        from scipy.sparse import vstack  # type: ignore[import-untyped]

        return vstack([a, b]).tocsr()
    return np.vstack([a, b])


@register
class KnnPredictor(Predictor):
    """PRknn: mean correctness of the k nearest training prompts (cosine), argmax."""

    name: ClassVar[str] = "knn"
    predicts_success: ClassVar[bool] = True
    description: ClassVar[str] = "PRknn: k nearest training prompts (cosine, k=5)"

    def __init__(self, k: int = 5, **params: Any) -> None:
        super().__init__(k=k, **params)
        self.k = k

    def _fit(self, train: Dataset) -> None:
        self.keys = train.features.dense
        self.values = train.labels()

    def predict(self, data: Dataset) -> Matrix:
        return top_k_mean(data.features.dense, self.keys, self.values, self.k)

    def state(self) -> tuple[dict[str, Any], dict[str, Array]]:
        return {"k": self.k}, {"keys": self.keys, "values": self.values}

    def load_state(self, meta: dict[str, Any], arrays: dict[str, Array]) -> None:
        self.k, self.keys, self.values = int(meta["k"]), arrays["keys"], arrays["values"]


@register
class LinearPredictor(Predictor):
    """LinearR: a linear layer d → m trained with a per-candidate logistic loss; argmax logit."""

    name: ClassVar[str] = "linear"
    predicts_success: ClassVar[bool] = True
    description: ClassVar[str] = "LinearR: per-candidate logistic regression on the embedding"

    def __init__(self, c: float = 1.0, **params: Any) -> None:
        super().__init__(c=c, **params)
        self.c = c

    def _fit(self, train: Dataset) -> None:
        self.coef, self.intercept = fit_logistic(train.features.dense, train.labels(), self.c)

    def logits(self, data: Dataset) -> Matrix:
        return np.asarray(data.features.dense @ self.coef.T + self.intercept, dtype=np.float64)

    def predict(self, data: Dataset) -> Matrix:
        return sigmoid(self.logits(data))

    def probabilities(self, data: Dataset) -> Matrix:
        from rolecall.learned.metrics import softmax

        return softmax(self.logits(data))  # RouterEval: softmax of the logits

    def state(self) -> tuple[dict[str, Any], dict[str, Array]]:
        return {"c": self.c}, {"coef": self.coef, "intercept": self.intercept}

    def load_state(self, meta: dict[str, Any], arrays: dict[str, Array]) -> None:
        self.c, self.coef, self.intercept = float(meta["c"]), arrays["coef"], arrays["intercept"]


@register
class MlpPredictor(Predictor):
    """MLPR: d → 256 → 256 → m with ReLU and a per-candidate logistic loss; argmax logit."""

    name: ClassVar[str] = "mlp"
    predicts_success: ClassVar[bool] = True
    description: ClassVar[str] = "MLPR: 2×256 ReLU MLP, multi-label logistic loss"

    def __init__(self, hidden: int = 256, epochs: int = 60, seed: int = 0, **params: Any) -> None:
        super().__init__(hidden=hidden, epochs=epochs, seed=seed, **params)
        self.hidden, self.epochs, self.seed = hidden, epochs, seed

    def _fit(self, train: Dataset) -> None:
        from sklearn.neural_network import MLPClassifier  # type: ignore[import-untyped]

        y = (train.labels() >= 0.5).astype(int)  # MLP targets are 0/1 (fractions rounded)
        constant = np.all(y == y[:1], axis=0)
        y[0, constant] = (
            1 - y[0, constant]
        )  # sklearn needs both classes per label; one flip is noise
        net = MLPClassifier(
            hidden_layer_sizes=(self.hidden, self.hidden),
            max_iter=self.epochs,
            alpha=1e-3,
            random_state=self.seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net.fit(train.features.dense, y)
        self.weights = [np.asarray(w) for w in net.coefs_]
        self.biases = [np.asarray(b) for b in net.intercepts_]

    def logits(self, data: Dataset) -> Matrix:
        h: Array = data.features.dense
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ w + b
            if i < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        return np.asarray(h, dtype=np.float64)

    def predict(self, data: Dataset) -> Matrix:
        return sigmoid(self.logits(data))

    def probabilities(self, data: Dataset) -> Matrix:
        from rolecall.learned.metrics import softmax

        return softmax(self.logits(data))

    def state(self) -> tuple[dict[str, Any], dict[str, Array]]:
        arrays = {f"w{i}": w for i, w in enumerate(self.weights)}
        arrays.update({f"b{i}": b for i, b in enumerate(self.biases)})
        return {"layers": len(self.weights)}, arrays

    def load_state(self, meta: dict[str, Any], arrays: dict[str, Array]) -> None:
        layers = int(meta["layers"])
        self.weights = [arrays[f"w{i}"] for i in range(layers)]
        self.biases = [arrays[f"b{i}"] for i in range(layers)]


@register
class ClusterPredictor(Predictor):
    """k-means on the embedding (K=3); each cluster routes to its best model on train."""

    name: ClassVar[str] = "cluster"
    description: ClassVar[str] = "C-RoBERTa style: k-means clusters, best model per cluster"

    def __init__(self, clusters: int = 3, seed: int = 0, **params: Any) -> None:
        super().__init__(clusters=clusters, seed=seed, **params)
        self.clusters, self.seed = clusters, seed

    def _fit(self, train: Dataset) -> None:
        from sklearn.cluster import KMeans  # type: ignore[import-untyped]

        x, y = train.features.dense, train.labels()
        k = max(1, min(self.clusters, len(x)))
        km = KMeans(n_clusters=k, n_init=4, random_state=self.seed).fit(x)
        self.centroids = np.asarray(km.cluster_centers_, dtype=np.float32)
        global_mean = y.mean(axis=0)
        self.cluster_means = np.stack(
            [
                y[km.labels_ == c].mean(axis=0) if np.any(km.labels_ == c) else global_mean
                for c in range(k)
            ]
        )

    def _distances(self, data: Dataset) -> Matrix:
        x = data.features.dense
        d2 = (x**2).sum(1)[:, None] - 2 * x @ self.centroids.T + (self.centroids**2).sum(1)[None, :]
        return np.asarray(np.sqrt(np.maximum(d2, 0.0)), dtype=np.float64)

    def predict(self, data: Dataset) -> Matrix:
        return np.asarray(
            self.cluster_means[np.argmin(self._distances(data), axis=1)], dtype=np.float64
        )

    def probabilities(self, data: Dataset) -> Matrix:
        """Inverse-distance soft assignment to centroids, summed onto each cluster's chosen model."""
        inv = 1.0 / np.maximum(self._distances(data), 1e-9)
        weights = inv / inv.sum(axis=1, keepdims=True)
        out = np.zeros((data.n, self.cluster_means.shape[1]))
        best = np.argmax(self.cluster_means, axis=1)
        for c, j in enumerate(best):
            out[:, j] += weights[:, c]
        out[out < 1e-4] = 0.0
        return np.asarray(out / out.sum(axis=1, keepdims=True), dtype=np.float64)

    def state(self) -> tuple[dict[str, Any], dict[str, Array]]:
        return {}, {"centroids": self.centroids, "cluster_means": self.cluster_means}

    def load_state(self, meta: dict[str, Any], arrays: dict[str, Array]) -> None:
        self.centroids, self.cluster_means = arrays["centroids"], arrays["cluster_means"]
