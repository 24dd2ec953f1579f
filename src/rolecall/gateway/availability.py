"""How to answer "no eligible endpoint": panic mode, 503 with ``Retry-After`` for a temporary outage,
else 400.

Panic mode (as Envoy's): cooldowns must not turn partial failures into a total outage. When every
endpoint that could serve a request is excluded only because it is cooling down, the request is
executed on those endpoints anyway, least recently failed first (`panic_order`), and recorded as
such; only if they fail too, or an endpoint is offline by health check, is the answer a 503.

A request is *routable but for runtime state* when at least one candidate was excluded only for
runtime reasons (cooling down, offline, quota, auth): it will be served once that endpoint is
back, so the answer is a 503 a client retries. A request no endpoint could ever serve (every
candidate lacks something the request requires or policy denies it) is a final 400. The pure
functions here decide which; the cooldown book supplies when a cooling endpoint comes back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from rolecall.execution.cooldown import CooldownBook

__all__ = [
    "DEFAULT_RETRY_AFTER_S",
    "RUNTIME_CODES",
    "NoEndpointAnswer",
    "cooldown_ends",
    "no_endpoint_answer",
    "panic_order",
    "retry_after_s",
    "runtime_excluded",
]

# Exclusion codes that describe the endpoint's current state, not the request: they pass.
RUNTIME_CODES: Final = frozenset(
    {"PROVIDER_OFFLINE", "QUOTA_EXHAUSTED", "AUTH_UNAVAILABLE", "ACCOUNT_DISABLED"}
)
# Retry-After when no end is known (an offline endpoint comes back at a health check).
DEFAULT_RETRY_AFTER_S: Final = 5

Eligibility = Sequence[tuple[str, Sequence[tuple[str, str]]]]
CooldownEnd = Callable[[str], int | None]


@dataclass(frozen=True, slots=True)
class NoEndpointAnswer:
    """The status for a request no endpoint was chosen for, and ``Retry-After`` seconds if any."""

    status: int
    retry_after_s: int | None = None


def runtime_excluded(eligibility: Eligibility) -> list[str]:
    """The endpoints excluded only for runtime reasons (they would serve the request once back)."""
    return [
        endpoint_id
        for endpoint_id, exclusions in eligibility
        if exclusions and all(code in RUNTIME_CODES for code, _ in exclusions)
    ]


def retry_after_s(endpoint_ids: Iterable[str], cooldown_end: CooldownEnd, now_ms: int) -> int:
    """Whole seconds (>= 1) until the first of ``endpoint_ids`` may be back.

    A cooling endpoint is back when its cooldown ends (rounded up); one with no known end
    (offline, quota, auth) counts as `DEFAULT_RETRY_AFTER_S`.
    """
    waits = []
    for endpoint_id in endpoint_ids:
        until_ms = cooldown_end(endpoint_id)
        if until_ms is None:
            waits.append(DEFAULT_RETRY_AFTER_S)
        else:
            waits.append(max(1, -(-(until_ms - now_ms) // 1000)))
    return min(waits, default=DEFAULT_RETRY_AFTER_S)


def no_endpoint_answer(
    eligibility: Eligibility, cooldown_end: CooldownEnd, now_ms: int
) -> NoEndpointAnswer:
    """503 + Retry-After when some candidate is only temporarily unavailable; 400 when none
    could serve the request; 503 without Retry-After when there were no candidates at all."""
    if not eligibility:
        return NoEndpointAnswer(503)
    waiting = runtime_excluded(eligibility)
    if not waiting:
        return NoEndpointAnswer(400)
    return NoEndpointAnswer(503, retry_after_s(waiting, cooldown_end, now_ms))


def cooldown_ends(book: CooldownBook, now_ms: int) -> CooldownEnd:
    """Look up when an endpoint's active cooldown (at ``now_ms``) ends, ``None`` if not cooling."""

    def end(endpoint_id: str) -> int | None:
        cooldown = book.active(endpoint_id, now_ms)
        return None if cooldown is None else cooldown.until_ms

    return end


def panic_order(
    eligibility: Eligibility, book: CooldownBook, offline: Callable[[str], bool], now_ms: int
) -> list[str]:
    """The endpoints excluded only because they are cooling down (``PROVIDER_OFFLINE`` from an
    active cooldown, not a health check's offline mark), least recently failed first."""
    cooling: list[tuple[int, str]] = []
    for endpoint_id, exclusions in eligibility:
        if not exclusions or any(code != "PROVIDER_OFFLINE" for code, _ in exclusions):
            continue
        cooldown = book.active(endpoint_id, now_ms)
        if cooldown is None or offline(endpoint_id):
            continue
        last = max(book.last_failed_ms(endpoint_id), cooldown.updated_ms)
        cooling.append((last, endpoint_id))
    cooling.sort()
    return [endpoint_id for _, endpoint_id in cooling]
