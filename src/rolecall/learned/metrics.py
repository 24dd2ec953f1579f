"""Every router-evaluation metric in one place (definitions: docs/learned.md §Metrics).

Notation: ``Y`` is the test score matrix (N prompts × m candidates, scores in [0, 1]); ``choice`` the
candidate index the router picked per prompt; ``probs`` the router's per-prompt probability vectors.

* RouterEval: µ_o, V_R, V_B (test-measured best single, as RouterEval computes it; `v_b_train` divides by
  the train-selected best single measured on test instead), E_p = the *mean per-prompt entropy* of the
  router's probability vectors in bits (not the entropy of the selection histogram; that one is
  `choice_entropy`), oracle r_o and r_o(p).
* RouteLLM: the strong-vs-weak threshold curve, APGR and CPT(x%), the optimal curve.
* RouterBench: the non-decreasing convex hull of (cost, quality) points, AIQ and the zero router.
* gain over the best single model and the fraction of the oracle gap closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Matrix = NDArray[np.float64]


# --- RouterEval ------------------------------------------------------------------------------------


def mu_o(scores: Matrix, choice: NDArray[np.int64]) -> float:
    """µ_o: the mean score of the routed choices."""
    return float(np.mean(scores[np.arange(len(choice)), choice]))


def model_means(scores: Matrix) -> Matrix:
    return np.asarray(np.mean(scores, axis=0), dtype=np.float64)


def oracle_mu(scores: Matrix) -> float:
    """The oracle r_o: the mean over prompts of the best candidate's score."""
    return float(np.mean(np.max(scores, axis=1)))


def random_mu(scores: Matrix) -> float:
    """The expected µ of a uniformly random router (r_o(0))."""
    return float(np.mean(scores))


def r_o_mu(scores: Matrix, p: float) -> float:
    """Expected µ of r_o(p): the oracle with probability p, else a uniform random candidate.

    RouterEval averages 1,000 simulated runs; this is the exact expectation those runs estimate.
    """
    return p * oracle_mu(scores) + (1.0 - p) * random_mu(scores)


def r_o_probabilities(scores: Matrix, p: float) -> Matrix:
    """r_o(p)'s probability vectors: p · y_i/Σy_i + (1−p) · uniform (uniform where Σy_i = 0)."""
    n, m = scores.shape
    uniform = np.full((n, m), 1.0 / m)
    totals = scores.sum(axis=1, keepdims=True)
    safe = np.where(totals > 0, totals, 1.0)
    oracle = np.where(totals > 0, scores / safe, uniform)
    return np.asarray(p * oracle + (1.0 - p) * uniform, dtype=np.float64)


def v_r(mu: float, reference_accuracy: float) -> float:
    """V_R = µ_o / the reference model's accuracy on the benchmark (e.g. GPT-4's)."""
    if reference_accuracy <= 0:
        raise ValueError("reference_accuracy must be > 0")
    return mu / reference_accuracy


def v_b(mu: float, scores: Matrix) -> float:
    """V_B as RouterEval computes it: µ_o / the best single candidate *measured on the test split*."""
    best = float(np.max(model_means(scores)))
    return mu / best if best > 0 else float("nan")


def best_single_index(train_scores: Matrix) -> int:
    """The best single candidate chosen on training prompts only (ties: the lowest index)."""
    return int(np.argmax(model_means(train_scores)))


def v_b_train(mu: float, test_scores: Matrix, best_index: int) -> float:
    """µ_o / the test score of the best single candidate chosen on train (the do-no-harm ratio)."""
    best = float(np.mean(test_scores[:, best_index]))
    return mu / best if best > 0 else float("nan")


