"""Difficulty ceilings and per-bucket quality from benchmark evidence, kept current.

An endpoint that declares no ``max_difficulty`` gets one from its judged benchmark quality per
difficulty bucket (`rolecall.profiles.ceilings.derive_ceiling`, with the thresholds of
``routing.difficulty.ceilings``). Only benchmark samples carry a bucket, so the ceilings change
only when benchmark evidence does: at start, when this process stores benchmark results
(`EvidenceIntake`'s publish), and on another process's ``samples`` notice. Stale samples (graded
under another identity or membership) do not count, as for profiles.

The same evidence gives the classifying modes their quality metric: a request classified hard is
scored on each endpoint's judged quality on hard cases (`estimates`), where the bucket has at
least ``min_samples`` samples, instead of the endpoint's average over every bucket.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Final, Protocol

from rolecall.execution.state import RoutingState
from rolecall.inventory.modes import CeilingConfig
from rolecall.profiles import Sample
from rolecall.profiles.aggregate import partition_samples
from rolecall.profiles.ceilings import CeilingEvidence, derive_ceiling
from rolecall.profiles.quality import BucketQuality, benchmark_quality
from rolecall.routing import QualityEstimate
from rolecall.routing.request import DIFFICULTIES

log = logging.getLogger("rolecall.planning")
NONE: Final[Mapping[str, QualityEstimate]] = {}


class BenchmarkSamples(Protocol):
    def for_endpoint(
        self, endpoint_id: str, *, since_ms: int | None = None, source: str | None = None
    ) -> list[Sample]: ...


class CeilingBook:
    """Derives and publishes each endpoint's difficulty ceiling from its benchmark samples."""

    def __init__(
        self, routing: RoutingState, samples: BenchmarkSamples, settings: CeilingConfig
    ) -> None:
        self._routing = routing
        self._samples = samples
        self._settings = settings
        self.evidence: dict[str, CeilingEvidence] = {}
        # difficulty → endpoint → its judged quality there (buckets with enough samples only);
        # replaced whole on each refresh, so a reader never sees half of one
        self._by_bucket: dict[str, dict[str, QualityEstimate]] = {}

    def refresh(self, endpoint_ids: Iterable[str] | None = None) -> None:
        """Derive the ceilings of ``endpoint_ids`` (None: every endpoint) and publish them."""
        known = self._routing.all_endpoint_facts()
        wanted = known if endpoint_ids is None else [e for e in endpoint_ids if e in known]
        by_bucket = {d: dict(v) for d, v in self._by_bucket.items()}
        for endpoint_id in wanted:
            try:
                evidence, buckets = self._derive(endpoint_id)
            except Exception:  # a read that fails leaves the last ceiling; the next one retries
                log.warning("cannot derive the ceiling of %s", endpoint_id, exc_info=True)
                continue
            self.evidence[endpoint_id] = evidence
            for difficulty in DIFFICULTIES:
                by_bucket.setdefault(difficulty, {}).pop(endpoint_id, None)
                quality = buckets.get(difficulty)
                if quality is not None and quality.samples >= self._settings.min_samples:
                    source = f"benchmark-bucket:{difficulty}"
                    by_bucket[difficulty][endpoint_id] = QualityEstimate(quality.mean, source)
        self._by_bucket = by_bucket
        self._routing.set_ceilings(
            {endpoint_id: ev.ceiling for endpoint_id, ev in self.evidence.items()}
        )

    def estimates(self, difficulty: str | None) -> Mapping[str, QualityEstimate]:
        """Each endpoint's judged quality on requests of ``difficulty`` (those with enough
        benchmark samples there); the router's quality metric for a classified request."""
        return self._by_bucket.get(difficulty or "", NONE)

    def describe(self) -> dict[str, Any]:
        """Each endpoint's derived ceiling and the verdict per bucket (console, admin)."""
        return {endpoint_id: ev.to_json() for endpoint_id, ev in sorted(self.evidence.items())}

    def _derive(self, endpoint_id: str) -> tuple[CeilingEvidence, Mapping[str, BucketQuality]]:
        facts = self._routing.endpoint_facts(endpoint_id)
        stored = self._samples.for_endpoint(endpoint_id, source="benchmark")
        usable = stored
        if facts is not None:
            version, revision = facts
            usable = list(
                partition_samples(
                    stored,
                    endpoint_id=endpoint_id,
                    endpoint_version=version,
                    membership_revision=revision,
                ).usable
            )
        quality = benchmark_quality(usable)
        buckets = quality.buckets if quality is not None else {}
        evidence = derive_ceiling(
            buckets, min_samples=self._settings.min_samples, min_quality=self._settings.min_quality
        )
        return evidence, buckets
