"""A model that joins the pool with only a few records (a quick benchmark's worth).

The router trained on the known models already predicts, for any prompt, how each of them would
do; those predictions place the prompt on an easiness scale and say which known models it suits.
The newcomer is described by how its few outcomes relate to them (as EmbedLLM learns a model's
embedding from its records, or IRT an ability against item difficulty):

    P̂_new(x) = σ(θ + Σ_j w_j · logit P̂_j(x))

fitted by L2-regularised logistic regression on the newcomer's records (the penalty by 5-fold
cross-validated log-loss on them). θ is its ability; w says
which known models it resembles (a model that fails where a known one fails). With few records the
penalty keeps w small, and the estimate falls back towards the newcomer's own mean.

`newcomer_rows` is the pool-scaling experiment's report: each model of the pool in turn is treated
as the newcomer, seen on only ``k`` training prompts, and routing over the whole pool with its
estimate is compared with leaving it out, with a constant estimate (its mean on those prompts) and
with training on everything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rolecall.learned import metrics as mt
from rolecall.learned.evaluate import Prepared
from rolecall.learned.matrix import kfold_indices
from rolecall.learned.predictors.base import Dataset, Matrix, Predictor, create
from rolecall.learned.predictors.classic import fit_logistic, sigmoid

EPS = 1e-3
C = 0.1  # strong regularisation: a quick benchmark is a few dozen records ...
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)  # ... unless cross-validation on them prefers another
MIN_CV_RECORDS = 10
CV_FOLDS = 5
Z = 1.0  # standard errors of its mean by which a newcomer must beat the router's choice
RECORD_COUNTS = (10, 30, 100)


def _logits(p: Matrix) -> Matrix:
    q = np.clip(p, EPS, 1 - EPS)
    return np.asarray(np.log(q / (1 - q)), dtype=np.float64)


class Newcomer:
    """Per-prompt estimates for one model known from a few records, on top of a trained router."""

    def __init__(self, router: Predictor, c: float = C) -> None:
        self.router = router
        self.c = c

    def fit(self, data: Dataset, scores: NDArray[np.float64]) -> Newcomer:
        """``data``: the prompts the newcomer was scored on; ``scores``: its scores there. The
        penalty is chosen by cross-validated log-loss on those records when there are enough."""
        x = _logits(self.router.predict(data))
        self.mean = float(np.clip(scores.mean(), EPS, 1 - EPS))
        self.c = _choose_c(x, scores, self.c)
        # the estimate's own uncertainty: the newcomer wins a prompt only by more than this
        self.margin = Z * float(np.sqrt(self.mean * (1 - self.mean) / len(scores)))
        coef, intercept = fit_logistic(x, scores[:, None], self.c)
        self.coef, self.intercept = coef[0], float(intercept[0])
        return self

    def predict(self, data: Dataset) -> NDArray[np.float64]:
        x = _logits(self.router.predict(data))
        return sigmoid(x @ self.coef + self.intercept)


def newcomer_rows(
    prepared: Prepared,
    router: str = "rolecall",
    counts: Sequence[int] = RECORD_COUNTS,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per (newcomer, k): µ_o on test of routing with the newcomer's estimate (``mu_o``),
    ``without`` the newcomer, with a ``constant`` estimate, and trained on everything
    (``full_data``, the ceiling)."""
    train, test = prepared.train, prepared.test
    y_train, y_test = train.labels(), test.labels()
    full = create(router).fit(train).choose(test)
    rng = np.random.default_rng(seed)
    rows = []
    for new in range(len(train.models)):
        known = [j for j in range(len(train.models)) if j != new]
        if progress:
            progress(f"newcomer {train.models[new]}")
        base = create(router).fit(train.columns(known))
        known_test = test.columns(known)
        base_predicted = base.predict(known_test)
        base_choice = np.asarray(known)[base.choose(known_test)]
        for k in counts:
            if k >= train.n:
                continue
            seen = np.sort(rng.choice(train.n, k, replace=False))
            scores = y_train[seen, new]
            estimate = Newcomer(base).fit(train.rows(seen).columns(known), scores)
            per_prompt = estimate.predict(known_test)
            both = (base_choice, base_predicted)
            rows.append(
                {
                    "group": f"newcomer_{k}",
                    "newcomer": train.models[new],
                    "k": k,
                    "router": router,
                    "m": len(train.models),
                    "without": mt.mu_o(y_test, base_choice),
                    "constant": mt.mu_o(
                        y_test, _with(*both, np.full(test.n, scores.mean()), new, 0)
                    ),
                    "mu_o": mt.mu_o(y_test, _with(*both, per_prompt, new, estimate.margin)),
                    "full_data": mt.mu_o(y_test, full),
                    "best_single": float(np.max(mt.model_means(y_test))),
                    "oracle": mt.oracle_mu(y_test),
                }
            )
    return rows


def _choose_c(x: Matrix, y: NDArray[np.float64], default: float) -> float:
    if len(y) < MIN_CV_RECORDS or np.all(y == y[0]):
        return default
    losses = {}
    for c in C_GRID:
        loss = 0.0
        for part in kfold_indices(len(y), CV_FOLDS, 0):
            rest = np.setdiff1d(np.arange(len(y)), part)
            if np.all(y[rest] == y[rest][0]):
                p = np.full(len(part), y[rest].mean())
            else:
                coef, intercept = fit_logistic(x[rest], y[rest][:, None], c)
                p = sigmoid(x[part] @ coef[0] + intercept[0])
            p = np.clip(p, EPS, 1 - EPS)
            loss -= float(np.sum(y[part] * np.log(p) + (1 - y[part]) * np.log(1 - p)))
        losses[c] = loss
    return min(C_GRID, key=lambda c: (losses[c], c))


def _with(
    choice: NDArray[np.int64],
    predicted: Matrix,
    newcomer: NDArray[np.float64],
    new: int,
    margin: float,
) -> NDArray[np.int64]:
    """The router's choice, or the newcomer where its estimate beats the chosen model's by more
    than ``margin``."""
    rows = np.arange(len(choice))
    # the router's choice is among the known models: its column in ``predicted`` skips ``new``
    column = np.where(choice > new, choice - 1, choice)
    wins = newcomer > predicted[rows, column] + margin
    return np.where(wins, new, choice).astype(np.int64)
