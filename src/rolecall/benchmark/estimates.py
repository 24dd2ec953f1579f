"""Suite-level estimates from a sample of a suite's cases: stratified means with intervals.

An adaptive run grades a share of a suite; what an operator wants is the endpoint's quality over
the whole suite. `stratified` estimates it from the graded cases: each stratum's mean weighted by
the stratum's share of the suite, with the variance of a stratified sample drawn without
replacement (finite-population correction: a stratum graded in full is known exactly). Small
strata borrow strength: a stratum's variance is shrunk towards a prior variance with one
pseudo-observation, so two identical scores do not claim certainty. A stratum no case was graded
in takes the mean of the others and the prior's variance in full. Pure, no I/O.

The same function estimates a difference between two endpoints from paired scores (the cases
both answered): pass the differences and the difference's prior variance.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final, TypeVar

__all__ = [
    "DIFFERENCE_PRIOR_VAR",
    "SCORE_PRIOR_VAR",
    "Z_95",
    "Estimate",
    "stratified",
]

Z_95: Final = 1.96
SCORE_PRIOR_VAR: Final = 0.25  # the largest variance a score in [0, 1] can have
DIFFERENCE_PRIOR_VAR: Final = 0.5  # two independent coin flips' difference
PRIOR_WEIGHT: Final = 1.0  # pseudo-observations of the prior variance per stratum
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Estimate:
    """A suite-level estimate: ``mean`` with standard error ``se``, from ``used`` of the
    ``total`` cases (``used == total``: measured, not estimated)."""

    mean: float
    se: float
    used: int
    total: int

    def half_width(self, z: float = Z_95) -> float:
        return z * self.se

    def interval(
        self, z: float = Z_95, *, low: float = 0.0, high: float = 1.0
    ) -> tuple[float, float]:
        """mean ± z·se, clamped to [low, high] (both ends, when the mean itself lies outside)."""
        lo = min(high, max(low, self.mean - z * self.se))
        hi = max(low, min(high, self.mean + z * self.se))
        return lo, max(lo, hi)

    def to_dict(self) -> dict[str, float | int]:
        low, high = self.interval()
        return {
            "mean": round(self.mean, 4),
            "ci_low": round(low, 4),
            "ci_high": round(high, 4),
            "se": round(self.se, 4),
            "cases_used": self.used,
            "cases_total": self.total,
        }


def stratified(
    values: Iterable[tuple[K, float]],
    sizes: Mapping[K, int],
    *,
    prior_var: float = SCORE_PRIOR_VAR,
) -> Estimate | None:
    """The stratified estimate of the suite mean from (stratum, value) pairs; ``sizes`` is every
    stratum's case count in the suite. None when no value was given."""
    by_stratum: dict[K, list[float]] = {}
    for stratum, value in values:
        if stratum not in sizes:
            raise ValueError(f"stratum {stratum!r} is not in the suite's sizes")
        by_stratum.setdefault(stratum, []).append(float(value))
    if not by_stratum:
        return None
    # strata of no cases carry no weight, and their values tell nothing about the suite
    by_stratum = {k: v for k, v in by_stratum.items() if sizes[k] > 0}
    if not by_stratum:
        return None
    total = sum(n for n in sizes.values() if n > 0)
    means = {k: math.fsum(v) / len(v) for k, v in by_stratum.items()}
    covered = sum(sizes[k] for k in means)
    # an uncovered stratum is filled with the covered ones' weighted mean, so the estimate is
    # Σ (N_s / N_covered) · mean_s over the covered strata: their sampling variance carries
    # those weights, and each uncovered stratum adds its unknown offset (the prior) at its own
    mean = math.fsum(means[k] * sizes[k] for k in means) / covered
    var_terms: list[float] = []
    for stratum, size in sizes.items():
        if size <= 0:
            continue
        scores = by_stratum.get(stratum)
        if not scores:
            var_terms.append((size / total) ** 2 * prior_var)
            continue
        n = min(len(scores), size)
        spread = math.fsum((x - means[stratum]) ** 2 for x in scores)
        variance = (spread + PRIOR_WEIGHT * prior_var) / (len(scores) - 1 + PRIOR_WEIGHT)
        var_terms.append((size / covered) ** 2 * variance / n * (1 - n / size))
    used = sum(min(len(v), sizes[k]) for k, v in by_stratum.items())
    return Estimate(mean, math.sqrt(math.fsum(var_terms)), used, total)
