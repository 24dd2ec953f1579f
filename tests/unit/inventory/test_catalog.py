"""The packaged model catalog: contents, cost math, lookups, operator overrides, reproducible build."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rolecall.errors import ConfigError
from rolecall.inventory import Catalog, CatalogEntry
from tests.conftest import REPO_ROOT, SHARED

SNAPSHOT = SHARED / "data" / "catalog" / "models-dev-snapshot.json"
PACKAGED = REPO_ROOT / "src" / "rolecall" / "inventory" / "data" / "catalog.json"
needs_snapshot = pytest.mark.skipif(
    not SNAPSHOT.is_file(), reason=f"snapshot not found: {SNAPSHOT}"
)


def _small() -> Catalog:
    return Catalog.from_mapping(
        {
            "models": {
                "openai/gpt-4o": {
                    "context_window": 128000,
                    "input_per_1m": 2.5,
                    "output_per_1m": 10,
                },
                "azure/gpt-4o": {"context_window": 128000},
                "acme/solo-model": {"input_per_1m": 1, "output_per_1m": 3, "modalities": ["text"]},
            }
        }
    )


def test_packaged_catalog_loads_with_many_models() -> None:
    catalog = Catalog.load_default()
    assert len(catalog) > 1000
    assert catalog.source["vendor"] == "models.dev"
    assert "MIT" in catalog.source["license"]
    assert Catalog.load_default() is catalog


@needs_snapshot
def test_known_model_matches_snapshot() -> None:
    models = json.loads(SNAPSHOT.read_text(encoding="utf-8"))["models"]
    raw = next(m for m in models if m["modelId"] == "openai/gpt-4o")
    entry = Catalog.load_default().get("openai/gpt-4o")
    assert entry is not None
    assert entry.context_window == raw["contextWindow"]
    assert entry.max_output_tokens == raw["maxOutputTokens"]
    assert entry.input_per_1m == raw["pricing"]["inputPer1M"]
    assert entry.output_per_1m == raw["pricing"]["outputPer1M"]
    assert entry.currency == raw["pricing"]["currency"]
    assert set(entry.modalities) == set(raw["modalities"])


def test_blended_cost_per_1k_tokens() -> None:
    entry = CatalogEntry("x/y", input_per_1m=2.0, output_per_1m=10.0)
    # 0.75 * 2 + 0.25 * 10 = 4.0 per 1M tokens -> 0.004 per 1k
    assert entry.cost_per_1k_tokens() == pytest.approx(0.004)
    assert entry.cost_per_1k_tokens(input_share=1.0) == pytest.approx(0.002)
    assert entry.cost_per_1k_tokens(input_share=0.0) == pytest.approx(0.010)
    assert CatalogEntry("x/unpriced", context_window=8000).cost_per_1k_tokens() is None
    with pytest.raises(ValueError, match="input_share"):
        entry.cost_per_1k_tokens(input_share=1.5)


def test_estimate_cost() -> None:
    entry = CatalogEntry("x/y", input_per_1m=2.0, output_per_1m=10.0)
    # 1000 * 2 / 1e6 + 500 * 10 / 1e6 = 0.002 + 0.005
    assert entry.estimate_cost(1000, 500) == pytest.approx(0.007)
    assert entry.estimate_cost(0, 0) == 0
    assert CatalogEntry("x/unpriced").estimate_cost(10, 10) is None


def test_find_by_key_and_bare_id() -> None:
    catalog = _small()
    assert catalog.find("OpenAI/GPT-4o") is catalog.get("openai/gpt-4o")
    assert catalog.find("gpt-4o", provider_id="openai") is catalog.get("openai/gpt-4o")
    assert catalog.find("openai/gpt-4o", provider_id="openai") is catalog.get("openai/gpt-4o")
    found = catalog.find("SOLO-MODEL")
    assert found is not None
    assert found.model_key == "acme/solo-model"
    assert catalog.find("gpt-4o") is None  # offered by two providers: ambiguous
    assert catalog.find("missing") is None
    assert catalog.find("solo-model", provider_id="openai") is None


def test_find_bare_id_in_packaged_catalog() -> None:
    catalog = Catalog.load_default()
    unique = next(e for e in catalog if catalog.find(e.model_key.split("/", 1)[1]) is e)
    assert unique.model_key in catalog


def test_overrides_replace_and_insert() -> None:
    base = _small()
    catalog = base.with_overrides(
        {
            "OPENAI/gpt-4o": {"input_per_1m": 1, "context_window": 64000},
            "local/llama": {"context_window": 8192, "input_per_1m": 0, "output_per_1m": 0},
        }
    )
    replaced = catalog.get("openai/gpt-4o")
    assert replaced is not None
    assert replaced.model_key == "openai/gpt-4o"
    assert (replaced.input_per_1m, replaced.output_per_1m) == (1.0, 10.0)
    assert replaced.context_window == 64000
    inserted = catalog.get("local/llama")
    assert inserted == CatalogEntry("local/llama", 8192, None, 0.0, 0.0)
    assert inserted.estimate_cost(1000, 1000) == 0
    assert len(catalog) == len(base) + 1
    assert base.get("local/llama") is None
    original = base.get("openai/gpt-4o")
    assert original is not None
    assert original.input_per_1m == 2.5


@pytest.mark.parametrize(
    ("fields", "path", "fragment"),
    [
        ({"input_per_1m": -1}, "overrides.openai/gpt-4o.input_per_1m", "negative"),
        ({"output_per_1m": "cheap"}, "overrides.openai/gpt-4o.output_per_1m", "number"),
        ({"context_window": 1.5}, "overrides.openai/gpt-4o.context_window", "whole number"),
        ({"context_window": True}, "overrides.openai/gpt-4o.context_window", "whole number"),
        ({"price": 1}, "overrides.openai/gpt-4o.price", "unknown field"),
        ({"modalities": "text"}, "overrides.openai/gpt-4o.modalities", "list of strings"),
        ({"currency": ""}, "overrides.openai/gpt-4o.currency", "currency code"),
        (5, "overrides.openai/gpt-4o", "mapping"),
    ],
)
def test_bad_override_names_the_path(fields: object, path: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        _small().with_overrides({"openai/gpt-4o": fields})
    assert info.value.source == "catalog"
    assert info.value.path == path
    assert fragment in info.value.message


@needs_snapshot
def test_build_script_reproduces_packaged_file(tmp_path: Path) -> None:
    script = REPO_ROOT / "scripts" / "build_catalog.py"
    outputs = [tmp_path / "first.json", tmp_path / "second.json"]
    for out in outputs:
        subprocess.run(
            [sys.executable, str(script), str(SNAPSHOT), "--out", str(out)],
            check=True,
            capture_output=True,
        )
    first = outputs[0].read_bytes()
    assert first == outputs[1].read_bytes()
    assert first == PACKAGED.read_bytes()
