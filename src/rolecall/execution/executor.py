"""Executes a decision: the chosen endpoint, then each fallback, with one quick retry where allowed.

Every attempt is recorded (endpoint, timing, outcome) so traces and usage tell exactly what happened.
A stream counts as started once its first event has arrived; before that it can still fall back.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rolecall.execution.cooldown import CooldownBook
from rolecall.execution.failures import UpstreamFailure
from rolecall.execution.ports import Upstreams, UpstreamStream
from rolecall.inventory.inventory import Endpoint
from rolecall.routing import Decision


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class Attempt:
    endpoint_id: str
    started_ms: int
    ended_ms: int
    retry: bool  # a same-endpoint retry of the previous attempt
    failure: UpstreamFailure | None = None
    first_byte_ms: int | None = None


@dataclass(slots=True)
class Outcome:
    endpoint: Endpoint | None = None
    response: dict[str, Any] | None = None
    stream: UpstreamStream | None = None
    attempts: list[Attempt] = field(default_factory=list)
    failure: UpstreamFailure | None = None  # set when no attempt succeeded

    @property
    def ok(self) -> bool:
        return self.failure is None and self.endpoint is not None


class Executor:
    def __init__(self, upstreams: Upstreams, cooldowns: CooldownBook) -> None:
        self._upstreams = upstreams
        self._cooldowns = cooldowns

    async def run(
        self,
        decision: Decision,
        body: Mapping[str, Any],
        endpoints: Mapping[str, Endpoint],
        *,
        stream: bool,
    ) -> Outcome:
        """Execute ``decision``; ``endpoints`` is the inventory it was decided on (a routing view's),
        so an endpoint removed meanwhile is still executed as decided."""
        outcome = Outcome()
        chosen = decision.chosen_endpoint_id
        order = (chosen, *decision.fallback_endpoint_ids) if chosen else ()
        for endpoint_id in order:
            endpoint = endpoints[endpoint_id]
            done = await self._try_endpoint(endpoint, body, stream, outcome)
            if done:
                return outcome
        if outcome.failure is None:
            outcome.failure = UpstreamFailure("network", 0, "no eligible endpoint to execute on")
        return outcome

    async def _try_endpoint(
        self, endpoint: Endpoint, body: Mapping[str, Any], stream: bool, outcome: Outcome
    ) -> bool:
        """One endpoint with at most one retry; True when the request is finished (ok or terminal)."""
        adapter = self._upstreams.adapter(endpoint.provider.kind)
        payload = {**body, "model": endpoint.model}
        for retry in (False, True):
            attempt = Attempt(endpoint.endpoint_id, now_ms(), 0, retry)
            outcome.attempts.append(attempt)
            try:
                if stream:
                    outcome.stream = await adapter.stream(endpoint.provider, payload)
                    attempt.first_byte_ms = now_ms()
                else:
                    outcome.response = await adapter.complete(endpoint.provider, payload)
            except UpstreamFailure as failure:
                attempt.ended_ms = now_ms()
                attempt.failure = failure
                outcome.failure = failure
                if not failure.falls_back:
                    return True  # invalid request: terminal, passed back to the client
                if failure.retryable and not retry:
                    continue
                self._cooldowns.enter(endpoint.endpoint_id, failure.failure, attempt.ended_ms)
                return False
            attempt.ended_ms = now_ms()
            outcome.endpoint = endpoint
            outcome.failure = None
            self._cooldowns.succeeded(endpoint.endpoint_id)
            return True
        return False
