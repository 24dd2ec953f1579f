"""Discovery of what a server serves: OpenAI-compatible ``/v1/models``, Ollama ``/api/tags``.

llama.cpp's server and vLLM answer ``/v1/models`` like OpenAI. The result can be appended to the
inventory file as a provider and its endpoints.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from rolecall.errors import ConfigError
from rolecall.inventory.config import ProviderKind, load_inventory_file, parse_inventory
from rolecall.inventory.inventory import is_loopback


@dataclass(frozen=True, slots=True)
class Discovered:
    base_url: str  # the OpenAI-compatible base (ending in /v1)
    kind: ProviderKind
    models: tuple[str, ...]


def _get_json(url: str, timeout: float) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def discover(url: str, timeout: float = 5.0) -> Discovered:
    """Ask a server what it serves; raises `ConfigError` naming the URL when nothing answers."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError("discover", url, "expected an http(s) URL such as http://127.0.0.1:8080")
    root = f"{parsed.scheme}://{parsed.netloc}"
    base = url.rstrip("/") if url.rstrip("/").endswith("/v1") else root + "/v1"
    errors = []
    try:
        data = _get_json(base + "/models", timeout)
        models = tuple(sorted(m["id"] for m in data.get("data", []) if isinstance(m, dict)))
        kind: ProviderKind = (
            "llamacpp" if "llama" in json.dumps(data).lower() else "openai_compatible"
        )
        return Discovered(base, kind, models)
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        errors.append(f"{base}/models: {exc}")
    try:
        data = _get_json(root + "/api/tags", timeout)
        models = tuple(sorted(m["name"] for m in data.get("models", [])))
        return Discovered(root + "/v1", "ollama", models)
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        errors.append(f"{root}/api/tags: {exc}")
    raise ConfigError(
        "discover",
        url,
        "no OpenAI-compatible or Ollama server answered (" + "; ".join(errors) + ")",
    )


def add_to_inventory(path: Path, provider_name: str, found: Discovered) -> int:
    """Append the provider and its models to the inventory file; returns how many were added."""
    config = load_inventory_file(path)
    data = yaml.safe_load(path.read_text()) if path.exists() else {}
    data = data or {}
    providers = data.setdefault("providers", {})
    if provider_name in providers and providers[provider_name].get("base_url") != found.base_url:
        raise ConfigError(
            str(path),
            f"providers.{provider_name}",
            "already exists with another base_url; choose another --provider name",
        )
    providers[provider_name] = {
        "kind": found.kind,
        "base_url": found.base_url,
        "local": is_loopback(found.base_url),
    }
    existing = {(e.provider, e.model) for e in config.endpoints}
    endpoints = data.setdefault("endpoints", [])
    added = 0
    for model in found.models:
        if (provider_name, model) not in existing:
            endpoints.append({"provider": provider_name, "model": model})
            added += 1
    parse_inventory(data, str(path))  # never write a file that would not load
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return added
