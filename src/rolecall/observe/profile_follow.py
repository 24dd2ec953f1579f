"""Observed profiles that other processes stored, published into this process's routing.

With several gateway processes (`rolecall serve --workers N`) the one record writer answers every
gateway with the live profiles that came due. Profiles made elsewhere — a benchmark that ran in
another worker, another host on the same database — reach the database only. `ProfileFollower`
looks there every `FOLLOW_INTERVAL_S` for profiles measured since its last look and publishes
those newer than what this process routes on. It stands in for the change notices of
`rolecall.cluster`, which will say when to look instead of a timer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Final, Protocol

from rolecall.protocol import ObservedPerformanceProfile

__all__ = ["FOLLOW_INTERVAL_S", "NewerProfiles", "ProfileFollower"]

log = logging.getLogger("rolecall.observe")
FOLLOW_INTERVAL_S: Final = 2.0
# Each look reaches this far behind the newest profile seen: a profile aggregated earlier but
# committed later (a benchmark's, say) is still found.
OVERLAP_MS: Final = 10_000


class NewerProfiles(Protocol):
    """The stored profiles (`rolecall.storage.profiles.SqlProfiles`)."""

    def newer(self, since_ms: int, known: Mapping[str, int]) -> list[ObservedPerformanceProfile]:
        """Profiles measured at or after ``since_ms`` and after what ``known`` holds."""
        ...


class ProfileFollower:
    """A thread that publishes stored profiles newer than the ones routed on."""

    def __init__(
        self,
        store: NewerProfiles,
        current: Callable[[], Mapping[str, ObservedPerformanceProfile]],
        publish: Callable[[ObservedPerformanceProfile], object],
        *,
        interval_s: float = FOLLOW_INTERVAL_S,
    ) -> None:
        self._store = store
        self._current = current
        self._publish = publish
        self._interval_s = interval_s
        self._newest_ms = 0
        self._failing = False
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rolecall-profiles", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def poll(self) -> int:
        """One look; how many profiles were published."""
        known = {eid: p.measured_at_ms for eid, p in self._current().items()}
        found = self._store.newer(self._newest_ms - OVERLAP_MS, known)
        for profile in found:
            self._publish(profile)
        measured = [*known.values(), *(p.measured_at_ms for p in found)]
        self._newest_ms = max([self._newest_ms, *measured])
        return len(found)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval_s):
            try:
                self.poll()
            except Exception as exc:  # the database is down: the next look tries again
                if not self._failing:
                    log.warning("cannot read stored profiles (%s); trying again", exc)
                self._failing = True
            else:
                self._failing = False
