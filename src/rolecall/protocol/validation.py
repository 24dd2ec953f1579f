"""Validation of artifacts against the packaged role-model JSON Schemas, and typed loading.

Owns the `ArtifactKind` vocabulary (one per file in ``schemas/``), schema loading (lazily, through
importlib.resources, cached), `validate_artifact` (the JSON Schema conformance gate for everything
rolecall emits) and `load_artifact` / `load_model` (JSON object → pydantic model). All of them raise
`ProtocolValidationError` whose ``path`` is the JSON path of the offending value, such as
``$.eligibility[0].exclusions[0].code`` or ``$.app_id`` for a missing property, and whose message
says what was expected there.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Final, Literal, TypeVar, get_args, overload

import jsonschema  # type: ignore[import-untyped]  # no types-jsonschema in the dev extras
import pydantic
from pydantic_core import ErrorDetails
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from rolecall.errors import ProtocolValidationError
from rolecall.protocol.base import ProtocolModel
from rolecall.protocol.benchmark import BenchmarkRun, BenchmarkSuite, JudgeScore
from rolecall.protocol.decision import RouterDecision
from rolecall.protocol.endpoint import (
    DeclaredCapabilityProfile,
    EndpointIdentity,
    ObservedPerformanceProfile,
)
from rolecall.protocol.manifests import ModelPackManifest, PackageManifest, PlanSpec
from rolecall.protocol.policy import RoutingPolicy
from rolecall.protocol.roles import (
    CapabilityTaxonomy,
    RoleBinding,
    RoleDefinition,
    TaskDefinition,
    TaskExecutionProfile,
)
from rolecall.protocol.telemetry import TraceEvent, TraceSpan, UsageEvent

__all__ = [
    "ARTIFACT_KINDS",
    "ARTIFACT_MODELS",
    "ArtifactKind",
    "json_path",
    "load_artifact",
    "load_model",
    "schema_for",
    "validate_artifact",
]

ArtifactKind = Literal[
    "benchmark-run",
    "benchmark-suite",
    "capability-taxonomy",
    "declared-capability-profile",
    "endpoint-identity",
    "judge-score",
    "model-pack-manifest",
    "observed-performance-profile",
    "package-manifest",
    "planspec",
    "role-binding",
    "role-definition",
    "router-decision",
    "routing-policy",
    "task-definition",
    "task-execution-profile",
    "trace-event",
    "trace-span",
    "usage-event",
]
"""An artifact kind: the stem of its schema file (``schemas/<kind>.schema.json``)."""

ARTIFACT_KINDS: Final[tuple[ArtifactKind, ...]] = get_args(ArtifactKind)

ARTIFACT_MODELS: Final[Mapping[ArtifactKind, type[ProtocolModel]]] = MappingProxyType(
    {
        "benchmark-run": BenchmarkRun,
        "benchmark-suite": BenchmarkSuite,
        "capability-taxonomy": CapabilityTaxonomy,
        "declared-capability-profile": DeclaredCapabilityProfile,
        "endpoint-identity": EndpointIdentity,
        "judge-score": JudgeScore,
        "model-pack-manifest": ModelPackManifest,
        "observed-performance-profile": ObservedPerformanceProfile,
        "package-manifest": PackageManifest,
        "planspec": PlanSpec,
        "role-binding": RoleBinding,
        "role-definition": RoleDefinition,
        "router-decision": RouterDecision,
        "routing-policy": RoutingPolicy,
        "task-definition": TaskDefinition,
        "task-execution-profile": TaskExecutionProfile,
        "trace-event": TraceEvent,
        "trace-span": TraceSpan,
        "usage-event": UsageEvent,
    }
)
"""The pydantic model of every artifact kind."""

_SCHEMA_SUFFIX: Final = ".schema.json"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_M = TypeVar("_M", bound=pydantic.BaseModel)


# --- paths ---------------------------------------------------------------------------------------


def json_path(parts: Iterable[str | int]) -> str:
    """Render path segments as a JSON path: ``$``, ``$.a.b[0]``, ``$.attributes['x.y']``."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            out.append(f".{part}")
        else:
            escaped = part.replace("\\", "\\\\").replace("'", "\\'")
            out.append(f"['{escaped}']")
    return "".join(out)


