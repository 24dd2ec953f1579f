"""Failure classes of an upstream attempt and what each allows (docs/protocol.md §Failure classes).

- timeout, network, rate_limited, upstream_5xx, bad_response: one quick retry on the same endpoint,
  then the next fallback; the endpoint enters cooldown.
- auth, quota: no retry in place, but the next fallback; the endpoint enters cooldown.
- invalid_request: terminal; the upstream's 4xx goes back to the client, no fallback, no cooldown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

FailureClass = Literal[
    "timeout",
    "network",
    "rate_limited",
    "upstream_5xx",
    "bad_response",
    "auth",
    "quota",
    "invalid_request",
]
RETRYABLE: Final = frozenset({"timeout", "network", "rate_limited", "upstream_5xx", "bad_response"})
FALLBACK: Final = RETRYABLE | {"auth", "quota"}


@dataclass(frozen=True, slots=True)
class UpstreamFailure(Exception):  # noqa: N818 - a failure class, not a programming error
    """One failed attempt: its class, the upstream status (0 when none) and a safe message."""

    failure: FailureClass
    status: int
    message: str
    body: bytes = b""

    @property
    def retryable(self) -> bool:
        return self.failure in RETRYABLE

    @property
    def falls_back(self) -> bool:
        return self.failure in FALLBACK


def classify_status(status: int, body: bytes) -> FailureClass:
    """Map an upstream HTTP status (and, for 429, its error code) to a failure class."""
    if status in (401, 403):
        return "auth"
    if status == 402 or (status == 429 and b"insufficient_quota" in body):
        return "quota"
    if status in (408, 429):
        return "rate_limited" if status == 429 else "timeout"
    if status >= 500:
        return "upstream_5xx"
    return "invalid_request"
