"""Pool-scaling experiments (RouterEval's "model-level scaling up"), with groups chosen on train only.

For each pool size m = 2 … N and each group kind, a candidate group is selected from the *training*
scores (RouterEval selects on all prompts, test included, which makes the oracle optimistic):

* ``all_strong`` / ``all_weak``: models sorted by train accuracy, models at or below 0.1 or at or above
  0.9 dropped (when enough remain); a band of max(N // 5, m) models at the top / bottom; the window of m
  consecutive models in the band with the highest train oracle accuracy.
* ``strong_to_weak``: the models split into m accuracy strata; 1,000 random draws of one per stratum;
  the draw with the highest train oracle accuracy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rolecall.learned import metrics as mt
from rolecall.learned.evaluate import Prepared
from rolecall.learned.predictors.base import create

GROUPS = ("all_strong", "all_weak", "strong_to_weak")
DRAWS = 1000


def _valid_models(train: np.ndarray, m: int) -> np.ndarray:
    means = train.mean(axis=0)
    order = np.argsort(means, kind="stable")
    inside = order[(means[order] > 0.1) & (means[order] < 0.9)]
    return inside if len(inside) >= m else order


def _best_window(train: np.ndarray, band: np.ndarray, m: int) -> list[int]:
    best, best_oracle = list(band[:m]), -1.0
    for start in range(len(band) - m + 1):
        window = list(band[start : start + m])
        oracle = mt.oracle_mu(train[:, window])
        if oracle > best_oracle:
            best, best_oracle = window, oracle
    return sorted(best)


def select_group(train: np.ndarray, m: int, kind: str, seed: int = 0) -> list[int]:
    """Column indices of the group of size m of the given kind, chosen on the training matrix."""
    order = _valid_models(train, m)  # ascending train accuracy
    width = max(len(order) // 5, m)
    if kind == "all_strong":
        return _best_window(train, order[-width:], m)
    if kind == "all_weak":
        return _best_window(train, order[:width], m)
    if kind == "strong_to_weak":
        strata = np.array_split(order, m)
        rng = np.random.default_rng(seed)
        best, best_oracle = [int(s[-1]) for s in strata], -1.0
        for _ in range(DRAWS):
            draw = [int(rng.choice(s)) for s in strata]
            oracle = mt.oracle_mu(train[:, draw])
            if oracle > best_oracle:
                best, best_oracle = draw, oracle
        return sorted(best)
    raise ValueError(f"unknown group kind {kind!r}; choose one of {', '.join(GROUPS)}")


def scale(
    prepared: Prepared,
    predictors: Sequence[str],
    sizes: Sequence[int] | None = None,
    groups: Sequence[str] = GROUPS,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Rows {m, group, router, models, mu_o, best_single, oracle} for every size × group × router."""
    y_train = prepared.train.labels()
    total = y_train.shape[1]
    rows: list[dict[str, Any]] = []
    for m in sizes or range(2, total + 1):
        for kind in groups:
            cols = select_group(y_train, m, kind)
            train, test = prepared.train.columns(cols), prepared.test.columns(cols)
            y = test.labels()
            best = mt.best_single_index(train.labels())
            for name in predictors:
                if progress:
                    progress(f"m={m} {kind} {name}")
                predictor = create(name).fit(train)
                expected = predictor.expected_score(test)
                rows.append(
                    {
                        "m": m,
                        "group": kind,
                        "router": name,
                        "models": train.models,
                        "mu_o": mt.mu_o(y, predictor.choose(test))
                        if expected is None
                        else expected,
                        "best_single": float(np.mean(y[:, best])),
                        "oracle": mt.oracle_mu(y),
                    }
                )
    return rows


def plot(rows: Sequence[dict[str, Any]], path: Any) -> None:
    """µ_o, best single and oracle against m, one panel per group (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [g for g in GROUPS if any(r["group"] == g for r in rows)]
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 4), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        part = [r for r in rows if r["group"] == kind]
        for router in sorted({r["router"] for r in part}):
            pts = sorted((r["m"], r["mu_o"]) for r in part if r["router"] == router)
            ax.plot(*zip(*pts, strict=True), marker="o", label=router)
        for key, style in (("oracle", "k--"), ("best_single", "k:")):
            pts = sorted({(r["m"], r[key]) for r in part})
            ax.plot(*zip(*pts, strict=True), style, label=key)
        ax.set_title(kind)
        ax.set_xlabel("pool size m")
        ax.set_ylabel("mean score")
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
