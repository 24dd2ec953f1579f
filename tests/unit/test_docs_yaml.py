"""Docs are tested: every YAML example in README.md and docs/*.md parses, and every inventory
example (a ``rolecall.yaml`` or a section of one) validates as rolecall would read it, with the
variables it refers to set as the docs tell the reader to.

An example is a fenced ``yaml`` block, or a here-document (``<<'YAML'``) inside a shell block:
the first file a new user copies must load.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from rolecall.inventory.config import InventoryConfig, parse_inventory
from rolecall.inventory.load import check_provider_keys, configured_inventory
from rolecall.limits.spec import parse_limits_section

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
HEREDOC = re.compile(r"<<'?YAML'?\n(.*?)^YAML$", re.MULTILINE | re.DOTALL)
# a reference without a default: the docs tell the reader to export it
REQUIRED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _examples() -> list[tuple[str, str]]:
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text()
        for number, match in enumerate(FENCE.finditer(text), 1):
            language, body = match.groups()
            where = f"{path.relative_to(ROOT)} block {number}"
            if language == "yaml":
                found.append((where, body))
            elif language in ("sh", "bash", "console"):
                found += [(f"{where} here-document", doc) for doc in HEREDOC.findall(body)]
    return found


EXAMPLES = _examples()


def test_the_examples_are_found() -> None:
    where = [w for w, _ in EXAMPLES]
    assert any(w.startswith("README.md") and "here-document" in w for w in where), where
    assert sum(w.startswith("README.md") for w in where) >= 2, where
    assert any(w.startswith("docs/configuration.md") for w in where), where


@pytest.mark.parametrize(("where", "body"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_every_yaml_example_parses_and_inventories_validate(where: str, body: str) -> None:
    try:
        data = yaml.safe_load(body)
    except yaml.YAMLError as exc:
        pytest.fail(f"{where} is not valid YAML: {exc}")
    if not (isinstance(data, dict) and set(data) <= set(InventoryConfig.model_fields)):
        return  # not an inventory: parsing is all there is to check
    environ = {name: f"set-{name.lower()}" for name in REQUIRED.findall(body)}
    config = parse_inventory(data, where, environ)
    assert config.unset_variables == (), where
    inventory = configured_inventory(config)
    check_provider_keys(config, inventory, where)  # every key the example refers to is set
    parse_limits_section(config.limits, where)
    assert len(inventory.endpoints) == len(config.endpoints)
