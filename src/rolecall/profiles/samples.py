"""One measurement of one endpoint: the input unit of observed-profile aggregation.

Owns `Sample` (a benchmark case result or a live request, docs/protocol.md §Artifacts) and the
closed vocabularies it uses (`SAMPLE_SOURCES`, `DIFFICULTY_BUCKETS`, `BENCHMARK_MODES`). A `Sample`
validates itself on construction, so aggregation never has to second-guess its inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "BENCHMARK_MODES",
    "DIFFICULTY_BUCKETS",
    "SAMPLE_SOURCES",
    "BenchmarkMode",
    "DifficultyBucket",
    "Sample",
    "SampleSourceName",
]

SampleSourceName = Literal["benchmark", "live_request", "feedback", "live_judged"]
DifficultyBucket = Literal["easy", "medium", "hard"]
BenchmarkMode = Literal["quick", "full", "canary"]

SAMPLE_SOURCES: Final[tuple[SampleSourceName, ...]] = (
    "benchmark",
    "live_request",
    "feedback",
    "live_judged",
)
"""Where a sample came from: a graded benchmark case, a request served live, feedback on an
answered request, or a judge's grade of a served answer (shadow judging). The last two are
quality only: they measure no latency, cost or failure of the endpoint."""

QUALITY_ONLY_SOURCES: Final[frozenset[str]] = frozenset({"feedback", "live_judged"})
"""Sources whose samples carry a score and nothing about the request itself."""

DIFFICULTY_BUCKETS: Final[tuple[DifficultyBucket, ...]] = ("easy", "medium", "hard")
"""Benchmark case difficulty buckets, easiest first."""

BENCHMARK_MODES: Final[tuple[BenchmarkMode, ...]] = ("quick", "full", "canary")
"""Benchmark suite modes: ``quick`` is a hard-case regression signal, ``full`` the whole suite,
``canary`` a small scheduled subset of it (docs/profiles.md §Canaries)."""

_NON_NEGATIVE_FIELDS: Final[tuple[str, ...]] = (
    "latency_ms",
    "tokens_per_sec",
    "cold_start_ms",
    "cost_per_1k_tokens",
    "cost_usd",
)


@dataclass(frozen=True, slots=True)
class Sample:
    """One measurement of one endpoint version.

    ``error_class`` is ``None`` for a success and names the failure class otherwise; a benchmark
    case that failed to execute may still carry a ``judge_score`` (0). ``cost_per_1k_tokens`` is the
    sample's cost normalised per 1k tokens, ``cost_usd`` the absolute cost of that one request.
    ``difficulty_bucket``, ``membership_revision``, ``benchmark_mode`` and ``case_key`` describe
    benchmark samples and are normally ``None`` on live ones; ``request_id`` names the request a
    ``live_judged`` sample graded. Invalid values raise `ValueError`
    naming the field.
    """

    endpoint_id: str
    endpoint_version: str
    source: SampleSourceName
    timestamp_ms: int
    latency_ms: float | None
    tokens_per_sec: float | None = None
    cold_start_ms: float | None = None
    cost_per_1k_tokens: float | None = None
    cost_usd: float | None = None
    judge_score: float | None = None
    error_class: str | None = None
    difficulty_bucket: DifficultyBucket | None = None
    membership_revision: str | None = None
    benchmark_mode: BenchmarkMode | None = None
    case_key: str | None = None  # the benchmark case it graded ("suite/case id")
    # the live request it graded (shadow judging): joins the grade to the request's captured
    # prompt, which makes a learned-routing record of it (`rolecall.learned.store_records`)
    request_id: str | None = None

    def __post_init__(self) -> None:
        self._check_identity()
        self._check_vocabularies()
        self._check_numbers()

    @property
    def succeeded(self) -> bool:
        """Whether the sample recorded no failure class."""
        return self.error_class is None

    def _check_identity(self) -> None:
        for name in ("endpoint_id", "endpoint_version"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name}: must be a non-empty string, got {value!r}")
        if self.error_class is not None and (
            not isinstance(self.error_class, str) or not self.error_class
        ):
            raise ValueError(
                f"error_class: must be None or a non-empty string, got {self.error_class!r}"
            )

    def _check_vocabularies(self) -> None:
        if self.source not in SAMPLE_SOURCES:
            raise ValueError(f"source: must be one of {list(SAMPLE_SOURCES)}, got {self.source!r}")
        if self.difficulty_bucket is not None and self.difficulty_bucket not in DIFFICULTY_BUCKETS:
            raise ValueError(
                f"difficulty_bucket: must be one of {list(DIFFICULTY_BUCKETS)} or None, "
                f"got {self.difficulty_bucket!r}"
            )
        if self.benchmark_mode is not None and self.benchmark_mode not in BENCHMARK_MODES:
            raise ValueError(
                f"benchmark_mode: must be one of {list(BENCHMARK_MODES)} or None, "
                f"got {self.benchmark_mode!r}"
            )

    def _check_numbers(self) -> None:
        ts = self.timestamp_ms
        if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
            raise ValueError(f"timestamp_ms: must be a non-negative integer, got {ts!r}")
        for name in _NON_NEGATIVE_FIELDS:
            _check_finite(name, getattr(self, name), low=0.0, high=math.inf)
        _check_finite("judge_score", self.judge_score, low=0.0, high=1.0)


def _check_finite(name: str, value: object, *, low: float, high: float) -> None:
    """Raise unless ``value`` is None or a finite real number in ``[low, high]``."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}: must be a number or None, got {value!r}")
    if not math.isfinite(value) or not low <= value <= high:
        bounds = f"[{low:g}, {high:g}]" if math.isfinite(high) else f">= {low:g}"
        raise ValueError(f"{name}: must be a finite number {bounds}, got {value!r}")
