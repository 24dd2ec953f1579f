"""The adapter of each provider kind, and the process's pooled upstream session.

`adapters_for` is the one table of provider kinds; the gateway (`UpstreamClients`) and the
benchmark's caller both build their adapters through it.
"""

from __future__ import annotations

import aiohttp

from rolecall.execution.ports import Adapter
from rolecall.providers.anthropic import AnthropicAdapter
from rolecall.providers.openai_compat import OpenAICompatAdapter
from rolecall.providers.timeouts import Timeouts

__all__ = ["UpstreamClients", "adapters_for"]


def adapters_for(
    session: aiohttp.ClientSession,
    timeout_s: float,
    *,
    connect_timeout_s: float = 10.0,
    idle_timeout_s: float = 60.0,
) -> dict[str, Adapter]:
    """One adapter per provider kind over ``session``; ``timeout_s`` is the first-token timeout
    (a non-streamed call's whole answer), see `rolecall.providers.timeouts`."""
    timeouts = Timeouts(connect_timeout_s, timeout_s, idle_timeout_s)
    openai_compat = OpenAICompatAdapter(session, timeouts)
    return {
        "openai_compatible": openai_compat,
        "ollama": openai_compat,
        "llamacpp": openai_compat,
        "anthropic": AnthropicAdapter(session, timeouts),
    }


class UpstreamClients:
    """The gateway's upstream adapters over one pooled session, opened inside the server's loop
    (an aiohttp session belongs to the loop that created it)."""

    def __init__(
        self, timeout_s: float, *, connect_timeout_s: float = 10.0, idle_timeout_s: float = 60.0
    ) -> None:
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._idle_timeout_s = idle_timeout_s
        self._session: aiohttp.ClientSession | None = None
        self._adapters: dict[str, Adapter] = {}

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=60)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True)
        self._adapters = adapters_for(
            self._session,
            self._timeout_s,
            connect_timeout_s=self._connect_timeout_s,
            idle_timeout_s=self._idle_timeout_s,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._adapters = {}

    def adapter(self, kind: str) -> Adapter:
        adapter = self._adapters.get(kind)
        if adapter is None:
            state = "not open yet" if self._session is None else f"no adapter for {kind!r}"
            raise RuntimeError(f"upstream clients: {state}")
        return adapter
