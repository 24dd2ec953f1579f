"""Packaging artifacts the router does not consume but which ship with the protocol schemas.

Owns `PlanSpec` with `PlanStep`, `PackageManifest`, and `ModelPackManifest` with `ModelPackEntry`,
mirroring ``planspec``, ``package-manifest`` and ``model-pack-manifest`` schemas, so that every
packaged schema has a model and `load_artifact` covers every `ArtifactKind`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from rolecall.protocol.base import ProtocolModel

__all__ = ["ModelPackEntry", "ModelPackManifest", "PackageManifest", "PlanSpec", "PlanStep"]


class PlanStep(ProtocolModel):
    """One step of a plan."""

    step_id: str
    description: str
    inputs: list[str] | None = None
    outputs: list[str] | None = None


class PlanSpec(ProtocolModel):
    """A versioned multi-step plan for a task type."""

    plan_id: str
    version: str
    task_type: str
    steps: Annotated[list[PlanStep], Field(min_length=1)]


class PackageManifest(ProtocolModel):
    """A distributable package: its kind, entry points and exported capabilities."""

    package_id: str
    version: str
    kind: str
    entrypoints: list[str]
    capability_exports: list[str] | None = None


class ModelPackEntry(ProtocolModel):
    """One model of a model pack and where its artifact lives."""

    model_id: str
    artifact_ref: str


class ModelPackManifest(ProtocolModel):
    """A versioned bundle of model artifacts."""

    pack_id: str
    version: str
    models: Annotated[list[ModelPackEntry], Field(min_length=1)]
