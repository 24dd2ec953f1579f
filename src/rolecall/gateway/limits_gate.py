"""Budgets and rate limits on the chat path: reserve a request's estimate once it is decided, on
the first candidate whose cost fits, and say what a refusal looks like on the wire.

A rate limit (requests or tokens per minute) refuses with 429 ``rate_limit_exceeded`` and is not
recorded, like any request turned away at the door. A budget refuses with 429 ``budget_exceeded``
after its decision is recorded, every candidate excluded with ``BUDGET_EXCEEDED``; a candidate cut
because a cheaper one was reserved for is excluded the same way, and the request runs on the rest.
``Retry-After`` says when a window frees enough (absent when waiting cannot help).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from rolecall.gateway.wire import WireError, error_body
from rolecall.inventory.inventory import Endpoint
from rolecall.limits.charges import usd_micros
from rolecall.limits.service import Admission, Caller, Limiter, Refused
from rolecall.routing import Decision
from rolecall.storage.keys import ApiKeyRecord

__all__ = ["NO_GATE", "Gate", "admit", "cost_micros", "refused_body"]


@dataclass(frozen=True, slots=True)
class Gate:
    """What limits made of a decided request: its reservation (None: nothing to settle), the
    endpoints it may run on when some were cut (None: as decided), the decision with those
    exclusions, or the refusal."""

    admission: Admission | None = None
    order: tuple[str, ...] | None = None
    decision: Decision | None = None
    refused: Refused | None = None


NO_GATE: Final = Gate()


class Estimate(Protocol):
    """What a request is reserved for: a chat request, or an embeddings one (no output)."""

    @property
    def prompt_tokens_estimate(self) -> int: ...

    @property
    def max_tokens(self) -> int | None: ...


async def admit(
    limiter: Limiter,
    key: ApiKeyRecord | None,
    chat: Estimate,
    decision: Decision,
    order: Sequence[str],
    endpoints: Mapping[str, Endpoint],
) -> Gate:
    """Reserve the request's estimate on the first of ``order`` (the decision's chain, or the
    panic order) that fits; raise the 429 of a rate limit."""
    if limiter.scoped.empty and (key is None or key.limits.empty):
        return NO_GATE  # the common case costs one comparison
    caller = Caller(None, None, None) if key is None else Caller(key.key_id, key.team, key.limits)
    limits = limiter.applicable(caller, decision.context.request.requested_role_id)
    if not limits or not order:
        return NO_GATE
    prices = [(endpoints[e].input_per_1m, endpoints[e].output_per_1m) for e in order]
    outcome = await limiter.reserve(
        limits,
        decision.request_id,
        chat.prompt_tokens_estimate,
        limiter.output_estimate(chat.max_tokens),
        prices,
    )
    if isinstance(outcome, Refused):
        if outcome.rate:
            raise WireError(
                429,
                outcome.message,
                code="rate_limit_exceeded",
                kind="rate_limit_error",
                headers=_retry_after(outcome),
            )
        cut = [(order[i], why) for i, why in outcome.cut]
        return Gate(decision=excluded(decision, cut), refused=outcome)
    if not outcome.cut:
        return Gate(admission=outcome)
    cut = [(order[i], why) for i, why in outcome.cut]
    allowed = tuple(order[i] for i in outcome.allowed)
    return Gate(admission=outcome, order=allowed, decision=excluded(decision, cut))


def excluded(decision: Decision, cut: Sequence[tuple[str, str]]) -> Decision:
    """``decision`` with each cut endpoint excluded as ``BUDGET_EXCEEDED`` (and out of the
    ranking, so the chosen endpoint is the one reserved for)."""
    why = dict(cut)
    eligibility = tuple(
        (eid, (*exclusions, ("BUDGET_EXCEEDED", f"Budget exceeded: {why[eid]}.")))
        if eid in why
        else (eid, exclusions)
        for eid, exclusions in decision.eligibility
    )
    ranked = tuple(s for s in decision.ranked if s.endpoint_id not in why)
    return dataclasses.replace(decision, eligibility=eligibility, ranked=ranked)


def refused_body(refused: Refused, headers: dict[str, str]) -> bytes:
    """The 429 body of a budget refusal (``headers`` gets its ``retry-after``)."""
    headers.update(_retry_after(refused))
    return error_body(refused.message, "insufficient_quota", code="budget_exceeded")


def cost_micros(endpoint: Endpoint, tokens_in: int, tokens_out: int) -> int:
    """What a request cost on ``endpoint``, in micro-USD (0 without a price)."""
    return usd_micros(endpoint.input_per_1m, endpoint.output_per_1m, tokens_in, tokens_out)


def _retry_after(refused: Refused) -> dict[str, str]:
    if refused.retry_after_s is None:
        return {}
    return {"retry-after": str(refused.retry_after_s)}
