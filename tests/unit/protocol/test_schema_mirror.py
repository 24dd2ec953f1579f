"""The models and vocabularies mirror the canonical schemas exactly.

Compares each packaged schema with the JSON Schema pydantic derives from its model: property names
and order, required sets, closedness, enums, numeric and length bounds, nested objects and arrays.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, get_args

import jsonschema  # type: ignore[import-untyped]
import pytest

from rolecall.protocol import (
    ARTIFACT_KINDS,
    ARTIFACT_MODELS,
    EXCLUSION_CODES,
    KNOWN_ENDPOINT_KINDS,
    KNOWN_PROVIDER_KINDS,
    METRIC_SOURCES,
    SELECTION_REASONS,
    ArtifactKind,
    SampleSource,
    SpanStatus,
    SpanType,
    TraceEventType,
    schema_for,
)

# Enums the models deliberately leave open (plain str), with the tuple documenting known values.
OPEN_ENUMS = {
    ("endpoint-identity", "$.endpoint_kind"): KNOWN_ENDPOINT_KINDS,
    ("endpoint-identity", "$.provider_kind"): KNOWN_PROVIDER_KINDS,
}


def packaged_schema_names() -> list[str]:
    folder = resources.files("rolecall.protocol").joinpath("schemas")
    return sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".schema.json"))


def test_artifact_kinds_are_the_packaged_schema_files() -> None:
    stems = [name.removesuffix(".schema.json") for name in packaged_schema_names()]
    assert list(ARTIFACT_KINDS) == stems
    assert set(ARTIFACT_MODELS) == set(ARTIFACT_KINDS)


def test_packaged_schemas_equal_the_shared_canonical_ones(shared_protocol: Path) -> None:
    canonical = sorted(p.name for p in (shared_protocol / "schemas").glob("*.schema.json"))
    assert packaged_schema_names() == canonical
    for name in canonical:
        shared = json.loads((shared_protocol / "schemas" / name).read_text(encoding="utf-8"))
        assert schema_for(name.removesuffix(".schema.json")) == shared, name  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ARTIFACT_KINDS)
def test_packaged_schema_is_a_valid_draft_2020_12_schema(kind: ArtifactKind) -> None:
    jsonschema.Draft202012Validator.check_schema(schema_for(kind))


def enum_at(kind: ArtifactKind, *keys: str) -> tuple[str, ...]:
    node: Any = schema_for(kind)
    for key in keys:
        node = node[key]
    return tuple(node["enum"])


def test_exclusion_codes_equal_the_schema_enum() -> None:
    item = ("properties", "eligibility", "items", "properties", "exclusions", "items")
    assert enum_at("router-decision", *item, "properties", "code") == EXCLUSION_CODES
    assert len(EXCLUSION_CODES) == 24


def test_selection_reasons_equal_the_schema_enum() -> None:
    reasons = enum_at("router-decision", "properties", "selection_reasons", "items")
    assert reasons == SELECTION_REASONS
    assert len(SELECTION_REASONS) == 15


def test_metric_sources_equal_the_schema_enum() -> None:
    sources = enum_at("router-decision", "$defs", "metricEntry", "properties", "source")
    assert sources == METRIC_SOURCES == ("measured", "declared", "default")


def test_known_endpoint_and_provider_kinds_equal_the_schema_enums() -> None:
    assert enum_at("endpoint-identity", "properties", "endpoint_kind") == KNOWN_ENDPOINT_KINDS
    assert enum_at("endpoint-identity", "properties", "provider_kind") == KNOWN_PROVIDER_KINDS


def test_telemetry_aliases_equal_the_schema_enums() -> None:
    assert enum_at("trace-span", "properties", "span_type") == get_args(SpanType)
    assert enum_at("trace-span", "properties", "status") == get_args(SpanStatus)
    assert enum_at("trace-event", "properties", "event_type") == get_args(TraceEventType)
    assert enum_at("usage-event", "properties", "sample_source") == get_args(SampleSource)


# --- structural mirror -----------------------------------------------------------------------


def resolve_canonical(node: dict[str, Any], root: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    while "$ref" in node:
        ref = node["$ref"]
        if ref.startswith("#/"):
            target: Any = root
            for key in ref[2:].split("/"):
                target = target[key]
            node = target
        else:
            root = schema_for(ref.removeprefix("./").removesuffix(".schema.json"))
            node = root
    return node, root


def resolve_ours(node: dict[str, Any], root: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Follow ``$ref`` and unwrap ``X | None``; also return the set of JSON types allowed."""
    types: set[str] = set()
    branches = node.get("anyOf")
    if branches and {"type": "null"} in branches and len(branches) == 2:
        types.add("null")
        node = next(branch for branch in branches if branch != {"type": "null"})
    if "$ref" in node:
        node = root["$defs"][node["$ref"].removeprefix("#/$defs/")]
    if "type" in node:
        types.add(node["type"])
    return node, types


def type_set(node: dict[str, Any]) -> set[str]:
    if "anyOf" in node:
        return {t for branch in node["anyOf"] for t in type_set(branch)}
    declared = node.get("type", [])
    return set(declared) if isinstance(declared, list) else {declared}


def mirror(
    kind: str,
    path: str,
    canon: dict[str, Any],
    croot: dict[str, Any],
    ours: dict[str, Any],
    oroot: dict[str, Any],
    *,
    optional: bool = False,
) -> None:
    """Assert that our schema node matches the canonical one (``optional``: may be absent)."""
    canon, croot = resolve_canonical(canon, croot)
    ours, our_types = resolve_ours(ours, oroot)
    our_types = our_types or type_set(ours)
    if optional:  # an absent optional property is None in Python, so the model allows null
        our_types.discard("null")
    assert our_types == type_set(canon), f"{kind} {path}: type"
    if (kind, path) in OPEN_ENUMS:
        assert "enum" not in ours, f"{kind} {path}: should accept any string"
    else:
        assert ours.get("enum") == canon.get("enum"), f"{kind} {path}: enum"
    for bound in ("minimum", "maximum", "minItems"):
        assert ours.get(bound) == canon.get(bound), f"{kind} {path}: {bound}"
    if "properties" in canon:
        assert list(ours["properties"]) == list(canon["properties"]), f"{kind} {path}: properties"
        assert set(ours.get("required", [])) == set(canon["required"]), f"{kind} {path}: required"
        assert ours.get("additionalProperties") is False, f"{kind} {path}: closed"
        for name, sub in canon["properties"].items():
            optional = name not in canon["required"]
            node = ours["properties"][name]
            mirror(kind, f"{path}.{name}", sub, croot, node, oroot, optional=optional)
    elif "additionalProperties" in canon:
        extra = canon["additionalProperties"]
        if isinstance(extra, dict):
            mirror(kind, f"{path}.*", extra, croot, ours["additionalProperties"], oroot)
        else:
            assert ours.get("additionalProperties", True) is True, f"{kind} {path}: open object"
    if "items" in canon:
        mirror(kind, f"{path}[]", canon["items"], croot, ours["items"], oroot)


@pytest.mark.parametrize("kind", ARTIFACT_KINDS)
def test_model_mirrors_its_schema(kind: ArtifactKind) -> None:
    canonical = schema_for(kind)
    ours = ARTIFACT_MODELS[kind].model_json_schema()
    mirror(kind, "$", canonical, canonical, ours, ours)
