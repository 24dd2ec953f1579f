"""`configured_inventory`: the file's endpoints priced by the bundled catalog with the file's own
catalog overrides applied (startup and run-time additions both build through it)."""

from __future__ import annotations

from typing import Any

import pytest

from rolecall.errors import ConfigError
from rolecall.inventory.catalog import Catalog
from rolecall.inventory.config import parse_inventory
from rolecall.inventory.inventory import DEFAULT_CONTEXT_WINDOW
from rolecall.inventory.load import configured_inventory

KEY = "openai/gpt-4o"


def config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "providers": {
            "cloud": {"kind": "openai_compatible", "base_url": "https://api.example.com/v1"},
        },
        "endpoints": [
            {"provider": "cloud", "model": "gpt-4o", "id": "by-catalog", "catalog": KEY},
            {
                "provider": "cloud",
                "model": "gpt-4o",
                "id": "declared",
                "catalog": KEY,
                "context_window": 4096,
                "price": {"input_per_1m": 9.0, "output_per_1m": 9.0},
            },
            {"provider": "cloud", "model": "house-model", "id": "house"},
        ],
    }
    if overrides is not None:
        data["catalog_overrides"] = overrides
    return data


def build(overrides: dict[str, Any] | None = None) -> Any:
    return configured_inventory(parse_inventory(config(overrides), "rolecall.yaml"))


def test_without_overrides_endpoints_take_the_bundled_catalog() -> None:
    entry = Catalog.load_default().get(KEY)
    assert entry is not None
    endpoint = build().endpoints["by-catalog"]
    assert endpoint.input_per_1m == entry.input_per_1m
    assert endpoint.output_per_1m == entry.output_per_1m
    assert endpoint.declared.max_context_tokens == entry.context_window
    assert endpoint.max_output_tokens == entry.max_output_tokens


def test_overrides_change_prices_and_context_windows_of_configured_endpoints() -> None:
    inventory = build({KEY: {"input_per_1m": 0.5, "output_per_1m": 1.5, "context_window": 32000}})
    endpoint = inventory.endpoints["by-catalog"]
    assert endpoint.input_per_1m == 0.5
    assert endpoint.output_per_1m == 1.5
    assert endpoint.declared.max_context_tokens == 32000
    # fields the override does not name keep the bundled value
    bundled = Catalog.load_default().get(KEY)
    assert bundled is not None
    assert endpoint.max_output_tokens == bundled.max_output_tokens
    assert endpoint.cost_per_1k_tokens == pytest.approx((0.75 * 0.5 + 0.25 * 1.5) / 1000)
    # the bundled catalog itself is left unchanged
    assert bundled.input_per_1m != 0.5


def test_what_an_endpoint_declares_wins_over_the_overrides() -> None:
    endpoint = build({KEY: {"input_per_1m": 0.5, "context_window": 32000}}).endpoints["declared"]
    assert endpoint.input_per_1m == 9.0
    assert endpoint.declared.max_context_tokens == 4096


def test_an_override_can_add_a_model_the_catalog_does_not_know() -> None:
    assert build().endpoints["house"].input_per_1m is None
    assert build().endpoints["house"].declared.max_context_tokens == DEFAULT_CONTEXT_WINDOW
    overridden = {"house-model": {"input_per_1m": 0, "output_per_1m": 0, "context_window": 8192}}
    endpoint = build(overridden).endpoints["house"]
    assert endpoint.input_per_1m == 0.0
    assert endpoint.request_cost(1000, 1000) == 0.0
    assert endpoint.declared.max_context_tokens == 8192


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"input_per_1m": -1}, "input_per_1m"),
        ({"output_per_1m": "cheap"}, "output_per_1m"),
        ({"input_per_1m": True}, "input_per_1m"),
        ({"context_window": 0}, "context_window"),
        ({"context_window": 1.5}, "context_window"),
        ({"max_output_tokens": "4k"}, "max_output_tokens"),
        ({"currency": "  "}, "currency"),
        ({"modalities": "text"}, "modalities"),
        ({"capabilities": ["", "x"]}, "capabilities"),
        ({"price": 1.0}, "price"),
    ],
)
def test_a_bad_override_value_names_its_path(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        build({KEY: fields})
    assert info.value.source == "catalog"
    assert info.value.path == f"overrides.{KEY}.{field}"


def test_an_override_that_is_not_a_mapping_names_its_key() -> None:
    with pytest.raises(ConfigError) as info:
        configured_inventory(
            parse_inventory(config(), "rolecall.yaml").model_copy(
                update={"catalog_overrides": {KEY: ["input_per_1m", 1]}}
            )
        )
    assert info.value.path == f"overrides.{KEY}"