def selection_entropy(probs: Matrix) -> float:
    """E_p = −(1/N) Σ_i Σ_j p_ij log2 p_ij, in bits (0 log 0 = 0); between 0 and log2 m."""
    p = np.clip(np.asarray(probs, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return max(0.0, float(-np.mean(np.sum(terms, axis=1))))


def choice_entropy(choice: NDArray[np.int64], m: int) -> float:
    """Entropy in bits of the selection histogram (how spread the router's picks are)."""
    counts = np.bincount(choice, minlength=m).astype(np.float64)
    freq = counts[counts > 0] / counts.sum()
    return max(0.0, float(-np.sum(freq * np.log2(freq))))


def _trapezoid(y: Matrix, x: Matrix) -> float:
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0)


def softmax(values: Matrix) -> Matrix:
    shifted = values - np.max(values, axis=1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float64)


def calibration_error(predicted: Matrix, scores: Matrix, bins: int = 10) -> float:
    """Expected calibration error of predicted success probabilities against the scores, over
    every (prompt, model) pair: Σ_b (n_b / N) · |mean predicted − mean score| in equal-width bins.
    0 means a predicted 0.7 succeeds 70% of the time: the router knows when it does not know."""
    p = np.clip(predicted.ravel(), 0.0, 1.0)
    y = scores.ravel()
    which = np.minimum((p * bins).astype(np.int64), bins - 1)
    counts = np.bincount(which, minlength=bins)
    gaps = np.abs(
        np.bincount(which, weights=p, minlength=bins)
        - np.bincount(which, weights=y, minlength=bins)
    )
    return float(gaps.sum() / max(len(p), 1)) if counts.any() else 0.0


def gain_over_best(mu: float, best_single: float) -> float:
    return mu - best_single


def gap_closed(mu: float, best_single: float, oracle: float) -> float:
    """The fraction of the gap between the best single model and the oracle that routing closes."""
    gap = oracle - best_single
    return (mu - best_single) / gap if gap > 1e-12 else float("nan")


# --- RouteLLM --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdCurve:
    """Points (% of calls to the strong model, mean score), sorted by the strong-call share."""

    strong_percent: Matrix
    score: Matrix
    weak: float
    strong: float

    def pgr(self) -> Matrix:
        gap = self.strong - self.weak
        return (self.score - self.weak) / gap if gap != 0 else np.full_like(self.score, np.nan)


def threshold_curve(
    win_score: Matrix, strong: Matrix, weak: Matrix, num_results: int = 10
) -> ThresholdCurve:
    """RouteLLM's curve: cut the router's strong-win scores into ``num_results`` quantile bins; each bin
    edge is a threshold (strong model where score ≥ threshold). The all-weak (0%) and all-strong (100%)
    ends are added so that the curve spans the whole cost axis.
    """
    win_score = np.asarray(win_score, dtype=np.float64)
    edges = np.unique(np.quantile(win_score, np.linspace(0.0, 1.0, num_results + 1)))
    xs, ys = [0.0, 100.0], [float(np.mean(weak)), float(np.mean(strong))]
    for threshold in edges:
        to_strong = win_score >= threshold
        xs.append(100.0 * float(np.mean(to_strong)))
        ys.append(float(np.mean(np.where(to_strong, strong, weak))))
    order = np.lexsort((np.asarray(ys), np.asarray(xs)))
    x, y = np.asarray(xs)[order], np.asarray(ys)[order]
    keep = np.concatenate((np.diff(x) > 0, [True]))  # one point per x: the highest score there
    return ThresholdCurve(x[keep], y[keep], float(np.mean(weak)), float(np.mean(strong)))


def apgr(curve: ThresholdCurve) -> float:
    """APGR = (AUC_router − AUC_weak) / (AUC_strong − AUC_weak): the mean PGR over the cost axis."""
    x = curve.strong_percent / 100.0
    span = float(x[-1] - x[0])
    gap = curve.strong - curve.weak
    if span <= 0 or gap == 0:
        return float("nan")
    auc = _trapezoid(curve.score, x)
    return (auc - curve.weak * span) / (gap * span)


def cpt(curve: ThresholdCurve, pgr_target: float) -> float:
    """CPT(x): the smallest % of strong calls at which the (interpolated) curve reaches PGR = x."""
    target = curve.weak + pgr_target * (curve.strong - curve.weak)
    x, y = curve.strong_percent, curve.score
    if y[0] >= target:
        return float(x[0])
    for i in range(1, len(x)):
        if y[i] >= target:
            frac = (target - y[i - 1]) / (y[i] - y[i - 1])
            return float(x[i - 1] + frac * (x[i] - x[i - 1]))
    return float("nan")


def optimal_curve(strong: Matrix, weak: Matrix, percents: Sequence[float]) -> Matrix:
    """RouteLLM's optimal curve: send to the strong model only prompts it wins, up to the budget."""
    n = len(strong)
    wins = np.sort(np.maximum(np.asarray(strong) - np.asarray(weak), 0.0))[::-1]
    cumulative = np.concatenate(([0.0], np.cumsum(wins)))
    base = float(np.mean(weak))
    out = [base + cumulative[min(int(p / 100.0 * n), n)] / n for p in percents]
    return np.asarray(out, dtype=np.float64)


# --- RouterBench -----------------------------------------------------------------------------------


def nondecreasing_hull(points: Matrix) -> Matrix:
    """The non-decreasing upper convex hull of (cost, quality) points, sorted by cost.

    Mixing two routers at random reaches every point on the segment between them, so the hull is
    what a cost budget can buy; beyond the best-quality point, spending more buys nothing.
    """
    pts = np.asarray(sorted(map(tuple, np.asarray(points, dtype=np.float64))))
    hull: list[tuple[float, float]] = []
    for c, q in pts:
        if hull and q <= hull[-1][1]:
            continue  # costs at least as much for no more quality: dominated
        while len(hull) >= 2 and _turns_up(hull[-2], hull[-1], (c, q)):
            hull.pop()
        hull.append((float(c), float(q)))
    return np.asarray(hull, dtype=np.float64)


def _turns_up(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> bool:
    """True when b lies on or below the segment a–c (so b is not on the upper hull)."""
    cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return cross >= 0


def aiq(points: Matrix, cost_min: float, cost_max: float) -> float:
    """AIQ: the area under the non-decreasing hull over [cost_min, cost_max], divided by that range.

    Below the cheapest hull point nothing is reachable (quality 0); past the last point the hull is flat.
    """
    hull = nondecreasing_hull(points)
    if cost_max <= cost_min:
        raise ValueError("cost_max must exceed cost_min")
    grid = np.linspace(cost_min, cost_max, 2001)
    quality = np.interp(grid, hull[:, 0], hull[:, 1], left=0.0, right=float(hull[-1, 1]))
    quality = np.where(grid < hull[0, 0], 0.0, quality)
    return _trapezoid(quality, grid) / (cost_max - cost_min)


def zero_router_aiq(model_points: Matrix) -> float:
    """AIQ of the zero router: the hull of the single models and their random mixtures."""
    pts = np.asarray(model_points, dtype=np.float64)
    return aiq(pts, float(pts[:, 0].min()), float(pts[:, 0].max()))


def cost_quality_curve(
    predicted: Matrix,
    model_cost: Matrix,
    scores: Matrix,
    costs: Matrix,
    willingness: Sequence[float],
) -> Matrix:
    """Points (mean cost, mean score) of the utility router argmax_j [λ·P̂_ij − ĉ_j] for each λ.

    ``predicted`` and ``model_cost`` (per-model expected cost from train) are what the router knows;
    ``scores``/``costs`` are the realised test outcomes.
    """
    rows = np.arange(len(scores))
    out = []
    for lam in willingness:
        choice = np.argmax(lam * predicted - model_cost[None, :], axis=1)
        out.append((float(np.mean(costs[rows, choice])), float(np.mean(scores[rows, choice]))))
    return np.asarray(out, dtype=np.float64)
