"""The run report's difficulty ceiling per endpoint and its note on buckets too small for one."""

from __future__ import annotations

from rolecall.benchmark.report import build_report
from rolecall.benchmark.results import BenchResultRecord
from rolecall.inventory.modes import CeilingConfig

from .test_report import result, run_record


def _cases(endpoint: str, scores: dict[str, list[float]]) -> list[BenchResultRecord]:
    out = []
    index = 0
    for bucket, values in scores.items():
        for score in values:
            out.append(result(endpoint, index, score, bucket=bucket, case_key=f"s/{bucket}{index}"))
            index += 1
    return out


def test_a_bucket_with_too_few_cases_says_so() -> None:
    results = _cases("a", {"easy": [1.0] * 5, "medium": [0.9] * 3, "hard": [0.0, 0.0]})
    entry = build_report(run_record(["a"]), results)["endpoints"][0]
    buckets = entry["quality"]["buckets"]
    assert "note" not in buckets["easy"]
    assert buckets["medium"]["note"] == "too few samples (3 of 4): too few for a difficulty ceiling"
    assert buckets["hard"]["note"].startswith("too few samples (2 of 4)")
    ceiling = entry["quality"]["ceiling"]
    assert ceiling["ceiling"] is None
    assert ceiling["verdicts"]["easy"] == "passes"


def test_a_failing_bucket_sets_the_ceiling_in_the_report() -> None:
    results = _cases("a", {"easy": [1.0] * 4, "medium": [0.95, 1.0, 0.9, 1.0], "hard": [0.0] * 4})
    entry = build_report(run_record(["a"]), results)["endpoints"][0]
    ceiling = entry["quality"]["ceiling"]
    assert ceiling["ceiling"] == "medium"
    assert ceiling["verdicts"] == {"easy": "passes", "medium": "passes", "hard": "fails"}
    assert "hard requests score under 0.5" in ceiling["why"]


def test_the_configured_rule_is_used() -> None:
    results = _cases("a", {"easy": [1.0] * 4, "medium": [0.0] * 4})
    strict = CeilingConfig(min_samples=6, min_quality=0.5)
    entry = build_report(run_record(["a"]), results, ceilings=strict)["endpoints"][0]
    assert entry["quality"]["buckets"]["medium"]["note"].startswith("too few samples (4 of 6)")
    assert entry["quality"]["ceiling"]["ceiling"] is None
