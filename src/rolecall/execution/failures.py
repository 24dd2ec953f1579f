"""Failure classes of an upstream attempt and what each allows (docs/protocol.md §Failure classes).

- timeout, network, rate_limited, upstream_5xx, bad_response: one quick retry on the same endpoint,
  then the next fallback; counted towards the endpoint's cooldown. A failure ``in_flight`` (the
  request was sent and the upstream may still be working on it: no answer or no first token in
  time, a stream gone idle) is not retried in place, which would do the work twice; it falls back.
- auth, quota: no retry in place, but the next fallback; the endpoint enters cooldown at once.
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
# failures that do not heal by retrying: they cool the endpoint at once
COOL_AT_ONCE: Final = frozenset({"auth", "quota"})


@dataclass(frozen=True, slots=True)
class UpstreamFailure(Exception):  # noqa: N818 - a failure class, not a programming error
    """One failed attempt: its class, the upstream status (0 when none) and a safe message;
    ``retry_after_ms`` is the upstream's ``Retry-After``, ``in_flight`` see the module doc."""

    failure: FailureClass
    status: int
    message: str
    body: bytes = b""
    retry_after_ms: int | None = None
    in_flight: bool = False

    @property
    def retryable(self) -> bool:
        return self.failure in RETRYABLE and not self.in_flight

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


def retry_after_ms(value: str | None) -> int | None:
    """A ``Retry-After`` header in milliseconds: delay-seconds only (an HTTP date is ignored, as
    is anything negative or unparseable)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not 0 <= seconds < 86_400 * 7:  # NaN fails both comparisons
        return None
    return int(seconds * 1000)
