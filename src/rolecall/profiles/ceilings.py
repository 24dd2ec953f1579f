"""An endpoint's difficulty ceiling derived from its benchmark quality per difficulty bucket.

The difficulty mode (docs/routing.md §Difficulty) keeps requests away from endpoints whose
ceiling is below the request's difficulty. An operator may declare the ceiling
(``max_difficulty``); otherwise `derive_ceiling` reads it off the per-bucket quality that
`rolecall.profiles.quality.benchmark_quality` computed:

* buckets are ordered easy < medium < hard, and a bucket counts only with ``min_samples`` scores;
* a counted bucket *fails* when its whole 95% interval lies under ``min_quality`` (``ci_high``
  below it): the endpoint is worse than the bar even on the most favourable reading of the data;
* the ceiling is the bucket just below the easiest failing one. Nothing sits below easy, so an
  endpoint failing easy keeps the ceiling "easy" and the evidence says so;
* no counted failing bucket: no ceiling (``None``), whatever the other buckets show.

Requiring the whole interval under the bar means a few unlucky scores never set a ceiling:
excluding an endpoint needs evidence, not a hunch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from rolecall.profiles.quality import BucketQuality
from rolecall.profiles.samples import DIFFICULTY_BUCKETS

__all__ = ["CeilingEvidence", "derive_ceiling"]

PASSES: Final = "passes"
FAILS: Final = "fails"
NO_SAMPLES: Final = "no samples"


@dataclass(frozen=True, slots=True)
class CeilingEvidence:
    """The derived ceiling (None: none), each bucket's verdict and one sentence saying why."""

    ceiling: str | None
    verdicts: Mapping[str, str]
    why: str

    def to_json(self) -> dict[str, object]:
        return {"ceiling": self.ceiling, "verdicts": dict(self.verdicts), "why": self.why}


def _verdict(quality: BucketQuality | None, min_samples: int, min_quality: float) -> str:
    if quality is None or quality.samples <= 0:
        return NO_SAMPLES
    if quality.samples < min_samples:
        return f"too few samples ({quality.samples} of {min_samples})"
    return FAILS if quality.ci_high < min_quality else PASSES


def derive_ceiling(
    buckets: Mapping[str, BucketQuality], *, min_samples: int, min_quality: float
) -> CeilingEvidence:
    """The ceiling ``buckets`` (difficulty → quality) support; see the module docstring."""
    if min_samples < 1:
        raise ValueError(f"min_samples: expected at least 1, got {min_samples}")
    if not 0 <= min_quality <= 1:
        raise ValueError(f"min_quality: expected a number in [0, 1], got {min_quality}")
    verdicts: dict[str, str] = {
        b: _verdict(buckets.get(b), min_samples, min_quality) for b in DIFFICULTY_BUCKETS
    }
    failing = next((b for b in DIFFICULTY_BUCKETS if verdicts[b] == FAILS), None)
    if failing is None:
        counted = [b for b in DIFFICULTY_BUCKETS if verdicts[b] == PASSES]
        why = (
            f"no ceiling: no bucket with at least {min_samples} samples has its 95% interval "
            f"under {min_quality:g}"
            + (
                f" (passing: {', '.join(counted)})"
                if counted
                else " (no bucket has enough samples)"
            )
        )
        return CeilingEvidence(None, verdicts, why + ".")
    high = buckets[failing].ci_high
    index = DIFFICULTY_BUCKETS.index(failing)
    if index == 0:
        why = (
            f"ceiling easy, the lowest there is: even easy requests score under {min_quality:g} "
            f"(95% interval up to {high:.2f})."
        )
        return CeilingEvidence("easy", verdicts, why)
    ceiling = DIFFICULTY_BUCKETS[index - 1]
    why = (
        f"ceiling {ceiling}: {failing} requests score under {min_quality:g} "
        f"(95% interval up to {high:.2f} over {buckets[failing].samples} samples)."
    )
    return CeilingEvidence(ceiling, verdicts, why)
