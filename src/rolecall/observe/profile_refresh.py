"""Live observed profiles: recent samples per endpoint, re-aggregated at most once per interval.

Lives wherever the records are stored — the record writer process when there is one, so that
aggregation never holds the gateway's GIL (docs/performance.md). Whoever stores a
batch hands its samples here with the facts aggregation needs (the endpoint version and membership
revision, which only the gateway's inventory knows); `due` aggregates each endpoint whose interval
has passed, stores the new profile and returns it so the gateway can route on it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Final, NamedTuple

from rolecall.observe.ports import ProfileStore, SampleStore
from rolecall.profiles import Sample, aggregate_profile
from rolecall.protocol import ObservedPerformanceProfile

__all__ = ["EndpointFacts", "ProfileRefresher", "RefreshResult", "store_profile"]

WINDOW_SAMPLES: Final = 2000  # recent samples kept per endpoint for re-aggregation
WINDOW_MS: Final = 7 * 24 * 3_600_000
DEFAULT_INTERVAL_S: Final = 1.0


class EndpointFacts(NamedTuple):
    """What aggregation needs to know about an endpoint besides its samples."""

    endpoint_version: str
    membership_revision: str | None


class RefreshResult(NamedTuple):
    profiles: list[ObservedPerformanceProfile]
    next_due_s: float | None  # when the next dirty endpoint is due; None when none is dirty


def store_profile(
    profiles: ProfileStore, endpoint_id: str, samples: Iterable[Sample], facts: EndpointFacts
) -> ObservedPerformanceProfile | None:
    """Aggregate ``samples`` into the endpoint's observed profile as of now and store it; None when
    no sample is usable."""
    aggregate = aggregate_profile(
        samples,
        endpoint_id=endpoint_id,
        endpoint_version=facts.endpoint_version,
        now_ms=time.time_ns() // 1_000_000,
        membership_revision=facts.membership_revision,
    )
    if aggregate is None:
        return None
    profiles.put(aggregate.profile)
    return aggregate.profile


class ProfileRefresher:
    """Each endpoint's recent samples, and its profile re-aggregated from them when due."""

    def __init__(
        self,
        samples: SampleStore,
        profiles: ProfileStore,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._samples = samples
        self._profiles = profiles
        self._interval_s = interval_s
        self._clock = clock
        self._windows: dict[str, deque[Sample]] = {}
        self._facts: dict[str, EndpointFacts] = {}
        self._dirty: set[str] = set()
        self._last: dict[str, float] = {}

    def observe(
        self,
        samples: Iterable[Sample],
        facts: Mapping[str, EndpointFacts],
        *,
        stored_here: bool = True,
    ) -> None:
        """Add stored samples to their endpoints' windows (endpoints without facts are skipped:
        the gateway no longer knows them).

        ``stored_here``: this refresher's storage committed them before this call, so a window
        read from storage now already holds them. Samples stored elsewhere (a benchmark's own
        transaction, maybe not committed yet) are appended unless the window already has them.
        """
        self._facts.update(facts)
        loaded: set[str] = set()  # windows read from storage during this call
        present: dict[str, set[Sample]] = {}  # what a window held, for samples stored elsewhere
        for sample in samples:
            endpoint_id = sample.endpoint_id
            if endpoint_id not in self._facts:
                continue
            window = self._windows.get(endpoint_id)
            if window is None:
                window = self._load_window(endpoint_id)
                loaded.add(endpoint_id)
            if stored_here and endpoint_id not in loaded:
                window.append(sample)
            elif not stored_here:
                held = present.get(endpoint_id)
                if held is None:
                    held = present[endpoint_id] = set(window)
                if sample not in held:  # read before it was committed, or seen by another process
                    window.append(sample)
                    held.add(sample)
            self._dirty.add(endpoint_id)

    def reload(self, endpoint_ids: Iterable[str], facts: Mapping[str, EndpointFacts]) -> None:
        """Read these endpoints' windows from storage again (another process stored samples of
        them) and re-aggregate them when due."""
        self._facts.update(facts)
        for endpoint_id in endpoint_ids:
            if endpoint_id in self._facts:
                self._load_window(endpoint_id)
                self._dirty.add(endpoint_id)

    def reset(self) -> None:
        """Forget every window (they are read from storage again when next needed): another
        writer aggregated meanwhile, so what is held here is stale."""
        self._windows.clear()
        self._dirty.clear()

    def due(self) -> RefreshResult:
        """Aggregate and store every dirty endpoint whose interval has passed."""
        now = self._clock()
        profiles, waits = [], []
        for endpoint_id in sorted(self._dirty):
            wait = self._last.get(endpoint_id, -1e9) + self._interval_s - now
            if wait > 0:
                waits.append(wait)
                continue
            self._dirty.discard(endpoint_id)
            self._last[endpoint_id] = now
            profile = self._aggregate(endpoint_id)
            if profile is not None:
                profiles.append(profile)
        return RefreshResult(profiles, min(waits) if waits else None)

    def _aggregate(self, endpoint_id: str) -> ObservedPerformanceProfile | None:
        return store_profile(
            self._profiles, endpoint_id, self._windows[endpoint_id], self._facts[endpoint_id]
        )

    def _load_window(self, endpoint_id: str) -> deque[Sample]:
        since = time.time_ns() // 1_000_000 - WINDOW_MS
        stored = self._samples.for_endpoint(endpoint_id, since_ms=since)
        window = deque(stored[-WINDOW_SAMPLES:], maxlen=WINDOW_SAMPLES)
        self._windows[endpoint_id] = window
        return window
