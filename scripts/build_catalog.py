"""Build the packaged model catalog from the models.dev snapshot.

Reads the normalized models.dev snapshot (default ``../shared/data/catalog/models-dev-snapshot.json``
beside the repository) and writes ``src/rolecall/inventory/data/catalog.json``: one compact entry per
model, keyed ``<providerId>/<modelId>``, with prices, context window, output limit, modalities and
capabilities. Empty or null fields are left out. The output is deterministic: sorted keys, compact
separators, so running the script twice gives identical bytes.

Usage: ``python scripts/build_catalog.py [SNAPSHOT] [--out PATH]``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SNAPSHOT = REPO_ROOT.parent / "shared" / "data" / "catalog" / "models-dev-snapshot.json"
DEFAULT_OUT = REPO_ROOT / "src" / "rolecall" / "inventory" / "data" / "catalog.json"
LICENSE_NOTE = (
    "Derived from the models.dev catalog (MIT License, https://models.dev) via the normalized "
    "snapshot in github.com/try-works/role-model testdata/catalog (Apache-2.0)."
)


def model_key(model: dict[str, Any]) -> str:
    """``<providerId>/<modelId>``; models.dev ids usually carry the provider prefix already."""
    provider, model_id = model["providerId"], model["modelId"]
    return model_id if model_id.startswith(provider + "/") else f"{provider}/{model_id}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _int(value: Any) -> int | None:
    """A positive token count; models.dev writes 0 for "not applicable", which becomes unknown."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return value if ok else None


def compact_entry(model: dict[str, Any]) -> dict[str, Any] | None:
    """The compact entry for one snapshot model, or None when it has neither price nor context."""
    pricing = model.get("pricing") if isinstance(model.get("pricing"), dict) else {}
    entry: dict[str, Any] = {
        "context_window": _int(model.get("contextWindow")),
        "max_output_tokens": _int(model.get("maxOutputTokens")),
        "input_per_1m": _number(pricing.get("inputPer1M")),
        "output_per_1m": _number(pricing.get("outputPer1M")),
        "currency": pricing.get("currency") if isinstance(pricing.get("currency"), str) else None,
        "modalities": sorted({str(m) for m in model.get("modalities") or []}),
        "capabilities": sorted({str(c) for c in model.get("capabilities") or []}),
    }
    has_price = entry["input_per_1m"] is not None or entry["output_per_1m"] is not None
    if not has_price and entry["context_window"] is None:
        return None
    return {k: v for k, v in entry.items() if v is not None and v != []}


def build(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The catalog document for a parsed snapshot."""
    models: dict[str, dict[str, Any]] = {}
    canonical: dict[str, bool] = {}
    for model in snapshot["models"]:
        entry = compact_entry(model)
        if entry is None:
            continue
        key = model_key(model)
        # On a key collision the entry whose modelId already is the full key (models.dev's own
        # spelling) wins, whatever the order in the snapshot.
        is_canonical = model["modelId"] == key
        if key in models and (canonical[key] or not is_canonical):
            continue
        models[key] = entry
        canonical[key] = is_canonical
    source = dict(snapshot.get("source") or {})
    source["license"] = LICENSE_NOTE
    return {"source": source, "models": models}


def render(document: dict[str, Any]) -> bytes:
    """Deterministic bytes: sorted keys, compact separators, trailing newline."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshot", nargs="?", type=Path, default=DEFAULT_SNAPSHOT)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    snapshot = json.loads(args.snapshot.read_text(encoding="utf-8"))
    document = build(snapshot)
    data = render(document)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(
        f"wrote {args.out} ({len(document['models'])} models, {len(data)} bytes)", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
