"""What execution needs from the outside: an upstream adapter per provider kind.

The providers package implements these (`rolecall.providers.registry` builds the table once per
HTTP session); execution, the benchmark and the gateway depend only on the protocols here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol

import aiohttp

from rolecall.inventory.config import ProviderConfig


class UpstreamStream(Protocol):
    """An open streaming response read up to its first content token, so a failure before it can
    still fall back. ``held`` (the events before that token), ``first`` (the event carrying it)
    and ``rest`` are OpenAI chunk payloads (JSON); ``strip_usage``: the usage-only chunk was
    asked for by the gateway, not the client, and is not relayed."""

    held: tuple[bytes, ...]
    first: bytes
    rest: AsyncIterator[bytes]
    strip_usage: bool

    async def close(self) -> None: ...


class Adapter(Protocol):
    """Speaks one provider kind's wire format; failures raise `UpstreamFailure`. ``headers``
    are sent with the call besides the adapter's own (the trace context, `tracecontext`)."""

    async def complete(
        self,
        provider: ProviderConfig,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]: ...

    async def stream(
        self,
        provider: ProviderConfig,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> UpstreamStream: ...

    async def embed(
        self,
        provider: ProviderConfig,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One OpenAI embeddings call (``body["input"]`` a list); the reply has a ``data`` list.
        A provider kind without embeddings raises an ``invalid_request`` failure saying so."""
        ...


class Upstreams(Protocol):
    """The adapters of a running process: one per provider kind, over the pooled session."""

    def adapter(self, kind: str) -> Adapter: ...


# builds the adapter of every provider kind over one pooled session, with an upstream timeout
AdapterFactory = Callable[[aiohttp.ClientSession, float], Mapping[str, Adapter]]