def _unknown_kind(kind: str) -> ProtocolValidationError:
    return ProtocolValidationError(
        kind, "$", f"unknown artifact kind {kind!r}; expected one of {list(ARTIFACT_KINDS)}"
    )


# --- schemas -------------------------------------------------------------------------------------


@cache
def _packaged_schemas() -> Mapping[str, Mapping[str, Any]]:
    """Every ``schemas/*.schema.json`` file, by file name (loaded on first use, then kept)."""
    folder = resources.files("rolecall.protocol").joinpath("schemas")
    found: dict[str, Mapping[str, Any]] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(_SCHEMA_SUFFIX):
            found[entry.name] = json.loads(entry.read_text(encoding="utf-8"))
    return MappingProxyType(found)


def _schema(kind: str) -> Mapping[str, Any]:
    schema = _packaged_schemas().get(f"{kind}{_SCHEMA_SUFFIX}")
    if kind not in ARTIFACT_KINDS or schema is None:
        raise _unknown_kind(kind)
    return schema


def schema_for(kind: ArtifactKind) -> dict[str, Any]:
    """A copy of the canonical JSON Schema of ``kind``."""
    return copy.deepcopy(dict(_schema(kind)))


@cache
def _registry() -> Registry[Any]:
    """All packaged schemas, under their ``$id`` so relative ``$ref`` between them resolve."""
    pairs = [
        (str(schema.get("$id", name)), Resource.from_contents(schema, DRAFT202012))
        for name, schema in _packaged_schemas().items()
    ]
    return Registry().with_resources(pairs)


