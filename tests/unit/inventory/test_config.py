"""The inventory file: validation errors name the key path; resolution fills defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from rolecall.errors import ConfigError
from rolecall.inventory.catalog import Catalog
from rolecall.inventory.config import load_inventory_file, parse_inventory
from rolecall.inventory.inventory import build_inventory

GOOD = {
    "providers": {
        "openai": {
            "kind": "openai_compatible",
            "base_url": "https://api.openai.com/v1",
            "api_key": "${OPENAI_API_KEY}",
        },
        "local": {"kind": "llamacpp", "base_url": "http://127.0.0.1:8081/v1"},
    },
    "endpoints": [
        {"provider": "openai", "model": "openai/gpt-4o", "roles": ["general.chat"]},
        {"provider": "local", "model": "qwen", "context_window": 4096},
    ],
    "routing": {"strategy": "quality", "execution_scope": "hybrid"},
}


def test_resolves_endpoints_with_catalog_defaults() -> None:
    inventory = build_inventory(parse_inventory(GOOD), Catalog.load_default())
    remote = inventory.endpoints["openai.openai/gpt-4o"]
    assert remote.declared.max_context_tokens == 128000
    assert (remote.input_per_1m, remote.output_per_1m) == (2.5, 10.0)
    assert remote.is_local is False
    assert remote.identity.provider_kind == "remote_openai_compat"
    local = inventory.endpoints["local.qwen"]
    assert local.is_local is True
    assert local.identity.endpoint_kind == "local_engine"
    assert local.declared.max_context_tokens == 4096
    assert local.declared.tool_calling.supported is False
    assert set(inventory.roles) >= {
        "general.chat",
        "coder.patch",
        "coder.review",
        "tool.agent",
        "embedder",
        "classifier",
        "language.detector",
    }
    statuses = {
        (b.role_id, b.status) for b in inventory.bindings if b.endpoint_id == remote.endpoint_id
    }
    assert ("general.chat", "active") in statuses
    assert ("coder.patch", "disabled") in statuses
    assert inventory.policy is not None
    assert inventory.policy.strategy == "quality"


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        (
            lambda d: d["providers"]["openai"].update(api_key="sk-live-123"),
            "providers.openai.api_key",
            "environment reference",
        ),
        (lambda d: d["providers"]["openai"].update(kind="azure"), "providers.openai.kind", ""),
        (
            lambda d: d["providers"]["openai"].update(base_url="api.openai.com"),
            "providers.openai.base_url",
            "http",
        ),
        (
            lambda d: d["endpoints"][0].update(provider="nope"),
            "endpoints[0].provider",
            "unknown provider",
        ),
        (lambda d: d["endpoints"][1].update(context_window=0), "endpoints[1].context_window", ""),
        (lambda d: d["endpoints"][1].update(colour="red"), "endpoints[1].colour", "unknown key"),
        (
            lambda d: d["endpoints"].append({"provider": "local", "model": "qwen"}),
            "endpoints[2].id",
            "duplicate",
        ),
        (lambda d: d["routing"].update(strategy="fast"), "routing.strategy", ""),
        (lambda d: d["endpoints"][0].pop("model"), "endpoints[0].model", "missing"),
    ],
)
def test_errors_name_the_key(mutate, path: str, fragment: str) -> None:  # type: ignore[no-untyped-def]
    import copy

    data = copy.deepcopy(GOOD)
    mutate(data)
    with pytest.raises(ConfigError) as info:
        parse_inventory(data)
    assert info.value.path == path
    assert fragment in info.value.message


def test_secret_never_in_error_or_model(tmp_path: Path) -> None:
    data = {
        "providers": {
            "p": {
                "kind": "openai_compatible",
                "base_url": "http://x/v1",
                "api_key": "sk-secret-value",
            }
        }
    }
    with pytest.raises(ConfigError) as info:
        parse_inventory(data)
    assert "sk-secret-value" not in str(info.value)


def test_yaml_errors_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "rolecall.yaml"
    bad.write_text("providers: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_inventory_file(bad)
    assert load_inventory_file(tmp_path / "absent.yaml").endpoints == []


def test_learned_mode_without_a_trained_router_names_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        parse_inventory({"routing": {"mode": "learned"}})
    assert err.value.path == "routing.learned"
    assert "rolecall lab train" in str(err.value)


def test_learned_models_must_map_at_least_one_endpoint() -> None:
    with pytest.raises(ConfigError) as err:
        parse_inventory({"routing": {"mode": "learned", "learned": {"artifact": "r.npz"}}})
    assert err.value.path == "routing.learned.models"


@pytest.mark.parametrize("mode", ["controller", "hybrid"])
def test_a_controller_mode_without_a_controller_names_the_key(mode: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_inventory({"routing": {"mode": mode}})
    assert err.value.path == "routing.controller"
    assert "endpoint_id" in str(err.value)


def test_the_difficulty_settings_name_what_a_classifier_needs() -> None:
    with pytest.raises(ConfigError) as err:
        parse_inventory({"routing": {"difficulty": {"classifier": "endpoint"}}})
    assert err.value.path.startswith("routing.difficulty")
    assert "endpoint_id" in str(err.value)
    with pytest.raises(ConfigError) as err:
        parse_inventory(
            {"endpoints": [], "routing": {"mode": "difficulty"}}
            | {"routing": {"difficulty": {"fallback_difficulty": "extreme"}}}
        )
    assert "fallback_difficulty" in err.value.path
    assert parse_inventory({"routing": {"mode": "difficulty"}}).routing.mode == "difficulty"
