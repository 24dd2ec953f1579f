"""The cooldown schedule: 10 min → 30 min → 1 h → 5 h → 10 h → 20 h (docs/protocol.md §Cooldowns).

Every attempt is counted (`failed`, `succeeded`); an endpoint whose fallback-eligible failures meet
the `EjectionRule` (consecutive failures, or a failure rate over a sliding window; auth and quota
failures at once) enters cooldown at the next level of the schedule (the level climbs while
ejections keep coming within a day of the last one, and resets after a success). While cooling down
it is routed around (``PROVIDER_OFFLINE`` with the time left). The book is held in memory for the
hot path and persisted through a callback, so a restart keeps it and other processes `adopt` it.
Entering and leaving a cooldown is logged (a warning) by the process where it happened.

Owns `Cooldown` (one endpoint's place in the schedule, also the row storage keeps) and `CooldownBook`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from rolecall.checks import require_count, require_text
from rolecall.execution.outliers import EjectionRule, FailureTrack

__all__ = ["Cooldown", "CooldownBook"]

log = logging.getLogger("rolecall.execution")

SCHEDULE_MS: Final = (
    10 * 60_000,
    30 * 60_000,
    60 * 60_000,
    5 * 3_600_000,
    10 * 3_600_000,
    20 * 3_600_000,
)
ESCALATION_WINDOW_MS: Final = 24 * 3_600_000


@dataclass(frozen=True, slots=True)
class Cooldown:
    """An endpoint cooling down after fallback-eligible failures (role-model §2.20).

    ``level`` indexes the cooldown schedule (0 is the first, shortest step), ``until_ms`` is when
    the endpoint becomes routable again, ``reason`` the error class that caused it and
    ``failures`` how many consecutive failures led here.
    """

    endpoint_id: str
    level: int
    until_ms: int
    reason: str
    failures: int
    updated_ms: int

    def __post_init__(self) -> None:
        require_text("endpoint_id", self.endpoint_id)
        require_text("reason", self.reason)
        for name in ("level", "until_ms", "failures", "updated_ms"):
            require_count(name, getattr(self, name))

    def active(self, now_ms: int) -> bool:
        """Whether the endpoint is still cooling down at ``now_ms``."""
        return now_ms < self.until_ms


class CooldownBook:
    """Current cooldowns by endpoint; thread-safe; ``persist`` is called with every change."""

    def __init__(
        self,
        *,
        scale: float = 1.0,
        persist: Callable[[Cooldown], None] | None = None,
        forget: Callable[[str], None] | None = None,
        initial: Iterable[Cooldown] = (),
        rule: EjectionRule | None = None,
    ) -> None:
        self._scale = scale
        self.rule = rule or EjectionRule()
        self._tracks: dict[str, FailureTrack] = {}
        self._persist = persist
        self._forget = forget
        self._lock = threading.Lock()
        self._entries: dict[str, Cooldown] = {c.endpoint_id: c for c in initial}
        self.version = 0  # bumped on every change, so candidate caches know to refresh

    def duration_ms(self, level: int) -> int:
        return max(1, int(SCHEDULE_MS[min(level, len(SCHEDULE_MS) - 1)] * self._scale))

    def active(self, endpoint_id: str, now_ms: int) -> Cooldown | None:
        entry = self._entries.get(endpoint_id)
        return entry if entry is not None and entry.active(now_ms) else None

    def all(self) -> list[Cooldown]:
        return sorted(self._entries.values(), key=lambda c: c.endpoint_id)

    def _track(self, endpoint_id: str) -> FailureTrack:
        track = self._tracks.get(endpoint_id)
        if track is None:
            track = self._tracks[endpoint_id] = FailureTrack(self.rule.window_ms)
        return track

    def failed(
        self,
        endpoint_id: str,
        reason: str,
        now_ms: int,
        *,
        at_once: bool = False,
        at_least_ms: int = 0,
    ) -> Cooldown | None:
        """Count a fallback-eligible failure; start (or escalate) a cooldown when the failures so
        far eject the endpoint, or ``at_once``. A cooldown lasts at least ``at_least_ms`` (an
        upstream's ``Retry-After``). Returns the cooldown it started, if any."""
        with self._lock:
            track = self._track(endpoint_id)
            track.add(now_ms, True)
            if not (at_once or track.ejects(self.rule, now_ms)):
                return None
            track.reset()
        return self.enter(endpoint_id, reason, now_ms, at_least_ms=at_least_ms)

    def last_failed_ms(self, endpoint_id: str) -> int:
        """When the endpoint last failed (0: never since this process started)."""
        track = self._tracks.get(endpoint_id)
        return 0 if track is None else track.last_failed_ms

    def enter(
        self, endpoint_id: str, reason: str, now_ms: int, *, at_least_ms: int = 0
    ) -> Cooldown:
        """Start (or escalate) the endpoint's cooldown now, whatever the counts say."""
        with self._lock:
            previous = self._entries.get(endpoint_id)
            level = 0
            failures = 1
            if previous is not None and now_ms - previous.updated_ms <= ESCALATION_WINDOW_MS:
                level = min(previous.level + 1, len(SCHEDULE_MS) - 1)
                failures = previous.failures + 1
            entry = Cooldown(
                endpoint_id=endpoint_id,
                level=level,
                until_ms=now_ms + max(self.duration_ms(level), at_least_ms),
                reason=reason,
                failures=failures,
                updated_ms=now_ms,
            )
            self._entries[endpoint_id] = entry
            self.version += 1
        log.warning(
            "endpoint %s cools down for %.0f s (level %d, after %s)",
            endpoint_id,
            (entry.until_ms - now_ms) / 1000,
            level,
            reason,
        )
        if self._persist is not None:
            self._persist(entry)
        return entry

    def succeeded(self, endpoint_id: str, now_ms: int | None = None) -> None:
        """A success ends the run of failures (counted at ``now_ms``, when given) and resets the
        schedule for the endpoint. Only the event loop counts, so the count takes no lock."""
        if now_ms is not None:
            track = self._tracks.get(endpoint_id)
            if track is None:
                track = self._track(endpoint_id)
            track.add(now_ms, False)
        if endpoint_id not in self._entries:
            return
        with self._lock:
            ended = self._entries.pop(endpoint_id, None)
            self.version += 1
        if ended is not None:
            how = "a request succeeded" if now_ms is not None else "cleared by the operator"
            log.warning("endpoint %s is out of cooldown (%s)", endpoint_id, how)
        if self._forget is not None:
            self._forget(endpoint_id)

    def adopt(self, endpoint_id: str, entry: Cooldown | None) -> None:
        """Another process entered (``entry``) or ended (None) the endpoint's cooldown: route on
        that too, without persisting it again."""
        with self._lock:
            current = self._entries.get(endpoint_id)
            if entry == current:
                return
            if entry is None:
                self._entries.pop(endpoint_id, None)
            elif current is None or entry.updated_ms >= current.updated_ms:
                self._entries[endpoint_id] = entry
            else:
                return  # ours is newer: it was persisted after theirs and will reach them
            self.version += 1

    def clear(self, endpoint_id: str) -> bool:
        """Operator action: end a cooldown now, and count the endpoint's failures from zero."""
        existed = endpoint_id in self._entries
        self._tracks.pop(endpoint_id, None)
        self.succeeded(endpoint_id)
        return existed
