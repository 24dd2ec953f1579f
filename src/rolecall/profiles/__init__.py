"""Observed performance profiles: pure aggregation of measurement samples (docs/profiles.md).

`Sample` is one measurement; `aggregate_profile` turns the samples of one endpoint version into an
`ObservedPerformanceProfile` (wrapped in a `ProfileAggregate` with its quality evidence), given the
current time; `membership_revision` and `needs_rebenchmark` decide when benchmark evidence is stale.
"""

from rolecall.profiles.aggregate import (
    CONFIDENCE_SATURATION_SAMPLES,
    FRESHNESS_HALF_LIFE_MS,
    ProfileAggregate,
    SamplePartition,
    aggregate_profile,
    confidence_score,
    freshness_score,
    partition_samples,
    percentile,
)
from rolecall.profiles.quality import (
    BenchmarkQuality,
    BucketQuality,
    benchmark_quality,
    score_quality,
)
from rolecall.profiles.samples import (
    BENCHMARK_MODES,
    DIFFICULTY_BUCKETS,
    SAMPLE_SOURCES,
    BenchmarkMode,
    DifficultyBucket,
    Sample,
    SampleSourceName,
)
from rolecall.profiles.staleness import membership_revision, needs_rebenchmark

__all__ = [
    "BENCHMARK_MODES",
    "CONFIDENCE_SATURATION_SAMPLES",
    "DIFFICULTY_BUCKETS",
    "FRESHNESS_HALF_LIFE_MS",
    "SAMPLE_SOURCES",
    "BenchmarkMode",
    "BenchmarkQuality",
    "BucketQuality",
    "DifficultyBucket",
    "ProfileAggregate",
    "Sample",
    "SamplePartition",
    "SampleSourceName",
    "aggregate_profile",
    "benchmark_quality",
    "confidence_score",
    "freshness_score",
    "membership_revision",
    "needs_rebenchmark",
    "partition_samples",
    "percentile",
    "score_quality",
]
