"""The arithmetic of a reservation, shared by every store: what a request is charged, which
alternative fits, when a refused charge would fit, and what a settled request really cost.

The estimate rule (docs/limits.md): input tokens are the gateway's prompt estimate (JSON-encoded
characters / 4, + 1); output tokens are the request's ``max_tokens`` (or
``max_completion_tokens``), else the configured default output estimate; USD is those tokens at
the endpoint's catalog or configured price per million, rounded up to a whole micro-USD. An
endpoint without a price costs 0 USD.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from rolecall.limits.ports import Charge, Refusal, Reservation, ReserveRequest

__all__ = [
    "actual_amounts",
    "applied_charges",
    "calendar_retry_ms",
    "decide",
    "first_refused",
    "rolling_retry_ms",
    "soonest",
    "usd_micros",
]


def usd_micros(
    input_per_1m: float | None, output_per_1m: float | None, tokens_in: int, tokens_out: int
) -> int:
    """The cost of these tokens in micro-USD, rounded up (0 without a price): a price per
    million tokens in USD is a price per token in micro-USD."""
    if input_per_1m is None or output_per_1m is None:
        return 0
    return math.ceil(tokens_in * input_per_1m + tokens_out * output_per_1m - 1e-9)


def first_refused(charges: Sequence[Charge], used: Mapping[str, int]) -> Charge | None:
    """The first charge that does not fit its limit beside the ones before it. A charge of 0
    always fits, so a free endpoint serves even when the USD budget is spent (or overspent)."""
    pending: dict[str, int] = {}
    for charge in charges:
        if charge.amount <= 0:
            continue
        already = used.get(charge.counter, 0) + pending.get(charge.counter, 0)
        if already + charge.amount > charge.cap:
            return charge
        pending[charge.counter] = pending.get(charge.counter, 0) + charge.amount
    return None


def decide(
    request: ReserveRequest, used: Mapping[str, int]
) -> int | list[tuple[Charge, int | None]]:
    """The alternative to apply (-1 when the request has none), or what refuses it: the common
    charge in the way, or the first charge in the way of each alternative."""
    blocked = first_refused(request.common, used)
    if blocked is not None:
        return [(blocked, None)]
    if not request.alternatives:
        return -1
    refused: list[tuple[Charge, int | None]] = []
    for index, alternative in enumerate(request.alternatives):
        blocked = first_refused((*request.common, *alternative), used)
        if blocked is None:
            return index
        refused.append((blocked, index))
    return refused


def applied_charges(request: ReserveRequest, alternative: int) -> tuple[Charge, ...]:
    """What a reservation adds: the common charges and the chosen alternative's, without zeros."""
    chosen = request.alternatives[alternative] if alternative >= 0 else ()
    return tuple(c for c in (*request.common, *chosen) if c.amount > 0)


def calendar_retry_ms(charge: Charge, now_ms: int) -> int | None:
    """When a calendar window resets (None when the charge alone exceeds the limit)."""
    if charge.amount > charge.cap:
        return None
    return max(1, charge.reset_ms - now_ms)


def rolling_retry_ms(
    charge: Charge, used: int, entries: Sequence[tuple[int, int]], now_ms: int
) -> int | None:
    """When enough of a rolling window's oldest ``entries`` (time, amount; oldest first) have
    left it for ``charge`` to fit (None when the charge alone exceeds the limit)."""
    if charge.amount > charge.cap:
        return None
    needed = used + charge.amount - charge.cap
    freed = 0
    for at_ms, amount in entries:
        freed += amount
        if freed >= needed:
            # at most a window: an entry stamped by a process whose clock runs ahead of ours
            window_ms = charge.limit.window.window_ms
            return min(window_ms, max(1, at_ms + window_ms - now_ms))
    return charge.limit.window.window_ms  # the log lost entries: a whole window is safe


def soonest(refusals: Sequence[Refusal]) -> Refusal:
    """The refusal that frees first (one that never frees only when all are such)."""
    timed = [r for r in refusals if r.retry_after_ms is not None]
    if not timed:
        return refusals[0]
    return min(timed, key=lambda r: r.retry_after_ms or 0)


def actual_amounts(reservation: Reservation, tokens: int, micro_usd: int) -> tuple[int, ...]:
    """Each reserved charge's actual amount: a request stays one request; tokens and USD
    become what was used (0 for a request that was never answered)."""
    out = []
    for charge in reservation.charges:
        metric = charge.limit.metric
        if metric == "requests_per_min":
            out.append(charge.amount)
        elif metric == "usd":
            out.append(micro_usd)
        else:
            out.append(tokens)
    return tuple(out)
