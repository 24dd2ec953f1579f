"""Item statistics: each case's difficulty and discrimination, fitted from graded results (2PL IRT).

An endpoint ``j`` of ability θ_j answers case ``i`` well with probability
σ(a_i · (θ_j − b_i)): ``b`` is the case's difficulty on the abilities' scale, ``a`` how sharply it
separates endpoints below it from those above. Scores in [0, 1] (a judge's 0.7) count as soft
outcomes. Fitting alternates Newton steps on the abilities and on each case's (a, b), with weak
priors (θ ~ N(0, 1), b ~ N(0, 2²), log a ~ N(0, 0.5²)) that keep a small pool's fit finite: a case
every endpoint passes gets a low difficulty, not an infinite one. Pure numpy, no I/O.

`ability` estimates one endpoint from any subset of cases (the adaptive run's evidence), with a
standard error from the Fisher information; `expected_score` is what that ability predicts over
a whole suite; `flat` marks the cases that never separated the endpoints they were tried on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Ability", "ItemStats", "ability", "expected_score", "fit_items", "information"]

Array = NDArray[np.float64]

THETA_PRIOR_SD = 1.0
B_PRIOR_SD = 2.0
LOG_A_PRIOR_SD = 0.5
ITERATIONS = 60
TOLERANCE = 1e-5
FLAT_SPREAD = 1e-9  # a case whose scores spread less than this across endpoints never separates


@dataclass(frozen=True)
class ItemStats:
    """Per case: difficulty ``b``, discrimination ``a``, how many endpoints were graded on it and
    whether their scores were all the same (``flat``: it told them apart not at all)."""

    difficulty: Array
    discrimination: Array
    graded: NDArray[np.int64]
    flat: NDArray[np.bool_]

    @property
    def n(self) -> int:
        return int(self.difficulty.size)

    def subset(self, index: NDArray[np.int64]) -> ItemStats:
        return ItemStats(
            self.difficulty[index], self.discrimination[index], self.graded[index], self.flat[index]
        )


@dataclass(frozen=True)
class Ability:
    """An endpoint's estimated ability and its standard error (from the information of the
    cases it was graded on, prior included)."""

    theta: float
    se: float


def _sigmoid(x: Array) -> Array:
    out: Array = 1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))
    return out


def fit_items(scores: Array, iterations: int = ITERATIONS) -> tuple[ItemStats, Array]:
    """Fit every case (rows) and endpoint (columns) of ``scores`` (values in [0, 1], NaN where
    not graded): the item statistics and the endpoints' abilities. A case nobody was graded on
    keeps the priors' values."""
    y = np.asarray(scores, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError(f"scores must be a cases × endpoints matrix, got shape {y.shape}")
    seen = ~np.isnan(y)
    if np.any((y[seen] < 0) | (y[seen] > 1)):
        raise ValueError("scores must lie in [0, 1]")
    y = np.where(seen, y, 0.0)
    mask = seen.astype(np.float64)
    n, m = y.shape
    theta = np.zeros(m)
    b = _initial_difficulty(y, mask)
    log_a = np.zeros(n)
    for _ in range(iterations):
        theta_new = _theta_step(y, mask, theta, np.exp(log_a), b)
        b_new, log_a_new = _item_step(y, mask, theta_new, b, log_a)
        moved = max(
            float(np.max(np.abs(theta_new - theta), initial=0.0)),
            float(np.max(np.abs(b_new - b), initial=0.0)),
        )
        theta, b, log_a = theta_new, b_new, log_a_new
        if moved < TOLERANCE:
            break
    graded = seen.sum(axis=1).astype(np.int64)
    flat = _flat(y, seen)
    return ItemStats(b, np.exp(log_a), graded, flat), theta


def _initial_difficulty(y: Array, mask: Array) -> Array:
    """The logit of each case's failure rate, shrunk towards the middle."""
    graded = mask.sum(axis=1)
    passed = (y * mask).sum(axis=1)
    rate = (passed + 0.5) / (graded + 1.0)
    out: Array = np.log((1.0 - rate) / rate)
    return out


def _flat(y: Array, seen: NDArray[np.bool_]) -> NDArray[np.bool_]:
    high = np.where(seen, y, -np.inf).max(axis=1)
    low = np.where(seen, y, np.inf).min(axis=1)
    out: NDArray[np.bool_] = (seen.sum(axis=1) < 2) | (high - low < FLAT_SPREAD)
    return out


def _theta_step(y: Array, mask: Array, theta: Array, a: Array, b: Array) -> Array:
    """One Newton step per endpoint on its ability (the items fixed)."""
    p = _sigmoid(a[:, None] * (theta[None, :] - b[:, None]))
    grad = (mask * a[:, None] * (y - p)).sum(axis=0) - theta / THETA_PRIOR_SD**2
    hess = (mask * a[:, None] ** 2 * p * (1 - p)).sum(axis=0) + 1.0 / THETA_PRIOR_SD**2
    out: Array = theta + grad / hess
    return out


def _item_step(y: Array, mask: Array, theta: Array, b: Array, log_a: Array) -> tuple[Array, Array]:
    """One Newton step per case on (b, log a) (the abilities fixed), each clipped so that a
    case with few grades cannot jump."""
    a = np.exp(log_a)
    d = theta[None, :] - b[:, None]
    p = _sigmoid(a[:, None] * d)
    w = mask * p * (1 - p)
    resid = mask * (y - p)
    grad_b = -(a * resid.sum(axis=1)) - b / B_PRIOR_SD**2
    hess_b = a**2 * w.sum(axis=1) + 1.0 / B_PRIOR_SD**2
    b_new = b + np.clip(grad_b / hess_b, -1.0, 1.0)
    d = theta[None, :] - b_new[:, None]
    p = _sigmoid(a[:, None] * d)
    resid = mask * (y - p)
    w = mask * p * (1 - p)
    # in log a: d/dlog a = a · Σ (y − p) d
    grad_la = a * (resid * d).sum(axis=1) - log_a / LOG_A_PRIOR_SD**2
    hess_la = a**2 * (w * d**2).sum(axis=1) + 1.0 / LOG_A_PRIOR_SD**2
    log_a_new = log_a + np.clip(grad_la / hess_la, -0.5, 0.5)
    return b_new, log_a_new


def information(theta: float, items: ItemStats) -> Array:
    """Each case's Fisher information about an ability of ``theta``: a² p (1 − p)."""
    a = items.discrimination
    p = _sigmoid(a * (theta - items.difficulty))
    out: Array = a**2 * p * (1 - p)
    return out


def ability(scores: Array, items: ItemStats, iterations: int = 30) -> Ability:
    """MAP ability from the scores (values in [0, 1]) of an endpoint on ``items`` (the same
    cases, in order); the prior alone when it has none."""
    y = np.asarray(scores, dtype=np.float64)
    a, b = items.discrimination, items.difficulty
    theta = 0.0
    hess = 1.0 / THETA_PRIOR_SD**2
    for _ in range(iterations):
        p = _sigmoid(a * (theta - b))
        grad = float((a * (y - p)).sum()) - theta / THETA_PRIOR_SD**2
        hess = float((a**2 * p * (1 - p)).sum()) + 1.0 / THETA_PRIOR_SD**2
        step = grad / hess
        theta += float(np.clip(step, -2.0, 2.0))
        if abs(step) < TOLERANCE:
            break
    return Ability(theta, float(1.0 / np.sqrt(hess)))


def expected_score(theta: float, items: ItemStats) -> float:
    """The mean score an ability of ``theta`` predicts over ``items``."""
    return float(_sigmoid(items.discrimination * (theta - items.difficulty)).mean())