@cache
def _validator(kind: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(_schema(kind), registry=_registry())


def _required_property(error: jsonschema.exceptions.ValidationError) -> str | None:
    """The property a ``required`` error is about (one error is raised per missing property)."""
    if not isinstance(error.instance, Mapping) or not isinstance(error.validator_value, list):
        return None
    for name in error.validator_value:
        if (
            isinstance(name, str)
            and name not in error.instance
            and error.message.startswith(repr(name))
        ):
            return name
    return None


def _unexpected_property(error: jsonschema.exceptions.ValidationError) -> str | None:
    """The first property an ``additionalProperties: false`` error is about."""
    if not isinstance(error.instance, Mapping) or error.schema.get("patternProperties"):
        return None
    declared = error.schema.get("properties", {})
    return next((str(key) for key in error.instance if key not in declared), None)


def _schema_error_location(error: jsonschema.exceptions.ValidationError) -> str:
    parts: list[str | int] = list(error.absolute_path)
    named = None
    if error.validator == "required":
        named = _required_property(error)
    elif error.validator == "additionalProperties" and error.validator_value is False:
        named = _unexpected_property(error)
    if named is not None:
        parts.append(named)
    return json_path(parts)


def _as_json(data: object) -> object:
    if isinstance(data, pydantic.BaseModel):
        return data.model_dump(mode="json", exclude_none=True)
    if isinstance(data, Mapping) and not isinstance(data, dict):
        return dict(data)
    return data


def validate_artifact(kind: ArtifactKind, data: object) -> None:
    """Check ``data`` against the schema of ``kind``; raise `ProtocolValidationError` if it fails.

    ``data`` is a JSON-like mapping, or a pydantic model (dumped with ``mode="json"`` and
    ``exclude_none=True``; required-nullable fields such as ``org_id`` are kept as ``null``). The
    error reported is jsonschema's ``best_match``; a missing or unexpected property is named in the
    path (``$.app_id``).
    """
    error = jsonschema.exceptions.best_match(_validator(kind).iter_errors(_as_json(data)))
    if error is not None:
        raise ProtocolValidationError(kind, _schema_error_location(error), error.message)


# --- pydantic ------------------------------------------------------------------------------------


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _pydantic_message(detail: ErrorDetails) -> str:
    loc = detail["loc"]
    name = next((part for part in reversed(loc) if isinstance(part, str)), None)
    kind = detail["type"]
    if kind == "missing" and name is not None:
        return f"{name!r} is a required property"
    if kind == "extra_forbidden" and name is not None:
        return f"unexpected property {name!r}: additional properties are not allowed"
    msg = detail["msg"]
    subject = f"{name!r}: " if name is not None else ""
    return f"{subject}{msg} (got {_describe(detail.get('input'))})"


_OBJECT_LEVEL_ERRORS: Final = frozenset({"missing", "extra_forbidden"})


def _depth(detail: ErrorDetails) -> int:
    """Depth of the value at fault; a missing or unexpected key is a fault of its object."""
    depth = len(detail["loc"])
    return depth - 1 if detail["type"] in _OBJECT_LEVEL_ERRORS else depth


def _to_protocol_error(artifact: str, exc: pydantic.ValidationError) -> ProtocolValidationError:
    details = exc.errors(include_url=False)
    # As jsonschema's best_match does: the shallowest error is the most telling (first on ties).
    best = min(details, key=_depth)
    return ProtocolValidationError(artifact, json_path(best["loc"]), _pydantic_message(best))


def load_model(model: type[_M], data: object, *, artifact: str | None = None) -> _M:
    """Validate ``data`` into ``model``, reporting failures as `ProtocolValidationError`.

    ``artifact`` names the artifact in the error (defaults to the model's class name).
    """
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise _to_protocol_error(artifact or model.__name__, exc) from None


@overload
def load_artifact(kind: Literal["benchmark-run"], data: object) -> BenchmarkRun: ...
@overload
def load_artifact(kind: Literal["benchmark-suite"], data: object) -> BenchmarkSuite: ...
@overload
def load_artifact(kind: Literal["capability-taxonomy"], data: object) -> CapabilityTaxonomy: ...
@overload
def load_artifact(
    kind: Literal["declared-capability-profile"], data: object
) -> DeclaredCapabilityProfile: ...
@overload
def load_artifact(kind: Literal["endpoint-identity"], data: object) -> EndpointIdentity: ...
@overload
def load_artifact(kind: Literal["judge-score"], data: object) -> JudgeScore: ...
@overload
def load_artifact(kind: Literal["model-pack-manifest"], data: object) -> ModelPackManifest: ...
@overload
def load_artifact(
    kind: Literal["observed-performance-profile"], data: object
) -> ObservedPerformanceProfile: ...
@overload
def load_artifact(kind: Literal["package-manifest"], data: object) -> PackageManifest: ...
@overload
def load_artifact(kind: Literal["planspec"], data: object) -> PlanSpec: ...
@overload
def load_artifact(kind: Literal["role-binding"], data: object) -> RoleBinding: ...
@overload
def load_artifact(kind: Literal["role-definition"], data: object) -> RoleDefinition: ...
@overload
def load_artifact(kind: Literal["router-decision"], data: object) -> RouterDecision: ...
@overload
def load_artifact(kind: Literal["routing-policy"], data: object) -> RoutingPolicy: ...
@overload
def load_artifact(kind: Literal["task-definition"], data: object) -> TaskDefinition: ...
@overload
def load_artifact(
    kind: Literal["task-execution-profile"], data: object
) -> TaskExecutionProfile: ...
@overload
def load_artifact(kind: Literal["trace-event"], data: object) -> TraceEvent: ...
@overload
def load_artifact(kind: Literal["trace-span"], data: object) -> TraceSpan: ...
@overload
def load_artifact(kind: Literal["usage-event"], data: object) -> UsageEvent: ...
@overload
def load_artifact(kind: ArtifactKind, data: object) -> ProtocolModel: ...


def load_artifact(kind: ArtifactKind, data: object) -> ProtocolModel:
    """Parse a JSON-like object into the pydantic model of ``kind``.

    Pydantic's errors become `ProtocolValidationError` with the same ``$.a.b[0]`` paths as
    `validate_artifact` (a missing field is ``$.<field>``: ``'<field>' is a required property``).
    This accepts ``endpoint_kind`` / ``provider_kind`` values outside the schema enums; use
    `validate_artifact` for full schema conformance.
    """
    model = ARTIFACT_MODELS.get(kind)
    if model is None:
        raise _unknown_kind(kind)
    return load_model(model, data, artifact=kind)
