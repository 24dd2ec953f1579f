"""The quick suite (``quick: true`` cases) is small and still sets difficulty ceilings: every
bucket has at least ``min_samples`` quick cases per endpoint, even one without tool calling."""

from __future__ import annotations

from collections import Counter

from rolecall.benchmark.cases import builtin_suites
from rolecall.inventory.modes import DIFFICULTIES, CeilingConfig

MAX_QUICK_CASES = 24


def test_quick_suite_has_enough_cases_per_bucket_for_a_ceiling() -> None:
    quick = [case for suite in builtin_suites() for case in suite.quick_cases]
    need = CeilingConfig().min_samples
    every = Counter(case.bucket for case in quick)
    without_tools = Counter(case.bucket for case in quick if not case.needs_tools)
    assert len(quick) <= MAX_QUICK_CASES, every
    for bucket in DIFFICULTIES:
        assert every[bucket] >= need, (bucket, every)
        assert without_tools[bucket] >= need, (bucket, without_tools)
