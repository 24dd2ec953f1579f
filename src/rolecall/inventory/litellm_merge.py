"""An imported LiteLLM config added to an existing ``rolecall.yaml``, and the check of the result.

Pure: both documents are parsed YAML. The existing file wins: its providers, endpoints and aliases
are kept as written; an imported one whose name is taken by something different is renamed
(``openai-2``), and the references to it follow; an identical one is not added twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from rolecall.errors import ConfigError
from rolecall.inventory.config import InventoryConfig, parse_inventory
from rolecall.inventory.litellm import ImportNote, unique_name

__all__ = ["check_imported", "merge_imported"]

_REFERENCE: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
# stands for every variable the document refers to while checking it: a URL, so a base_url made
# of one reference still reads as one
_PLACEHOLDER: Final = "http://variable.invalid"


def merge_imported(
    existing: Mapping[str, Any], imported: Mapping[str, Any]
) -> tuple[dict[str, Any], tuple[ImportNote, ...]]:
    """``existing`` with the imported providers, endpoints and aliases added."""
    merged = dict(existing)
    notes: list[ImportNote] = []
    providers = dict(existing.get("providers") or {})
    renamed_providers: dict[str, str] = {}
    for name, config in imported.get("providers", {}).items():
        same = next((n for n, c in providers.items() if c == config), None)
        if same is None:
            same = unique_name(name, providers)
            providers[same] = config
        renamed_providers[name] = same
    endpoints = list(existing.get("endpoints") or [])
    renamed_endpoints: dict[str, str] = {}
    for endpoint in imported.get("endpoints", []):
        old_provider, old_id = endpoint["provider"], endpoint["id"]
        provider = renamed_providers[old_provider]
        endpoint = {**endpoint, "provider": provider}
        same = next((_id(e) for e in endpoints if _body(e) == _body(endpoint)), None)
        if same is None:
            # an id named after its provider follows the provider's new name
            base = (
                provider + old_id.removeprefix(old_provider) if old_provider != provider else old_id
            )
            same = unique_name(base, {_id(e) for e in endpoints})
            endpoints.append({**endpoint, "id": same})
        renamed_endpoints[old_id] = same
    aliases = dict(existing.get("aliases") or {})
    for name, alias in imported.get("aliases", {}).items():
        if name in aliases:
            notes.append(ImportNote(f"aliases.{name}", "kept the alias the existing file has"))
            continue
        aliases[name] = {**alias, "endpoints": [renamed_endpoints[e] for e in alias["endpoints"]]}
    merged.update(providers=providers, endpoints=endpoints, aliases=aliases)
    return merged, tuple(notes)


def check_imported(data: Mapping[str, Any], source: str) -> None:
    """Validate the document as ``rolecall.yaml`` would be read (every ``${VAR}`` standing for a
    set variable); `ConfigError` names the key. ``aliases`` are checked only once the inventory
    file knows them (the alias parser lands separately)."""
    document = dict(data)
    if "aliases" not in InventoryConfig.model_fields:
        document.pop("aliases", None)
    names = set(_REFERENCE.findall(repr(document)))
    parse_inventory(document, source, environ=dict.fromkeys(names, _PLACEHOLDER))
    _check_alias_targets(data, source)


def _check_alias_targets(data: Mapping[str, Any], source: str) -> None:
    known = {_id(e) for e in data.get("endpoints") or []}
    for name, alias in (data.get("aliases") or {}).items():
        targets = alias.get("endpoints", []) if isinstance(alias, Mapping) else []
        for i, endpoint_id in enumerate(targets):
            if endpoint_id not in known:
                raise ConfigError(
                    source, f"aliases.{name}.endpoints[{i}]", f"unknown endpoint {endpoint_id!r}"
                )


def _id(endpoint: Mapping[str, Any]) -> str:
    return str(endpoint.get("id") or f"{endpoint.get('provider')}.{endpoint.get('model')}")


def _body(endpoint: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in endpoint.items() if k != "id"}
