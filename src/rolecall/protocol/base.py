"""The shared base of every role-model protocol model.

Owns `ProtocolModel` (strict, frozen, no unknown keys, JSON rendering via `to_artifact`) and
`NullPreservingModel`, the variant for artifacts whose schema has *required but nullable* fields
(``"type": ["string", "null"]`` listed in ``required``): those must be written as ``null``, not
dropped, when the rest of the artifact is dumped with ``exclude_none=True``.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Mapping
from typing import Any, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

__all__ = ["NullPreservingModel", "ProtocolModel", "required_nullable_fields"]


class ProtocolModel(BaseModel):
    """Base of every protocol artifact model.

    Strict like JSON Schema (``"1"`` is not a number, ``true`` is not an integer), frozen, and
    closed (``additionalProperties: false``). Optional schema properties are ``X | None = None`` and
    are left out of `to_artifact`.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        protected_namespaces=(),
    )

    def to_artifact(self) -> dict[str, Any]:
        """The artifact as a JSON-ready dict (absent optional properties left out)."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


def _allows_none(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        return type(None) in get_args(annotation)
    return annotation is None or annotation is type(None)


@functools.cache
def required_nullable_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """Fields of ``model`` that are required yet accept ``None`` (in declaration order)."""
    return tuple(
        name
        for name, field in model.model_fields.items()
        if field.is_required() and _allows_none(field.annotation)
    )


def _excluded(name: str, info: SerializationInfo) -> bool:
    """Whether the caller's ``include`` / ``exclude`` leaves field ``name`` out."""
    include, exclude = info.include, info.exclude
    if include is not None and name not in include:
        return True
    if isinstance(exclude, Mapping):
        flag: object = exclude.get(name)
        return flag is True or flag is Ellipsis
    return exclude is not None and name in exclude


class NullPreservingModel(ProtocolModel):
    """A `ProtocolModel` that keeps required-nullable fields as ``null`` under ``exclude_none``.

    Without this, ``model_dump(exclude_none=True)`` (and so `to_artifact`) would drop them and
    produce an artifact that fails its own schema (``'org_id' is a required property``).
    """

    @model_serializer(mode="wrap")
    def _keep_required_nulls(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not info.exclude_none:
            return data
        keep = {
            name
            for name in required_nullable_fields(type(self))
            if name not in data and getattr(self, name) is None and not _excluded(name, info)
        }
        if not keep:
            return data
        # Rebuild in declaration order so each null sits where its field is declared.
        return {
            name: data.get(name) for name in type(self).model_fields if name in data or name in keep
        }
