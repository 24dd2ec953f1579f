"""`Limiter`: the use case the chat path calls — which limits apply to a request, reserve its
estimate on the endpoint it will run on, settle the actual cost afterwards.

A request with no limit in effect (a key without limits, nothing configured for its team, its
role or everyone) never reaches the store. Settling after the answer only queues the actual
amounts in the store, which applies them with its next call (or soon after on its own), so it
adds nothing to the request's latency. When no store can be reached at all, requests are
served unmetered (availability over enforcement; logged once per outage, shown by `status`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from rolecall.limits.charges import actual_amounts, usd_micros
from rolecall.limits.policy import Limit, LimitSpec, Metric, Span, Window, usd_text
from rolecall.limits.ports import (
    Charge,
    LimitStore,
    LimitStoreError,
    Refusal,
    Reservation,
    ReserveRequest,
)
from rolecall.limits.spec import ScopedLimits

__all__ = ["Admission", "Caller", "Limiter", "Price", "Refused"]

log = logging.getLogger("rolecall.limits")
CACHE_SIZE: Final = 4096  # (caller, role) pairs whose applicable limits are kept
Price = tuple[float | None, float | None]  # an endpoint's USD per million input, output tokens


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sends a request, as limits see it: the key (None when keys are off) and its team."""

    key_id: str | None = None
    team: str | None = None
    spec: LimitSpec | None = None


@dataclass(frozen=True, slots=True)
class Admission:
    """A request let through: ``allowed`` are the indexes of the candidates it may run on, in
    order (the one reserved for first); ``cut`` the others, each with why."""

    reservation: Reservation | None
    allowed: tuple[int, ...]
    cut: tuple[tuple[int, str], ...] = ()
    tokens_in: int = 0


@dataclass(frozen=True, slots=True)
class Refused:
    """A request turned away: ``rate`` (a per-minute limit) or a budget, the message for the
    client, seconds until a retry can succeed (None: not by waiting), and why each candidate
    could not run."""

    limit: Limit
    rate: bool
    message: str
    retry_after_s: int | None
    cut: tuple[tuple[int, str], ...] = ()


