"""Executes a decision: the chosen endpoint, then each fallback, with one quick retry where allowed.

Every attempt is recorded (endpoint, timing, outcome) so traces and usage tell exactly what happened,
and counted in the cooldown book (which ejects an endpoint once its failures call for it). The quick
retry waits a short jittered pause, or a short ``Retry-After``. A stream counts as started at its
first content token; before that it can still fall back.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rolecall.execution.batching import embed_batched
from rolecall.execution.cooldown import CooldownBook
from rolecall.execution.failures import COOL_AT_ONCE, UpstreamFailure
from rolecall.execution.ports import Adapter, Upstreams, UpstreamStream
from rolecall.execution.tracecontext import TraceContext, new_span_id
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
    # the attempt's span: the parent id its upstream saw in ``traceparent`` (None: no span)
    span_id: str | None = None


@dataclass(slots=True)
class Outcome:
    endpoint: Endpoint | None = None
    response: dict[str, Any] | None = None
    stream: UpstreamStream | None = None
    attempts: list[Attempt] = field(default_factory=list)
    failure: UpstreamFailure | None = None  # set when no attempt succeeded
    panic: bool = False  # executed on cooling endpoints: every one that could serve was cooling
    waited_ms: int = 0  # spent waiting before retries

    @property
    def ok(self) -> bool:
        return self.failure is None and self.endpoint is not None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long the same-endpoint quick retry waits (docs/protocol.md §Failure classes): a
    full-jitter pause between ``backoff_min_ms`` and ``backoff_max_ms``, or the upstream's
    ``Retry-After`` when it is at most ``retry_after_max_ms`` (longer: no retry, fall back). A
    request waits at most ``budget_ms`` in all on retries."""

    backoff_min_ms: int = 50
    backoff_max_ms: int = 250
    retry_after_max_ms: int = 2_000
    budget_ms: int = 4_000


