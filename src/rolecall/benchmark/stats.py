"""Paired significance for comparing two benchmark runs of one endpoint.

`paired_permutation_p` is the two-sided sign-flip permutation test on paired differences (score in
run B minus score in run A on the same case): under the null hypothesis each difference is equally
likely to have either sign, so the p-value is the share of the 2^n sign assignments whose mean is at
least as far from zero as the observed one. Exact up to `EXACT_LIMIT` non-zero differences, a
seeded Monte Carlo estimate beyond (add-one smoothed, so never 0). Pure Python: scipy is not a
dependency and numpy is only an extra.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from typing import Final

__all__ = ["EXACT_LIMIT", "paired_permutation_p"]

EXACT_LIMIT: Final = 16
MONTE_CARLO_DRAWS: Final = 20_000
_EPS: Final = 1e-12


def paired_permutation_p(differences: Sequence[float], *, seed: int = 0) -> float:
    """Two-sided p-value of the mean paired difference being zero (1.0 without differences)."""
    diffs = [float(d) for d in differences if abs(d) > _EPS]
    if not diffs:
        return 1.0
    observed = abs(math.fsum(diffs))
    if len(diffs) <= EXACT_LIMIT:
        extreme = sum(
            1
            for signs in itertools.product((1, -1), repeat=len(diffs))
            if abs(math.fsum(s * d for s, d in zip(signs, diffs, strict=True))) >= observed - _EPS
        )
        return float(extreme) / float(2 ** len(diffs))
    rng = random.Random(seed)
    extreme = 0
    for _ in range(MONTE_CARLO_DRAWS):
        total = math.fsum(d if rng.random() < 0.5 else -d for d in diffs)
        extreme += abs(total) >= observed - _EPS
    return (extreme + 1) / (MONTE_CARLO_DRAWS + 1)
