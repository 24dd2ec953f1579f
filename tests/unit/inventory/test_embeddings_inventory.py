"""Embedding endpoints in the inventory: ``embeddings.text`` declared, a batch size, bound to the
embedder role; and an Anthropic endpoint never claims embeddings (Anthropic has none)."""

from __future__ import annotations

from rolecall.inventory.config import parse_inventory
from rolecall.inventory.inventory import build_inventory


def test_an_embedder_endpoint_and_the_anthropic_exclusion() -> None:
    config = parse_inventory(
        {
            "providers": {
                "oa": {"kind": "openai_compatible", "base_url": "https://api.example/v1"},
                "claude": {"kind": "anthropic", "base_url": "https://anthropic.example/v1"},
            },
            "endpoints": [
                {
                    "provider": "oa",
                    "model": "text-embedding-3-small",
                    "id": "embed",
                    "capabilities": ["embeddings.text"],
                    "roles": ["embedder"],
                    "batch_size": 512,
                },
                {"provider": "oa", "model": "gpt-4o-mini", "id": "chat"},
                {
                    "provider": "claude",
                    "model": "claude-haiku",
                    "id": "claude",
                    "capabilities": ["text.chat", "embeddings.text"],
                },
            ],
        }
    )
    inventory = build_inventory(config)
    embed, chat, claude = (inventory.endpoints[e] for e in ("embed", "chat", "claude"))
    assert embed.embeddings_only
    assert embed.declared.supports_embeddings
    assert embed.batch_size == 512
    assert not chat.embeddings_only
    assert not chat.declared.supports_embeddings
    assert claude.declared.capabilities == ["text.chat"]  # the claim is dropped, and said why
    assert not claude.declared.supports_embeddings
    [problem] = [p for p in inventory.problems if "embeddings" in p]
    assert problem.startswith("endpoints[2].capabilities: provider kind 'anthropic'")
    statuses = {(b.role_id, b.status) for b in inventory.bindings if b.endpoint_id == "embed"}
    assert ("embedder", "active") in statuses
    assert ("general.chat", "disabled") in statuses
