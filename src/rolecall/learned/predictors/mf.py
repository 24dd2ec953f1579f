"""RouteLLM-style matrix factorisation: a bilinear score s_j(q) = u_j · (W q) + b_j between a learned model
embedding u_j and a projection of the prompt embedding, trained on pairwise preferences (model j beat
model k on prompt q) with a logistic loss. Full-batch Adam in numpy; a few seconds on CPU."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from rolecall.learned.predictors.base import Dataset, Matrix, Predictor, register

MAX_PAIRS_PER_PROMPT = 64


def preference_pairs(
    y: Matrix, rng: np.random.Generator
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], Matrix]:
    """(prompt, winner, loser, margin) for every pair of models that scored differently."""
    rows, wins, losses, margins = [], [], [], []
    m = y.shape[1]
    js, ks = np.triu_indices(m, 1)
    for i in range(len(y)):
        diff = y[i, js] - y[i, ks]
        nz = np.flatnonzero(diff)
        if len(nz) > MAX_PAIRS_PER_PROMPT:
            nz = rng.choice(nz, MAX_PAIRS_PER_PROMPT, replace=False)
        win = np.where(diff[nz] > 0, js[nz], ks[nz])
        lose = np.where(diff[nz] > 0, ks[nz], js[nz])
        rows.append(np.full(len(nz), i))
        wins.append(win)
        losses.append(lose)
        margins.append(np.abs(diff[nz]))
    cat = np.concatenate
    return cat(rows), cat(wins), cat(losses), cat(margins)


class _Adam:
    def __init__(self, lr: float) -> None:
        self.lr, self.t = lr, 0
        self.m: dict[str, Matrix] = {}
        self.v: dict[str, Matrix] = {}

    def step(self, params: dict[str, Matrix], grads: dict[str, Matrix]) -> None:
        self.t += 1
        for key, g in grads.items():
            m = self.m.get(key, np.zeros_like(g)) * 0.9 + 0.1 * g
            v = self.v.get(key, np.zeros_like(g)) * 0.999 + 0.001 * g * g
            self.m[key], self.v[key] = m, v
            m_hat, v_hat = m / (1 - 0.9**self.t), v / (1 - 0.999**self.t)
            params[key] -= self.lr * m_hat / (np.sqrt(v_hat) + 1e-8)


@register
class MatrixFactorisationPredictor(Predictor):
    """RouteLLM's MF router on our per-prompt scores (pairwise preferences between candidates)."""

    name: ClassVar[str] = "mf"
    description: ClassVar[str] = "RouteLLM matrix factorisation, pairwise logistic loss"

    def __init__(
        self,
        rank: int = 32,
        epochs: int = 150,
        lr: float = 0.02,
        l2: float = 1e-4,
        seed: int = 0,
        **params: Any,
    ) -> None:
        super().__init__(rank=rank, epochs=epochs, lr=lr, l2=l2, seed=seed, **params)
        self.rank, self.epochs, self.lr, self.l2, self.seed = rank, epochs, lr, l2, seed

    def _fit(self, train: Dataset) -> None:
        rng = np.random.default_rng(self.seed)
        x = train.features.dense.astype(np.float64)
        rows, win, lose, margin = preference_pairs(train.labels(), rng)
        m, d = len(self.models), x.shape[1]
        p = {
            "W": rng.normal(0, 1 / np.sqrt(d), (self.rank, d)),
            "U": rng.normal(0, 1 / np.sqrt(self.rank), (m, self.rank)),
            "b": np.zeros(m),
        }
        adam = _Adam(self.lr)
        weight = margin / max(len(rows), 1)
        for _ in range(self.epochs if len(rows) else 0):
            z = x @ p["W"].T
            s = z @ p["U"].T + p["b"]
            diff = s[rows, win] - s[rows, lose]
            g = -weight * (1.0 - 0.5 * (1.0 + np.tanh(0.5 * diff)))  # d loss / d diff
            ds = np.zeros_like(s)
            np.add.at(ds, (rows, win), g)
            np.add.at(ds, (rows, lose), -g)
            dz = ds @ p["U"]
            grads = {
                "U": ds.T @ z + self.l2 * p["U"],
                "W": dz.T @ x + self.l2 * p["W"],
                "b": ds.sum(axis=0),
            }
            adam.step(p, grads)
        self.w, self.u, self.b = p["W"], p["U"], p["b"]

    def predict(self, data: Dataset) -> Matrix:
        return np.asarray((data.features.dense @ self.w.T) @ self.u.T + self.b, dtype=np.float64)

    def state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        return {"rank": self.rank}, {"W": self.w, "U": self.u, "b": self.b}

    def load_state(self, meta: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> None:
        self.w, self.u, self.b = arrays["W"], arrays["U"], arrays["b"]
