"""An Anthropic endpoint behind the gateway: OpenAI clients in, Messages API out, translated back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.providers.scripted import ScriptedUpstream

from .harness import Gateway


@pytest.fixture
def anthropic_gateway(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Gateway, Any]]:
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "sk-ant-test")
    script = {
        "require_auth": "sk-ant-test",
        "models": {"claude-test": {"answer": "bonjour le monde"}},
    }
    with ScriptedUpstream.start_in_thread(script) as upstream:
        inventory = {
            "providers": {
                "anthropic": {
                    "kind": "anthropic",
                    "base_url": upstream.base_url,
                    "api_key": "${TEST_ANTHROPIC_KEY}",
                }
            },
            "endpoints": [
                {"provider": "anthropic", "model": "claude-test", "id": "claude", "tools": True}
            ],
        }
        with Gateway(inventory, db_url, tmp_path) as gw:
            yield gw, upstream


def test_non_streaming_is_translated(anthropic_gateway: tuple[Gateway, Any]) -> None:
    gw, upstream = anthropic_gateway
    completion = gw.client().chat.completions.create(
        model="default",
        max_tokens=50,
        messages=[
            {"role": "system", "content": "answer in French"},
            {"role": "user", "content": "hello world"},
        ],
    )
    assert completion.choices[0].message.content == "bonjour le monde"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.completion_tokens > 0
    stats = upstream.stats()
    assert "sk-ant-test" not in str(stats)  # the upstream never echoes credentials


def test_streaming_is_translated(anthropic_gateway: tuple[Gateway, Any]) -> None:
    gw, _ = anthropic_gateway
    stream = gw.client().chat.completions.create(
        model="default", stream=True, messages=[{"role": "user", "content": "hello"}]
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "bonjour le monde"
