"""Benchmark artifacts: suites of cases, runs of a suite on one endpoint, and judge scores.

What each artifact is for: docs/protocol.md §Artifacts.

Owns `BenchmarkSuite` with `BenchmarkCase`, `BenchmarkRun` with `BenchmarkResult`, and
`JudgeScore`, mirroring the ``benchmark-suite``, ``benchmark-run`` and ``judge-score`` schemas.
Judge scores are unbounded numbers here, as in the schema; profiles clamp them to [0, 1].
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from rolecall.protocol.base import ProtocolModel

__all__ = ["BenchmarkCase", "BenchmarkResult", "BenchmarkRun", "BenchmarkSuite", "JudgeScore"]

TimestampMs = Annotated[int, Field(ge=0)]


class BenchmarkCase(ProtocolModel):
    """One case of a suite: a prompt reference and, optionally, the expected output shape."""

    case_id: str
    prompt_ref: str
    expected_shape: str | None = None


class BenchmarkSuite(ProtocolModel):
    """A set of cases exercising one task type and some target capabilities."""

    suite_id: str
    task_type: str
    capability_targets: Annotated[list[str], Field(min_length=1)]
    cases: Annotated[list[BenchmarkCase], Field(min_length=1)]


class BenchmarkResult(ProtocolModel):
    """The outcome of one case in a run."""

    case_id: str
    latency_ms: Annotated[float, Field(ge=0)]
    success: bool
    judge_score: float | None = None


class BenchmarkRun(ProtocolModel):
    """One execution of a suite against one endpoint."""

    run_id: str
    suite_id: str
    endpoint_id: str
    started_at_ms: TimestampMs
    finished_at_ms: TimestampMs
    results: Annotated[list[BenchmarkResult], Field(min_length=1)]


class JudgeScore(ProtocolModel):
    """A judge's grade of one case, with its rationale."""

    judge_id: str
    case_id: str
    score: float
    rationale: str