class Limiter:
    """Limits from the file (``scoped``) and each key's own, enforced through ``store``."""

    def __init__(
        self,
        scoped: ScopedLimits,
        store: LimitStore,
        *,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.scoped = scoped
        self.store = store
        self._clock = clock or (lambda: time.time_ns() // 1_000_000)
        self._applicable: dict[tuple[Any, ...], tuple[Limit, ...]] = {}
        self._spans: dict[Window, tuple[int, Span]] = {}
        self._unmetered_since: int | None = None

    def applicable(self, caller: Caller, role_id: str | None) -> tuple[Limit, ...]:
        """Every limit on a request from ``caller`` for ``role_id``: the key's, its team's, the
        role's and everyone's (empty, cheaply, when there are none)."""
        spec = caller.spec
        if self.scoped.empty and (spec is None or spec.empty):
            return ()
        cache_key = (caller.key_id, caller.team, spec, role_id)
        found = self._applicable.get(cache_key)
        if found is None:
            found = self._collect(caller, role_id)
            if len(self._applicable) >= CACHE_SIZE:
                self._applicable.clear()
            self._applicable[cache_key] = found
        return found

    def _collect(self, caller: Caller, role_id: str | None) -> tuple[Limit, ...]:
        scoped = self.scoped
        found: list[Limit] = []
        if caller.spec is not None and caller.key_id is not None:
            found += caller.spec.limits("key", caller.key_id)
        team = scoped.teams.get(caller.team) if caller.team else None
        if team is not None and caller.team is not None:
            found += team.limits("team", caller.team)
        role = scoped.roles.get(role_id) if role_id else None
        if role is not None and role_id is not None:
            found += role.limits("role", role_id)
        found += scoped.everyone.limits("global", "*")
        # rates first: a request over a rate limit is refused as such, whatever its budget
        return tuple(sorted(found, key=lambda limit: not limit.rate))

    def output_estimate(self, max_tokens: int | None) -> int:
        return max_tokens if max_tokens is not None else self.scoped.default_output_tokens

    async def reserve(
        self,
        limits: Sequence[Limit],
        reservation_id: str,
        tokens_in: int,
        tokens_out: int,
        prices: Sequence[Price],
    ) -> Admission | Refused:
        """Reserve the estimate of a request on the first of its candidates (``prices``, in the
        decision's order) whose USD estimate fits every USD budget; refuse when none does."""
        now = self._clock()
        tokens = tokens_in + tokens_out
        common = tuple(
            self._charge(limit, 1 if limit.metric == "requests_per_min" else tokens, now)
            for limit in limits
            if limit.metric != "usd"
        )
        usd_limits = [limit for limit in limits if limit.metric == "usd"]
        costs = [usd_micros(pin, pout, tokens_in, tokens_out) for pin, pout in prices]
        amounts = list(dict.fromkeys(costs)) if usd_limits else []
        alternatives = tuple(
            tuple(self._charge(limit, amount, now) for limit in usd_limits) for amount in amounts
        )
        request = ReserveRequest(reservation_id, now, common, alternatives)
        try:
            outcome = await self.store.reserve(request)
        except LimitStoreError as exc:
            self._unmetered(exc)
            return Admission(None, tuple(range(len(prices))), tokens_in=tokens_in)
        self._metered()
        if isinstance(outcome, Refusal):
            return _refused(outcome, len(costs))
        if outcome.alternative < 0:
            return Admission(outcome, tuple(range(len(prices))), tokens_in=tokens_in)
        return _admitted(outcome, costs, amounts[outcome.alternative], tokens_in)

    def _charge(self, limit: Limit, amount: int, now: int) -> Charge:
        window = limit.window
        cached = self._spans.get(window)
        if cached is None or (cached[0] and now >= cached[0]):
            span = window.span(now)
            cached = self._spans[window] = (span.reset_ms, span)
        return Charge(limit.counter(cached[1]), limit, amount, cached[0])

    def settle(self, admission: Admission | None, tokens: int, micro_usd: int) -> None:
        """Settle a reservation at what the request really used, in the background (a request
        that was not answered used no tokens and no USD, but stays a request)."""
        reservation = admission.reservation if admission is not None else None
        if reservation is None:
            return
        actual = actual_amounts(reservation, tokens, micro_usd)
        if any(a != c.amount for a, c in zip(actual, reservation.charges, strict=True)):
            self.store.settle(reservation, actual)  # queued: applied off the request's time

    def release(self, admission: Admission | None) -> None:
        """Give back a reservation's tokens and USD (the request used none)."""
        self.settle(admission, 0, 0)

    def status(self) -> dict[str, Any]:
        """Where the counters live and whether limits are enforced (for readiness)."""
        store_status = getattr(self.store, "status", None)
        body: dict[str, Any] = (
            store_status() if callable(store_status) else {"store": self.store.name}
        )
        body["configured"] = not self.scoped.empty
        body["enforcing"] = self._unmetered_since is None
        if self._unmetered_since is not None:
            body["unmetered_since_ms"] = self._unmetered_since
        return body

    async def close(self) -> None:
        """Close the store (which applies the settlements it still holds)."""
        await self.store.close()

    def _unmetered(self, exc: Exception) -> None:
        if self._unmetered_since is None:
            self._unmetered_since = self._clock()
            log.error(
                "limits: no counter store can be reached (%s); serving requests unmetered", exc
            )

    def _metered(self) -> None:
        if self._unmetered_since is not None:
            self._unmetered_since = None
            log.warning("limits: counter store reachable again; enforcing limits")


def _admitted(
    reservation: Reservation, costs: Sequence[int], reserved: int, tokens_in: int
) -> Admission:
    """Run on the first candidate at the reserved amount, then on later ones that cost no more
    (a pricier fallback could spend more than was reserved)."""
    first = costs.index(reserved)
    allowed, cut = [], []
    for index, cost in enumerate(costs):
        if index < first:
            cut.append((index, f"its estimate of {usd_text(cost)} USD does not fit the budget"))
        elif cost <= reserved:
            allowed.append(index)
        else:
            cut.append(
                (
                    index,
                    f"its estimate of {usd_text(cost)} USD is more than the "
                    f"{usd_text(reserved)} USD reserved for this request",
                )
            )
    return Admission(reservation, tuple(allowed), tuple(cut), tokens_in)


def _refused(refusal: Refusal, candidates: int) -> Refused:
    charge = refusal.charge
    limit = charge.limit
    retry_s = None if refusal.retry_after_ms is None else math.ceil(refusal.retry_after_ms / 1000)
    needs, used = _shown(limit.metric, charge.amount), _shown(limit.metric, refusal.used)
    if limit.rate:
        message = f"rate limit reached ({limit.describe()})"
    else:
        message = (
            f"budget exceeded ({limit.describe()}): {used} used, this request needs an "
            f"estimated {needs}"
        )
    if retry_s is not None:
        message += f"; retry after {retry_s} s"
    else:
        message += "; the request alone is over the limit: ask for fewer tokens (max_tokens)"
    why = f"{limit.describe()}: over the limit"
    return Refused(limit, limit.rate, message, retry_s, tuple((i, why) for i in range(candidates)))


def _shown(metric: Metric, amount: int) -> str:
    if metric == "usd":
        return f"{usd_text(amount)} USD"
    return f"{amount} {'requests' if metric == 'requests_per_min' else 'tokens'}"
