"""The difficulty classifier's verdict on a benchmark case: `rolecall.routing.difficulty`'s
rubric on the case's messages and tools, with the case's task (``--task-hints``, where the
gateway knows it: `cases.gateway_task`) or as the gateway sees a request that names none."""

from __future__ import annotations

from modes.cases import gateway_task
from rolecall.benchmark.cases import BenchCase, builtin_suites
from rolecall.routing.difficulty import classify, signals_of

SOURCE = "rolecall.routing.difficulty.classify(signals_of(...))"


def verdict(case: BenchCase, with_task: bool) -> str:
    """The difficulty the rubric gives ``case``, sent with or without its task."""
    task = gateway_task(case) if with_task else None
    signals = signals_of(
        [m.model_dump() for m in case.messages],
        tools=len(case.tools or []),
        task=task or "text.chat",
    )
    return classify(signals).difficulty


def every_case() -> list[BenchCase]:
    """Every built-in case (classifying needs no grader: the judge-graded ones count too)."""
    return [case for suite in builtin_suites() for case in suite.cases]
