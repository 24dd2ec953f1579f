"""Task structure for the default router: what task a prompt belongs to, and which model each task
should get unless the prompt-level evidence is clearly better.

* `task_labels` uses the records' task labels; without them it discovers tasks by clustering a
  language-neutral view of the prompts (character and word TF-IDF reduced by SVD, beside the dense
  embedding), with the number of clusters chosen by silhouette.
* `TaskPrior` recognises the task from TF-IDF and gives each model's shrunk per-task mean.
* `TaskGuard` decides, per task and out of fold, between the best single model, the task's best
  model and the prompt-level choice: each step away from the simpler rule must be a gain clear of
  noise within that task.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rolecall.learned.predictors.base import Choice, Dataset, Matrix

Array = NDArray[Any]
TASK_SHRINK = 10.0  # pseudo-prompts pulling a task's mean toward the global mean
MIN_TASK_PROMPTS = 5
MAX_PRIOR_FIT = 30_000  # the task classifier learns from a random sample this large
MAX_CLUSTER_FIT = 20_000  # task discovery clusters a sample this large
CLUSTER_COUNTS = (2, 3, 4, 6, 8, 12, 16)
MIN_CLUSTER_PROMPTS = 150  # on average per discovered task: fewer and a task's best model is noise
SILHOUETTE_SAMPLE = 3_000
SVD_COMPONENTS = 64

# the per-task rules, simplest first: the guard only moves right for a clear gain
SINGLE, TASK, PROMPT = 0, 1, 2
RULES = ("best_single", "task_best", "learned")
RULES_ORDER = (SINGLE, TASK, PROMPT)


class TaskPrior:
    """P(task | prompt) from TF-IDF, times shrunk per-task mean scores. Inference is numpy only."""

    def fit(self, features: Any, labels: NDArray[np.int64], y: Matrix) -> TaskPrior:
        from sklearn.linear_model import SGDClassifier  # type: ignore[import-untyped]

        classes = np.unique(labels)
        self._coef_t: Array | None = None
        self.means = self._task_means(labels, y, classes)
        if len(classes) < 2:
            self.coef = np.zeros((1, features.shape[1]), dtype=np.float32)
            self.intercept = np.zeros(1)
            return self
        clf = SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=5, tol=None, random_state=0)
        sample = np.arange(len(labels))
        if len(sample) > MAX_PRIOR_FIT:  # a random sample that still has every task in it
            picked = np.random.default_rng(0).choice(len(sample), MAX_PRIOR_FIT, False)
            firsts = np.unique(labels, return_index=True)[1]
            sample = np.union1d(picked, firsts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(features[sample], labels[sample])
        coef = np.asarray(clf.coef_, dtype=np.float32)
        self.coef = coef if len(classes) > 2 else np.vstack([-coef, coef]) / 2
        self.intercept = np.asarray(clf.intercept_, dtype=np.float64)
        if len(classes) == 2:
            self.intercept = np.concatenate([-self.intercept, self.intercept]) / 2
        return self

    @staticmethod
    def _task_means(labels: NDArray[np.int64], y: Matrix, classes: Array) -> Matrix:
        overall = y.mean(axis=0)
        rows = []
        for c in classes:
            part = y[labels == c]
            rows.append((part.sum(axis=0) + TASK_SHRINK * overall) / (len(part) + TASK_SHRINK))
        return np.stack(rows)

    def proba(self, features: Any) -> Matrix:
        coef_t = getattr(self, "_coef_t", None)
        if coef_t is None:
            # contiguous (features × tasks): sparse @ dense then touches only the prompt's n-grams
            coef_t = self._coef_t = np.ascontiguousarray(self.coef.T)
        logits = np.asarray(features @ coef_t, dtype=np.float64) + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return np.asarray(p / p.sum(axis=1, keepdims=True), dtype=np.float64)

    def task_best(self) -> NDArray[np.int64]:
        """Each task's best model on its (shrunk) training mean."""
        return np.asarray(np.argmax(self.means, axis=1), dtype=np.int64)


def task_labels(train: Dataset, seed: int) -> NDArray[np.int64]:
    """Task ids from the records' labels; without labels, discovered clusters."""
    tasks = train.tasks
    counts: dict[str | None, int] = {}
    for t in tasks:
        counts[t] = counts.get(t, 0) + 1
    usable = [t for t, c in counts.items() if t is not None and c >= MIN_TASK_PROMPTS]
    if len(usable) >= 2:
        index: dict[str | None, int] = {t: i for i, t in enumerate(sorted(usable))}
        return np.asarray([index.get(t, len(index)) for t in tasks], dtype=np.int64)
    return discover_tasks(train, seed)


