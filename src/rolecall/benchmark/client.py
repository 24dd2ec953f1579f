"""Calling endpoints for a benchmark: the inventory's endpoints through rolecall's upstream adapters.

Owns `EndpointCaller`: one pooled aiohttp session, the adapter for each provider kind (built by
the same factory as the gateway's, `rolecall.execution.ports.AdapterFactory`), per-endpoint
concurrency limits and retries of retryable failures. Benchmarks ignore cooldowns on purpose (they
measure the endpoint, not the router), but every failure is returned to the runner, which records
it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import aiohttp

from rolecall.benchmark.cases import BenchCase
from rolecall.benchmark.reply import Reply, parse_completion
from rolecall.execution.failures import UpstreamFailure
from rolecall.execution.ports import Adapter, AdapterFactory
from rolecall.inventory.inventory import Endpoint

__all__ = ["EndpointCaller", "NotAdmitted", "case_body"]

RETRY_BACKOFF_S: Final = 0.25
PREFLIGHT_PROMPT: Final = [{"role": "user", "content": "Reply with the word OK."}]


class NotAdmitted(Exception):  # noqa: N818 - a decision, not an error
    """The ``admit`` check refused a request once it had its slot (e.g. the spend cap)."""


def case_body(case: BenchCase, endpoint: Endpoint) -> dict[str, Any]:
    """The chat-completion body for ``case`` on ``endpoint`` (temperature 0 for repeatability).

    On llama.cpp servers a multiple-choice answer is constrained to the option letters with a GBNF
    grammar (docs/benchmark.md §Small local judges); other servers get the instruction only.
    """
    body: dict[str, Any] = {
        "messages": [m.model_dump() for m in case.messages],
        "temperature": 0,
        "max_tokens": case.max_tokens,
    }
    if case.tools:
        body["tools"] = case.tools
    if case.grader == "choice" and case.constrain and endpoint.provider.kind == "llamacpp":
        letters = " | ".join(f'"{x}"' for x in case.parsed_args().letters)
        body["grammar"] = f"root ::= {letters}"
    return body


class EndpointCaller:
    """Sends chat completions to inventory endpoints with limits and retries."""

    def __init__(
        self,
        endpoints: Mapping[str, Endpoint],
        *,
        adapters: AdapterFactory,
        timeout_s: float,
        concurrency: int = 2,
        retries: int = 2,
    ) -> None:
        self._endpoints = endpoints
        self._timeout_s = timeout_s
        self._retries = retries
        # a llama.cpp server decodes one request at a time: more in flight would only queue there
        # and turn queueing into "latency", so local engines get one slot
        self._limits = {
            eid: asyncio.Semaphore(1 if ep.provider.kind == "llamacpp" else concurrency)
            for eid, ep in endpoints.items()
        }
        self._adapter_factory = adapters
        self._session: aiohttp.ClientSession | None = None
        self._adapters: Mapping[str, Adapter] = {}

    async def __aenter__(self) -> EndpointCaller:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
        self._session = aiohttp.ClientSession(connector=connector)
        self._adapters = self._adapter_factory(self._session, self._timeout_s)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    def endpoint(self, endpoint_id: str) -> Endpoint:
        return self._endpoints[endpoint_id]

    async def complete(
        self,
        endpoint_id: str,
        body: Mapping[str, Any],
        admit: Callable[[], str | None] | None = None,
    ) -> Reply:
        """One completion within the endpoint's concurrency limit; retryable failures are retried
        ``retries`` times with a short backoff; the last failure is raised (`UpstreamFailure`).

        ``admit`` runs once the slot is held (so it sees what finished while this request
        waited); a reason it returns is raised as `NotAdmitted` without sending anything.
        """
        endpoint = self._endpoints[endpoint_id]
        adapter = self._adapters[endpoint.provider.kind]
        payload = {**body, "model": endpoint.model}
        async with self._limits[endpoint_id]:
            refusal = admit() if admit is not None else None
            if refusal is not None:
                raise NotAdmitted(refusal)
            for attempt in range(self._retries + 1):
                started = time.perf_counter()
                try:
                    raw = await adapter.complete(endpoint.provider, payload)
                except UpstreamFailure as failure:
                    if not failure.retryable or attempt == self._retries:
                        raise
                    await asyncio.sleep(RETRY_BACKOFF_S * 2**attempt)
                    continue
                return parse_completion(raw, (time.perf_counter() - started) * 1000)
        raise AssertionError("unreachable")  # pragma: no cover

    async def preflight(self, endpoint_id: str) -> str | None:
        """A tiny request proving the endpoint answers; None when it does, else the failure."""
        try:
            await self.complete(
                endpoint_id, {"messages": PREFLIGHT_PROMPT, "max_tokens": 4, "temperature": 0}
            )
        except UpstreamFailure as failure:
            return f"{failure.failure}: {failure.message}"
        return None
