"""``rolecall``: the default learned router — task-aware prior, similarity evidence, shrinkage, cost dial.

1. **Task prior.** A classifier recognises the prompt's task from TF-IDF (trained on the records' task
   labels, or on k-means clusters of the embedding when there are none); the prior expected score of
   model j is Σ_t P(t|prompt) · mean_t(j), with per-task means shrunk toward the global mean.
2. **Similarity evidence.** The k most similar training prompts (cosine on the dense embedding) update
   the prior like pseudo-counts: P̂ = (α·prior + Σ w_k y_k) / (α + Σ w_k), w_k = exp((sim_k − 1)/τ).
   A prompt seen in training (sim ≈ 1) is dominated by its own outcomes; far neighbours count little.
3. **Shrinkage toward the best single model** (chosen on train): switch away from it only when the
   predicted advantage exceeds δ. Within one task the prompt-level signal is weak and an unshrunk router
   loses to the best single model; δ is chosen by cross-validation on train, and when routing does not
   beat the best single model out of fold by a clear margin the router *is* the best single model.
4. **Cost dial** (optional): with ``willingness_to_pay`` λ (quality points per USD) the choice is
   argmax_j λ·P̂_j − cost_j, RouterBench-style.

(τ, α) and δ are chosen by K-fold cross-validation on the training prompts only; no test data is read.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from rolecall.learned.matrix import kfold_indices
from rolecall.learned.predictors.base import Choice, Dataset, Matrix, Predictor, register
from rolecall.learned.predictors.classic import fit_logistic, sigmoid
from rolecall.learned.predictors.tasks import (
    MAX_PRIOR_FIT,
    PROMPT,
    TaskGuard,
    TaskPrior,
    lower_bound,
    task_labels,
)

Array = NDArray[Any]
TAU_GRID = (0.02, 0.05, 0.1, 0.3)
ALPHA_GRID = (1.0, 4.0, 16.0)
DELTA_GRID = (0.0, 0.02, 0.05, 0.1, 0.2)
NEVER = 1e9  # δ meaning "always the best single model"
MAX_KEYS = 10_000  # neighbour memory cap (a random subset beyond this)
CV_PROMPTS = 8_000  # out-of-fold predictions for at most this many training prompts
BLEND_GRID = (0.0, 0.25, 0.5, 0.75)  # weight of the per-model TF-IDF logistic predictions
LOGIT_MAX_MODELS = 16  # the logistic component costs one fit per model: small pools only
RANK_MARGIN = 1e-3  # the chosen model's serving estimate is at least this far above the rest


def neighbours(
    query: Array, keys: Array, k: int, self_pos: Array | None = None, chunk: int = 1024
) -> tuple[Array, Array]:
    """Indices and cosine similarities of each query's k most similar keys (L2-normalised inputs).

    ``self_pos[i]`` is query i's own position among the keys (−1 if absent), excluded from its
    neighbours: out-of-fold evidence never includes the prompt itself.
    """
    k = max(1, min(k, len(keys) - (1 if self_pos is not None else 0)))
    idx = np.empty((len(query), k), dtype=np.int64)
    sim = np.empty((len(query), k), dtype=np.float32)
    for start in range(0, len(query), chunk):
        block = query[start : start + chunk]
        # one prompt (the serving path): a matrix-vector product over contiguous keys is fastest
        s = (keys @ block[0])[None, :] if len(block) == 1 else block @ keys.T
        if self_pos is not None:
            pos = self_pos[start : start + chunk]
            rows = np.flatnonzero(pos >= 0)
            s[rows, pos[rows]] = -np.inf
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        idx[start : start + chunk] = part
        sim[start : start + chunk] = np.take_along_axis(s, part, axis=1)
    return idx, sim


def log_loss(y: Matrix, p: Matrix) -> float:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def evidence(values: Matrix, idx: Array, sim: Array, tau: float) -> tuple[Matrix, Matrix]:
    """Similarity-weighted sums of the neighbours' scores and the total weights, as a sparse product
    (no n × k × m temporary)."""
    from scipy.sparse import csr_matrix  # type: ignore[import-untyped]

    n, k = idx.shape
    w = np.exp((sim.astype(np.float64) - 1.0) / tau)
    weights = csr_matrix(
        (w.ravel(), idx.ravel(), np.arange(0, n * k + 1, k)), shape=(n, len(values))
    )
    return np.asarray(weights @ values, dtype=np.float64), w.sum(axis=1)


def posterior(
    prior: Matrix, values: Matrix, idx: Array, sim: Array, tau: float, alpha: float
) -> Matrix:
    total, weight = evidence(values, idx, sim, tau)
    return combine(prior, total, weight, alpha)


def combine(prior: Matrix, total: Matrix, weight: Matrix, alpha: float) -> Matrix:
    return np.asarray((alpha * prior + total) / (alpha + weight)[:, None], dtype=np.float64)


class ModelLogits:
    """Per-model logistic regression on TF-IDF: word-level evidence of which model gets a prompt
    right (within-task structure the task prior cannot see). Inference is one sparse product."""

    def fit(self, features: Any, y: Matrix) -> ModelLogits:
        sample = np.arange(len(y))
        if len(sample) > MAX_PRIOR_FIT:
            sample = np.sort(np.random.default_rng(0).choice(len(y), MAX_PRIOR_FIT, False))
        coef, intercept = fit_logistic(features[sample], y[sample], 1.0, solver="liblinear")
        self.coef_t = np.ascontiguousarray(coef.T, dtype=np.float32)
        self.intercept = intercept
        return self

    def predict(self, features: Any) -> Matrix:
        return sigmoid(np.asarray(features @ self.coef_t, dtype=np.float64) + self.intercept)


@register
class RolecallPredictor(Predictor):
    name: ClassVar[str] = "rolecall"
    predicts_success: ClassVar[bool] = True
    description: ClassVar[str] = (
        "task prior + similarity evidence, shrunk toward the best single model"
    )

    def __init__(
        self,
        k: int = 50,
        folds: int = 3,
        seed: int = 0,
        z: float = 1.64,
        willingness_to_pay: float | None = None,
        word_logits: bool = False,
        **params: Any,
    ) -> None:
        super().__init__(
            k=k,
            folds=folds,
            seed=seed,
            z=z,
            willingness_to_pay=willingness_to_pay,
            word_logits=word_logits,
            **params,
        )
        self.k, self.folds, self.seed, self.z = k, folds, seed, z
        self.willingness_to_pay = willingness_to_pay
        # optional: blend in per-model TF-IDF logistic predictions (weight by out-of-fold log-loss);
        # off by default: in our runs it bought a little MMLU ranking and cost GSM8K more
        self.word_logits = word_logits
        self.tau, self.alpha, self.delta = TAU_GRID[0], ALPHA_GRID[0], NEVER
        self.blend = 0.0
        self.guard: TaskGuard | None = None
        self.logits: ModelLogits | None = None

    def _fit(self, train: Dataset) -> None:
        y, n = train.labels(), train.n
        labels = task_labels(train, self.seed)
        sparse = train.features.sparse
        assert sparse is not None, "the rolecall router needs TF-IDF features"
        rng = np.random.default_rng(self.seed)
        # hyper-parameters are chosen on out-of-fold predictions for (at most CV_PROMPTS) training
        # prompts, each predicted by a prior that did not see its fold
        evaluated = np.arange(n) if n <= CV_PROMPTS else np.sort(rng.choice(n, CV_PROMPTS, False))
        oof_prior = np.empty((len(evaluated), y.shape[1]))
        oof_task = np.empty(len(evaluated), dtype=np.int64)
        oof_task_best = np.empty(len(evaluated), dtype=np.int64)
        use_logits = self.word_logits and y.shape[1] <= LOGIT_MAX_MODELS
        oof_logits = np.empty_like(oof_prior) if use_logits else None
        for part in kfold_indices(len(evaluated), self.folds, self.seed):
            rest = np.setdiff1d(np.arange(n), evaluated[part])
            prior = TaskPrior().fit(sparse[rest], labels[rest], y[rest])
            held = sparse[evaluated[part]]
            proba = prior.proba(held)
            oof_prior[part] = proba @ prior.means
            position = np.argmax(proba, axis=1)  # among the tasks this fold's prior knows
            oof_task[part] = np.unique(labels[rest])[position]
            oof_task_best[part] = prior.task_best()[position]
            if oof_logits is not None:
                logits = ModelLogits().fit(sparse[rest], y[rest])
                oof_logits[part] = logits.predict(sparse[evaluated[part]])
        self.prior = TaskPrior().fit(sparse, labels, y)
        keep = np.sort(rng.choice(n, MAX_KEYS, replace=False)) if n > MAX_KEYS else np.arange(n)
        self.keys, self.values = train.features.dense[keep], y[keep]
        pos = np.minimum(np.searchsorted(keep, evaluated), len(keep) - 1)
        self_pos = np.where(keep[pos] == evaluated, pos, -1)
        idx, sim = neighbours(train.features.dense[evaluated], self.keys, self.k, self_pos)
        predicted = self._calibrate(oof_prior, y[evaluated], idx, sim, oof_logits)
        tasks = np.searchsorted(np.unique(labels), oof_task)  # the full prior's task positions
        self._guard(predicted, y[evaluated], tasks, oof_task_best)
        self.logits = ModelLogits().fit(sparse, y) if self.blend > 0 else None

    def _calibrate(
        self, prior: Matrix, y: Matrix, idx: Array, sim: Array, logits: Matrix | None
    ) -> Matrix:
        """Pick (τ, α), then the blend weight, by out-of-fold log-loss; the out-of-fold predictions."""
        best_loss = np.inf
        for tau in TAU_GRID:
            total, weight = evidence(self.values, idx, sim, tau)
            for alpha in ALPHA_GRID:
                loss = log_loss(y, combine(prior, total, weight, alpha))
                if loss < best_loss:
                    best_loss, self.tau, self.alpha = loss, tau, alpha
        predicted = posterior(prior, self.values, idx, sim, self.tau, self.alpha)
        self.blend = 0.0
        if logits is not None:
            losses = {w: log_loss(y, (1 - w) * predicted + w * logits) for w in BLEND_GRID}
            self.blend = min(losses, key=lambda w: losses[w])
            predicted = (1 - self.blend) * predicted + self.blend * logits
        return predicted

    def _guard(
        self, predicted: Matrix, y: Matrix, tasks: NDArray[np.int64], task_best: Choice
    ) -> None:
        """δ (how far a prompt-level prediction must beat the task's best model) by out-of-fold
        routed score; then, per task, which rule serves it (`TaskGuard`)."""
        rows = np.arange(len(y))
        base = y[rows, task_best]
        # the δ whose gain over the task's best model has the best lower confidence bound: a
        # larger δ departs less often, which costs a little mean but buys a steadier gain
        bounds = {
            d: lower_bound(y[rows, _shrunk(predicted, d, task_best)] - base, self.z)
            for d in DELTA_GRID
        }
        self.delta = max(DELTA_GRID, key=lambda d: (bounds[d], d))  # ties: the more cautious δ
        single = np.full(len(y), self.best_index, dtype=np.int64)
        choices = (single, task_best, _shrunk(predicted, self.delta, task_best))
        self.guard = TaskGuard(self.z).fit(tasks, len(self.prior.means), y, choices)
        self.oof_gain = float(np.mean(y[rows, self.guard.apply(tasks, choices)] - y[rows, single]))

    def predict(self, data: Dataset) -> Matrix:
        return self._estimate(data)[0]

    def _estimate(self, data: Dataset) -> tuple[Matrix, NDArray[np.int64]]:
        """Predicted scores, and each prompt's recognised task: one pass of the task classifier
        serves both (the serving path needs both for every prompt)."""
        proba = self.prior.proba(data.features.sparse)
        tasks = np.asarray(np.argmax(proba, axis=1), dtype=np.int64)
        idx, sim = neighbours(data.features.dense, self.keys, self.k)
        predicted = posterior(proba @ self.prior.means, self.values, idx, sim, self.tau, self.alpha)
        if self.logits is not None:
            predicted = (1 - self.blend) * predicted + self.blend * self.logits.predict(
                data.features.sparse
            )
        return predicted, tasks

    def choose(self, data: Dataset) -> Choice:
        return self._choose(*self._estimate(data))

    def _choose(self, predicted: Matrix, tasks: NDArray[np.int64]) -> Choice:
        if self.willingness_to_pay is not None and self.training_cost is not None:
            utility = self.willingness_to_pay * predicted - self.training_cost[None, :]
            return np.asarray(np.argmax(utility, axis=1), dtype=np.int64)
        if self.guard is None:  # an artifact from before the per-task guard
            single = np.full(len(predicted), self.best_index, dtype=np.int64)
            return _shrunk(predicted, self.delta, single)
        return self.guard.apply(tasks, self._rules(predicted, tasks))

    def rule_choices(
        self, data: Dataset
    ) -> tuple[NDArray[np.int64], tuple[Choice, Choice, Choice]]:
        """Each prompt's recognised task, and what each of the guard's rules would choose."""
        predicted, tasks = self._estimate(data)
        return tasks, self._rules(predicted, tasks)

    def _rules(self, predicted: Matrix, tasks: NDArray[np.int64]) -> tuple[Choice, Choice, Choice]:
        task_best = self.prior.task_best()[tasks]
        single = np.full(len(predicted), self.best_index, dtype=np.int64)
        return single, task_best, _shrunk(predicted, self.delta, task_best)

    def ranked(self, data: Dataset) -> Matrix:
        """Predicted scores in which the chosen model ranks first: the serving path's estimates, so
        the runtime's quality metric ranks the models as this router chooses."""
        predicted, tasks = self._estimate(data)
        predicted = np.clip(predicted, 0.0, 1.0)
        choice = self._choose(predicted, tasks)
        rows = np.arange(len(predicted))
        top = predicted.max(axis=1)
        predicted[rows, choice] = np.minimum(1.0, top + RANK_MARGIN)
        return predicted

    def probabilities(self, data: Dataset) -> Matrix:
        """Predicted scores normalised to sum to one where a prompt-level choice is made; one-hot on
        the choice where a fixed rule (best single, task best) serves the prompt's task."""
        estimated, tasks = self._estimate(data)
        predicted = np.maximum(estimated, 1e-9)
        spread = predicted / predicted.sum(axis=1, keepdims=True)
        choice = self._choose(predicted, tasks)
        onehot = np.zeros_like(predicted)
        onehot[np.arange(len(choice)), choice] = 1.0
        if self.guard is None:
            fixed = np.full(len(choice), self.delta >= NEVER)
        else:
            fixed = self.guard.rules[tasks] != PROMPT
        return np.asarray(np.where(fixed[:, None], onehot, spread), dtype=np.float64)

    def state(self) -> tuple[dict[str, Any], dict[str, Array]]:
        meta = {
            "k": self.k,
            "tau": self.tau,
            "alpha": self.alpha,
            "delta": self.delta,
            "blend": self.blend,
            "willingness_to_pay": self.willingness_to_pay,
        }
        assert self.guard is not None, "fit the router before saving it"
        arrays = {
            "guard_rules": self.guard.rules,
            "prior_coef": self.prior.coef,
            "prior_intercept": self.prior.intercept,
            "prior_means": self.prior.means,
            "keys": self.keys,
            "values": self.values,
        }
        if self.training_cost is not None:
            arrays["model_cost"] = self.training_cost
        if self.logits is not None:
            arrays["logit_coef_t"] = self.logits.coef_t
            arrays["logit_intercept"] = self.logits.intercept
        return meta, arrays

    def load_state(self, meta: dict[str, Any], arrays: dict[str, Array]) -> None:
        self.k, self.tau, self.alpha = int(meta["k"]), float(meta["tau"]), float(meta["alpha"])
        self.delta = float(meta["delta"])
        wtp = meta.get("willingness_to_pay")
        self.willingness_to_pay = None if wtp is None else float(wtp)
        self.prior = TaskPrior()
        self.prior.coef, self.prior.intercept = arrays["prior_coef"], arrays["prior_intercept"]
        self.prior.means = arrays["prior_means"]
        self.guard = None
        if "guard_rules" in arrays:
            self.guard = TaskGuard(self.z)
            self.guard.rules = np.asarray(arrays["guard_rules"], dtype=np.int64)
        self.keys, self.values = arrays["keys"], arrays["values"]
        self.training_cost = arrays.get("model_cost")
        self.blend, self.logits = float(meta.get("blend", 0.0)), None
        if "logit_coef_t" in arrays:
            self.logits = ModelLogits()
            self.logits.coef_t, self.logits.intercept = (
                arrays["logit_coef_t"],
                arrays["logit_intercept"],
            )


@register
class RolecallWordsPredictor(RolecallPredictor):
    """``rolecall`` plus per-model TF-IDF logistic predictions, blended by out-of-fold log-loss."""

    name: ClassVar[str] = "rolecall_words"
    description: ClassVar[str] = "rolecall blended with per-model TF-IDF logistic regressions"

    def __init__(self, **params: Any) -> None:
        params.setdefault("word_logits", True)
        super().__init__(**params)


def _shrunk(predicted: Matrix, delta: float, base: Choice) -> Choice:
    """The predicted best model where it beats ``base`` (per prompt) by more than δ, else ``base``."""
    top = np.argmax(predicted, axis=1)
    rows = np.arange(len(predicted))
    margin = predicted[rows, top] - predicted[rows, base]
    return np.where(margin > delta, top, base).astype(np.int64)