def discover_tasks(train: Dataset, seed: int) -> NDArray[np.int64]:
    """k-means clusters of the prompts; k by silhouette, 1 when the data is too small to split.

    The view clustered is the dense embedding beside an SVD of the TF-IDF: character n-grams tell
    scripts and formats apart where an English embedding sees noise.
    """
    from sklearn.cluster import KMeans  # type: ignore[import-untyped]
    from sklearn.metrics import silhouette_score  # type: ignore[import-untyped]

    counts = [k for k in CLUSTER_COUNTS if train.n >= k * MIN_CLUSTER_PROMPTS]
    if not counts:
        return np.zeros(train.n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    view = cluster_view(train, seed)
    sample = rng.permutation(train.n)[:MAX_CLUSTER_FIT]
    scored = sample[:SILHOUETTE_SAMPLE]
    best, best_score = None, -np.inf
    for k in counts:
        km = KMeans(n_clusters=k, n_init=2, random_state=seed).fit(view[sample])
        labels = km.predict(view[scored])
        if len(np.unique(labels)) < 2:
            continue
        score = float(silhouette_score(view[scored], labels))
        if score > best_score:
            best, best_score = km, score
    if best is None:
        return np.zeros(train.n, dtype=np.int64)
    return np.asarray(best.predict(view), dtype=np.int64)


def cluster_view(data: Dataset, seed: int) -> NDArray[np.float32]:
    dense = data.features.dense
    sparse = data.features.sparse
    if sparse is None or data.n <= SVD_COMPONENTS:
        return dense
    from sklearn.decomposition import TruncatedSVD  # type: ignore[import-untyped]

    reduced = TruncatedSVD(SVD_COMPONENTS, random_state=seed).fit_transform(sparse)
    reduced /= np.maximum(np.linalg.norm(reduced, axis=1, keepdims=True), 1e-9)
    return np.hstack([dense, reduced]).astype(np.float32)


def lower_bound(gain: Matrix, z: float) -> float:
    """A paired gain's lower confidence bound: mean − z standard errors (−∞ below two values)."""
    if len(gain) < 2:
        return float("-inf")
    return float(gain.mean()) - z * float(gain.std(ddof=1)) / float(np.sqrt(len(gain)))


class TaskGuard:
    """Per task: the best single model, the task's best model, or the prompt-level choice.

    Chosen on out-of-fold outcomes grouped by the task the classifier *predicts* (what serving
    sees). First over all prompts: of the rules whose paired gain over the best single model is
    clear of ``z`` standard errors, the one with the best lower bound on that gain. That rule is
    every task's default, and a task departs from it only for a rule clearly better *within that
    task* (a task where the prompt-level choice clearly loses goes back to a fixed model). Pooling
    first keeps the power of all the prompts: many small per-task gains add up to a clear one that
    no single task would show.
    """

    def __init__(self, z: float) -> None:
        self.z = z
        self.rules: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.default = SINGLE

    def fit(
        self,
        tasks: NDArray[np.int64],
        n_tasks: int,
        y: Matrix,
        choices: tuple[Choice, Choice, Choice],
    ) -> TaskGuard:
        rows = np.arange(len(y))
        outcomes = [y[rows, c] for c in choices]
        # of the rules clearly better than the best single model, the one with the best lower
        # confidence bound on that gain
        self.default, best = SINGLE, 0.0
        for rule in (TASK, PROMPT):
            bound = lower_bound(outcomes[rule] - outcomes[SINGLE], self.z)
            if bound > best:
                self.default, best = rule, bound
        self.rules = np.full(n_tasks, self.default, dtype=np.int64)
        for t in range(n_tasks):
            mask = tasks == t
            gains = {
                r: float(np.mean(outcomes[r][mask] - outcomes[self.default][mask]))
                for r in RULES_ORDER
                if r != self.default and mask.any()
            }
            for rule in sorted(gains, key=lambda r: -gains[r]):
                if self._clear_gain(outcomes[rule][mask] - outcomes[self.default][mask]):
                    self.rules[t] = rule
                    break
        return self

    def _clear_gain(self, gain: Matrix) -> bool:
        return lower_bound(gain, self.z) > 0

    def apply(self, tasks: NDArray[np.int64], choices: tuple[Choice, Choice, Choice]) -> Choice:
        rule = self.rules[np.clip(tasks, 0, len(self.rules) - 1)]
        stacked = np.stack(choices)
        return np.asarray(stacked[rule, np.arange(len(tasks))], dtype=np.int64)

    def summary(self) -> dict[str, int]:
        return {name: int(np.sum(self.rules == i)) for i, name in enumerate(RULES)}
