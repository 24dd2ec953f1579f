"""Outlier detection: when an endpoint's failures are enough to eject it (start a cooldown).

One failure is not enough: an upstream that fails a quarter of its requests at random still serves
three in four, and cooling it at its first failure turns a partial fault into an outage (several
such endpoints all cooling at once answered one request in seven with a 503). As in Envoy's outlier
detection, an endpoint is ejected after ``consecutive`` fallback-eligible failures in a row, or when
its failures over the last ``window_ms`` reach ``rate`` of at least ``min_requests`` attempts. How
long the ejection lasts is the cooldown schedule's business (`rolecall.execution.cooldown`).

Counting happens on the event loop for every attempt, so a success costs a few integer operations:
the window is a ring of time buckets, not a list of attempts.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EjectionRule", "FailureTrack"]

BUCKETS = 6


@dataclass(frozen=True, slots=True)
class EjectionRule:
    """When failures eject an endpoint (docs/protocol.md §Cooldowns)."""

    consecutive: int = 3
    rate: float = 0.5
    min_requests: int = 10
    window_ms: int = 60_000

    def __post_init__(self) -> None:
        if self.consecutive < 1:
            raise ValueError("consecutive failures before a cooldown must be at least 1")
        if not 0 < self.rate <= 1:
            raise ValueError("the failure rate that starts a cooldown must be in (0, 1]")
        if self.min_requests < 1 or self.window_ms < BUCKETS:
            raise ValueError("the failure-rate window needs at least 1 request and 6 ms")


class FailureTrack:
    """One endpoint's recent attempts: the current run of failures and a sliding window."""

    __slots__ = ("_attempts", "_failures", "_span", "_starts", "consecutive", "last_failed_ms")

    def __init__(self, window_ms: int) -> None:
        self._span = window_ms // BUCKETS
        self._starts = [-1] * BUCKETS
        self._attempts = [0] * BUCKETS
        self._failures = [0] * BUCKETS
        self.consecutive = 0
        self.last_failed_ms = 0

    def reset(self) -> None:
        """Start counting over (after an ejection: the endpoint comes back with a clean slate)."""
        self._starts = [-1] * BUCKETS
        self.consecutive = 0

    def add(self, now_ms: int, failed: bool) -> None:
        slot = now_ms // self._span
        i = slot % BUCKETS
        if self._starts[i] != slot:  # the bucket held an older slot: start it over
            self._starts[i] = slot
            self._attempts[i] = 0
            self._failures[i] = 0
        self._attempts[i] += 1
        if failed:
            self._failures[i] += 1
            self.consecutive += 1
            self.last_failed_ms = now_ms
        else:
            self.consecutive = 0

    def totals(self, now_ms: int) -> tuple[int, int]:
        """(attempts, failures) within the window ending at ``now_ms``."""
        current = now_ms // self._span
        attempts = failures = 0
        for i in range(BUCKETS):
            if current - self._starts[i] < BUCKETS:
                attempts += self._attempts[i]
                failures += self._failures[i]
        return attempts, failures

    def ejects(self, rule: EjectionRule, now_ms: int) -> bool:
        """Whether the failures so far call for a cooldown under ``rule``."""
        if self.consecutive >= rule.consecutive:
            return True
        attempts, failures = self.totals(now_ms)
        return attempts >= rule.min_requests and failures >= rule.rate * attempts