class Executor:
    def __init__(
        self,
        upstreams: Upstreams,
        cooldowns: CooldownBook,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        *,
        span_per_attempt: bool = False,
    ) -> None:
        """``span_per_attempt``: rolecall exports its spans, so each attempt gets a span id of
        its own and its upstream sees it as the ``traceparent``'s parent."""
        self._upstreams = upstreams
        self._cooldowns = cooldowns
        self._retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self._span_per_attempt = span_per_attempt

    async def run(
        self,
        decision: Decision,
        body: Mapping[str, Any],
        endpoints: Mapping[str, Endpoint],
        *,
        stream: bool,
        panic: Sequence[str] = (),
        trace: TraceContext | None = None,
    ) -> Outcome:
        """Execute ``decision``; ``endpoints`` is the inventory it was decided on (a routing view's),
        so an endpoint removed meanwhile is still executed as decided. ``panic``: the decision
        chose nothing because every endpoint that could serve is cooling down, so try these
        (least recently failed first) rather than fail the request. ``trace``: the request's
        trace context, which every attempt carries upstream."""
        return await self._execute(decision, endpoints, panic, trace, _chat_call(body, stream))

    async def embed(
        self,
        decision: Decision,
        body: Mapping[str, Any],
        endpoints: Mapping[str, Endpoint],
        *,
        panic: Sequence[str] = (),
        trace: TraceContext | None = None,
    ) -> Outcome:
        """Execute an embeddings ``decision`` as `run` does a chat one: ``body["input"]`` (a list)
        goes to each endpoint in its batches (`rolecall.execution.batching`); the merged reply
        is the outcome's ``response``."""
        return await self._execute(decision, endpoints, panic, trace, _embed_call(body))

    async def _execute(
        self,
        decision: Decision,
        endpoints: Mapping[str, Endpoint],
        panic: Sequence[str],
        trace: TraceContext | None,
        call: Call,
    ) -> Outcome:
        outcome = Outcome()
        chosen = decision.chosen_endpoint_id
        order: Sequence[str] = (chosen, *decision.fallback_endpoint_ids) if chosen else ()
        if not order and panic:
            order = panic
            outcome.panic = True
        for endpoint_id in order:
            endpoint = endpoints[endpoint_id]
            done = await self._try_endpoint(endpoint, call, outcome, trace)
            if done:
                return outcome
        if outcome.failure is None:
            outcome.failure = UpstreamFailure("network", 0, "no eligible endpoint to execute on")
        return outcome

    def stream_failed(self, endpoint_id: str, now: int) -> None:
        """A stream cut after its first content token: too late to fall back, but it counts
        towards the endpoint's cooldown like any failed attempt."""
        self._cooldowns.failed(endpoint_id, "stream_truncated", now)

    async def _try_endpoint(
        self, endpoint: Endpoint, call: Call, outcome: Outcome, trace: TraceContext | None
    ) -> bool:
        """One endpoint with at most one retry; True when the request is finished (ok or terminal)."""
        adapter = self._upstreams.adapter(endpoint.provider.kind)
        endpoint_id = endpoint.endpoint_id
        for retry in (False, True):
            span_id = new_span_id() if trace is not None and self._span_per_attempt else None
            headers = None if trace is None else trace.upstream(span_id)
            attempt = Attempt(endpoint_id, now_ms(), 0, retry, span_id=span_id)
            outcome.attempts.append(attempt)
            try:
                await call(adapter, endpoint, headers, outcome, attempt)
            except UpstreamFailure as failure:
                attempt.ended_ms = now_ms()
                attempt.failure = failure
                outcome.failure = failure
                if not failure.falls_back:
                    return True  # invalid request: terminal, passed back to the client
                cooled = self._cooldowns.failed(
                    endpoint_id,
                    failure.failure,
                    attempt.ended_ms,
                    at_once=failure.failure in COOL_AT_ONCE,
                    at_least_ms=failure.retry_after_ms or 0,
                )
                wait_ms = None if retry or cooled else self._retry_wait(failure, outcome)
                if wait_ms is None:
                    return False
                if wait_ms:
                    outcome.waited_ms += wait_ms
                    await asyncio.sleep(wait_ms / 1000)
                continue
            attempt.ended_ms = now_ms()
            outcome.endpoint = endpoint
            outcome.failure = None
            self._cooldowns.succeeded(endpoint_id, attempt.ended_ms)
            return True
        return False

    def _retry_wait(self, failure: UpstreamFailure, outcome: Outcome) -> int | None:
        """Milliseconds to wait before the quick retry, or None for no retry (the failure does
        not allow one, the upstream asked for a longer pause, or the request's budget is spent)."""
        if not failure.retryable:
            return None
        policy = self._retry
        if failure.retry_after_ms is not None:
            if failure.retry_after_ms > policy.retry_after_max_ms:
                return None
            wait = failure.retry_after_ms
        else:
            wait = self._rng.randint(policy.backoff_min_ms, policy.backoff_max_ms)
        return wait if outcome.waited_ms + wait <= policy.budget_ms else None


# one attempt's upstream call: it stores the answer on the outcome (and a stream's first byte on
# the attempt), or raises `UpstreamFailure`
Call = Callable[[Adapter, Endpoint, "Mapping[str, str] | None", Outcome, Attempt], Awaitable[None]]


def _chat_call(body: Mapping[str, Any], stream: bool) -> Call:
    async def call(
        adapter: Adapter,
        endpoint: Endpoint,
        headers: Mapping[str, str] | None,
        outcome: Outcome,
        attempt: Attempt,
    ) -> None:
        payload = {**body, "model": endpoint.model}
        if stream:
            outcome.stream = await adapter.stream(endpoint.provider, payload, headers)
            attempt.first_byte_ms = now_ms()
        else:
            outcome.response = await adapter.complete(endpoint.provider, payload, headers)

    return call


def _embed_call(body: Mapping[str, Any]) -> Call:
    async def call(
        adapter: Adapter,
        endpoint: Endpoint,
        headers: Mapping[str, str] | None,
        outcome: Outcome,
        attempt: Attempt,
    ) -> None:
        outcome.response = await embed_batched(adapter, endpoint, body, headers)

    return call
