"""Anthropic has no embeddings API: the adapter's last guard is a terminal 400 that says why (the
inventory already keeps an Anthropic endpoint from declaring ``embeddings.text``)."""

from __future__ import annotations

import asyncio

import pytest

from rolecall.execution.failures import UpstreamFailure
from rolecall.inventory.config import ProviderConfig
from rolecall.providers.anthropic import AnthropicAdapter
from rolecall.providers.timeouts import Timeouts


def test_the_anthropic_adapter_refuses_embeddings_clearly() -> None:
    adapter = AnthropicAdapter(None, Timeouts(1, 1, 1))  # type: ignore[arg-type]  # never used
    provider = ProviderConfig(kind="anthropic", base_url="https://anthropic.example/v1")
    with pytest.raises(UpstreamFailure) as caught:
        asyncio.run(adapter.embed(provider, {"model": "claude", "input": ["x"]}))
    assert (caught.value.failure, caught.value.status) == ("invalid_request", 400)
    assert not caught.value.falls_back
    assert "no embeddings API" in caught.value.message
