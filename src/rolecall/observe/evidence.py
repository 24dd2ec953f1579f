"""Benchmark evidence and feedback into routing: the one use case that stores samples and
refreshes profiles.

Owns `EvidenceIntake`. Graded benchmark cases arrive as samples (`add`): they are stored in the
caller's transaction and fed to the live profiles; when a run ends or its results are cleared,
`refresh` re-aggregates the endpoints' profiles from every stored sample (stale benchmark samples,
of another membership revision, set aside by aggregation), stores them and publishes them.
Feedback is stored by its own store (`rolecall.observe.feedback`); `changed` then refreshes the
endpoints' profiles and has the live profiles re-read their samples. ``watch`` (the drift alarms,
`rolecall.judging.drift_watch`) hears of every endpoint whose live quality evidence or benchmark
changed here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from rolecall.observe.ports import ProfileStore, SampleStore
from rolecall.observe.profile_refresh import EndpointFacts, store_profile
from rolecall.profiles import Sample
from rolecall.profiles.samples import QUALITY_ONLY_SOURCES
from rolecall.protocol import ObservedPerformanceProfile

__all__ = ["EvidenceIntake"]


class EvidenceIntake:
    """Stores benchmark samples, refreshes their endpoints' profiles and publishes them.

    ``facts`` gives (endpoint version, membership revision) of an endpoint the inventory knows
    (None for one it does not); ``publish`` gets every profile refreshed here; ``live`` feeds
    samples stored here to the live profiles (`Recorder.observe_stored`), which publish theirs.
    """

    def __init__(
        self,
        samples: SampleStore,
        profiles: ProfileStore,
        *,
        facts: Callable[[str], tuple[str, str | None] | None],
        publish: Callable[[ObservedPerformanceProfile], object],
        live: Callable[[Sequence[Sample]], object] | None = None,
        reload: Callable[[list[str]], object] | None = None,
        watch: Callable[[list[str]], object] | None = None,
    ) -> None:
        self._samples = samples
        self._profiles = profiles
        self._facts = facts
        self._publish = publish
        self._live = live
        self._reload = reload
        self._watch = watch

    def add(self, samples: Sequence[Sample]) -> None:
        """Store ``samples`` (in the transaction open on this thread, if any) and feed them to
        the live profiles once that transaction is over."""
        items = list(samples)
        self._samples.add(items)
        if self._live is not None and items:
            self._live(items)
        watched = sorted({s.endpoint_id for s in items if s.source in QUALITY_ONLY_SOURCES})
        if self._watch is not None and watched:
            self._watch(watched)

    def changed(self, endpoint_ids: list[str]) -> None:
        """Samples of these endpoints were stored outside `add` (feedback): refresh their
        profiles now and have the live profiles re-read them."""
        self.refresh(endpoint_ids)
        if self._reload is not None:
            self._reload(endpoint_ids)

    def refresh(self, endpoint_ids: Iterable[str]) -> dict[str, ObservedPerformanceProfile]:
        """Re-aggregate, store and publish the profiles of ``endpoint_ids`` from every stored
        sample; the new profile per endpoint (unknown endpoints and those without a usable sample
        are left out)."""
        out = {}
        endpoint_ids = list(endpoint_ids)
        for endpoint_id in endpoint_ids:
            facts = self._facts(endpoint_id)
            if facts is None:
                continue
            samples = self._samples.for_endpoint(endpoint_id)
            profile = store_profile(self._profiles, endpoint_id, samples, EndpointFacts(*facts))
            if profile is not None:
                self._publish(profile)
                out[endpoint_id] = profile
        if self._watch is not None:  # a finished benchmark may clear a drift alarm
            self._watch(endpoint_ids)
        return out
