"""The cooldown schedule: 10 min → 30 min → 1 h → 5 h → 10 h → 20 h (docs/protocol.md §Cooldowns).

An endpoint whose attempt failed in a fallback-eligible way enters cooldown at the next level of the
schedule (the level climbs while failures keep coming within a day of the last one, and resets after a
success). While cooling down it is routed around (``PROVIDER_OFFLINE`` with the time left). The book is
held in memory for the hot path and persisted through a callback, so a restart keeps it.

Owns `Cooldown` (one endpoint's place in the schedule, also the row storage keeps) and `CooldownBook`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from rolecall.checks import require_count, require_text

__all__ = ["Cooldown", "CooldownBook"]

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
    ) -> None:
        self._scale = scale
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

    def enter(self, endpoint_id: str, reason: str, now_ms: int) -> Cooldown:
        """Record a fallback-eligible failure: start (or escalate) the endpoint's cooldown."""
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
                until_ms=now_ms + self.duration_ms(level),
                reason=reason,
                failures=failures,
                updated_ms=now_ms,
            )
            self._entries[endpoint_id] = entry
            self.version += 1
        if self._persist is not None:
            self._persist(entry)
        return entry

    def succeeded(self, endpoint_id: str) -> None:
        """A success resets the schedule for the endpoint."""
        if endpoint_id not in self._entries:
            return
        with self._lock:
            self._entries.pop(endpoint_id, None)
            self.version += 1
        if self._forget is not None:
            self._forget(endpoint_id)

    def clear(self, endpoint_id: str) -> bool:
        """Operator action: end a cooldown now."""
        existed = endpoint_id in self._entries
        self.succeeded(endpoint_id)
        return existed
