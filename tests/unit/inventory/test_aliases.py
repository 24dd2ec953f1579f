"""``aliases:`` and ``model_aliases:`` in rolecall.yaml: accepted shapes and errors naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from rolecall.errors import ConfigError
from rolecall.inventory.config import parse_inventory
from rolecall.inventory.inventory import build_inventory

BASE: dict[str, Any] = {
    "providers": {"up": {"kind": "openai_compatible", "base_url": "http://127.0.0.1:9/v1"}},
    "endpoints": [
        {"provider": "up", "model": "gpt-4o-mini", "id": "mini"},
        {"provider": "up", "model": "qwen2.5-coder-1.5b", "id": "coder-a"},
        {"provider": "up", "model": "qwen2.5-coder-1.5b", "id": "coder-b"},
    ],
}


def _parse(**sections: Any) -> Any:
    return parse_inventory({**BASE, **sections})


def test_an_alias_with_every_field_is_kept_on_the_inventory() -> None:
    alias = {
        "role": "coder.patch",
        "task": "code.edit",
        "strategy": "quality",
        "mode": "baseline",
        "execution_scope": "remote_only",
        "endpoints": ["mini", "qwen2.5-coder-1.5b"],
        "budget": 0.05,
        "description": "the coder posture",
    }
    inventory = build_inventory(_parse(aliases={"gpt-4o": alias}))
    kept = inventory.aliases["gpt-4o"]
    assert (kept.role, kept.strategy, kept.budget) == ("coder.patch", "quality", 0.05)
    assert kept.endpoints == ["mini", "qwen2.5-coder-1.5b"]


def test_role_models_shape_maps_basic_to_baseline_and_model_ids_to_endpoints() -> None:
    config = _parse(model_aliases={"fast": {"mode": "basic", "model_ids": ["gpt-4o-mini"]}})
    alias = config.all_aliases()["fast"]
    assert (alias.mode, alias.endpoints) == ("baseline", ["gpt-4o-mini"])


@pytest.mark.parametrize(
    ("sections", "path", "words"),
    [
        ({"aliases": {"gpt-4o": {"role": "coder"}}}, "aliases.gpt-4o.role", "unknown role"),
        ({"aliases": {"x": {"task": "nope"}}}, "aliases.x.task", "unknown task"),
        (
            {"aliases": {"x": {"role": "general.chat", "task": "code.edit"}}},
            "aliases.x.task",
            "does not perform task 'code.edit'",
        ),
        ({"aliases": {"x": {"endpoints": ["gpt-5"]}}}, "aliases.x.endpoints[0]", "neither"),
        ({"aliases": {"x": {"mode": "learned"}}}, "aliases.x.mode", "routing.learned"),
        ({"aliases": {"x": {"mode": "hybrid"}}}, "aliases.x.mode", "routing.controller"),
        ({"aliases": {"x": {"colour": 1}}}, "aliases.x.colour", "unknown key"),
        ({"aliases": {"x": {"budget": -1}}}, "aliases.x.budget", "greater than"),
        ({"aliases": {"default": {}}}, "aliases.default", "fixed posture id"),
        ({"aliases": {"baseline.local-only": {}}}, "aliases.baseline.local-only", "fixed"),
        (
            {"model_aliases": {"smart": {"mode": "smart", "model_ids": ["mini"]}}},
            "model_aliases.smart.mode",
            "unknown mode 'smart'",
        ),
        (
            {"model_aliases": {"smart": {"mode": "intelligent"}}},
            "model_aliases.smart.mode",
            "routing.controller",
        ),
        (
            {"model_aliases": {"smart": {"model_ids": ["gpt-5"]}}},
            "model_aliases.smart.model_ids[0]",
            "neither",
        ),
        (
            {"aliases": {"fast": {}}, "model_aliases": {"fast": {"mode": "basic"}}},
            "model_aliases.fast",
            "also defined under aliases",
        ),
    ],
)
def test_errors_name_the_key(sections: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(**sections)
    assert caught.value.path == path
    assert words in caught.value.message
