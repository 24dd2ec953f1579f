"""Difficulty ceilings derived from per-bucket benchmark quality (profiles/ceilings.py)."""

from __future__ import annotations

import pytest

from rolecall.profiles import benchmark_quality
from rolecall.profiles.ceilings import derive_ceiling
from rolecall.profiles.quality import BucketQuality

from .builders import bench

GOOD = BucketQuality(0.9, 0.8, 0.97, 6)
BAD = BucketQuality(0.2, 0.1, 0.35, 6)
UNSURE = BucketQuality(0.4, 0.1, 0.7, 6)  # mean under the bar, interval reaching over it


def _derive(**buckets: BucketQuality) -> tuple[str | None, dict[str, str], str]:
    evidence = derive_ceiling(buckets, min_samples=4, min_quality=0.5)
    return evidence.ceiling, dict(evidence.verdicts), evidence.why


def test_failing_hard_sets_ceiling_medium() -> None:
    ceiling, verdicts, why = _derive(easy=GOOD, medium=GOOD, hard=BAD)
    assert ceiling == "medium"
    assert verdicts == {"easy": "passes", "medium": "passes", "hard": "fails"}
    assert "ceiling medium: hard requests" in why
    assert "0.35" in why


def test_the_easiest_failing_bucket_decides() -> None:
    # hard passes on its few lucky samples, medium fails: the ceiling is easy
    ceiling, verdicts, _ = _derive(easy=GOOD, medium=BAD, hard=GOOD)
    assert ceiling == "easy"
    assert verdicts["medium"] == "fails"


def test_failing_easy_keeps_ceiling_easy_and_says_so() -> None:
    ceiling, verdicts, why = _derive(easy=BAD, medium=BAD, hard=BAD)
    assert ceiling == "easy"
    assert verdicts["easy"] == "fails"
    assert "the lowest there is: even easy" in why


def test_an_interval_reaching_the_bar_is_not_a_failure() -> None:
    ceiling, verdicts, why = _derive(easy=GOOD, medium=UNSURE, hard=UNSURE)
    assert ceiling is None
    assert verdicts == {"easy": "passes", "medium": "passes", "hard": "passes"}
    assert why.startswith("no ceiling")


def test_too_few_samples_do_not_count() -> None:
    few = BucketQuality(0.0, 0.0, 0.1, 3)
    ceiling, verdicts, why = _derive(easy=GOOD, medium=few)
    assert ceiling is None
    assert verdicts == {
        "easy": "passes",
        "medium": "too few samples (3 of 4)",
        "hard": "no samples",
    }
    assert "passing: easy" in why


def test_nothing_measured() -> None:
    ceiling, verdicts, why = _derive()
    assert ceiling is None
    assert set(verdicts.values()) == {"no samples"}
    assert "no bucket has enough samples" in why


def test_unknown_bucket_names_are_ignored() -> None:
    evidence = derive_ceiling({"extreme": BAD, "easy": GOOD}, min_samples=4, min_quality=0.5)
    assert evidence.ceiling is None
    assert list(evidence.verdicts) == ["easy", "medium", "hard"]


def test_from_benchmark_quality() -> None:
    samples = [bench(0.9, difficulty_bucket="easy") for _ in range(4)]
    samples += [bench(s, difficulty_bucket="hard") for s in (0.0, 0.1, 0.0, 0.1, 0.05)]
    quality = benchmark_quality(samples)
    assert quality is not None
    evidence = derive_ceiling(quality.buckets, min_samples=4, min_quality=0.5)
    assert evidence.ceiling == "medium"
    assert evidence.verdicts["medium"] == "no samples"
    assert evidence.to_json()["ceiling"] == "medium"


@pytest.mark.parametrize(
    ("min_samples", "min_quality", "field"),
    [(0, 0.5, "min_samples"), (4, 1.5, "min_quality"), (4, -0.1, "min_quality")],
)
def test_bad_settings_name_the_field(min_samples: int, min_quality: float, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        derive_ceiling({}, min_samples=min_samples, min_quality=min_quality)
