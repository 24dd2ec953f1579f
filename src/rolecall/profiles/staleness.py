"""When benchmark evidence stops describing an endpoint: membership revisions and re-benchmarking.

Owns `membership_revision` and `needs_rebenchmark` (docs/protocol.md §Judge and
benchmark evidence). The protocol leaves "material change" undefined; here it is any change to the
endpoint's identity fields (model, runtime, quantization, ``endpoint_version``, …) or to its role
bindings. Each benchmark sample records the revision it was graded under, and
`rolecall.profiles.aggregate` sets aside samples of any other revision as stale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Set
from typing import Any, Final

from rolecall.profiles.aggregate import ProfileAggregate, SamplePartition

__all__ = ["REVISION_LENGTH", "membership_revision", "needs_rebenchmark"]

REVISION_LENGTH: Final[int] = 16
"""Hex characters of the sha256 digest kept as the revision."""

_BINDING_FIELDS: Final[frozenset[str]] = frozenset(
    {"binding_id", "role_id", "endpoint_id", "status"}
)
_BINDING_PREFIX: Final[str] = "effective_"


def _json_default(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Set):
        return sorted(value, key=_canonical)
    raise TypeError(f"cannot fingerprint a value of type {type(value).__name__}: {value!r}")


def _canonical(value: object) -> str:
    """Canonical JSON: sorted keys, no whitespace, no NaN."""
    try:
        return json.dumps(
            value,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=_json_default,
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"membership fields are not JSON-serialisable: {exc}") from None


def _without_none(fields: Mapping[str, object]) -> dict[str, object]:
    """Unset optional fields (None) fingerprint the same as absent ones."""
    return {str(key): value for key, value in fields.items() if value is not None}


def _binding_projection(binding: Mapping[str, object]) -> dict[str, object]:
    """The membership-relevant fields of a binding; ``effective_*`` lists are sets, so sorted.

    ``policy_overrides`` and unknown keys are left out: they change how requests are routed, not
    what the endpoint was graded as.
    """
    kept: dict[str, Any] = {}
    for key, value in _without_none(binding).items():
        if key.startswith(_BINDING_PREFIX) and isinstance(value, list | tuple | Set):
            kept[key] = sorted(value, key=_canonical)
        elif key in _BINDING_FIELDS or key.startswith(_BINDING_PREFIX):
            kept[key] = value
    return kept


def membership_revision(
    endpoint_identity_fields: Mapping[str, object],
    role_bindings: Iterable[Mapping[str, object]],
) -> str:
    """A stable fingerprint of an endpoint's identity and its role bindings.

    The first `REVISION_LENGTH` hex characters of the sha256 of a canonical JSON document holding
    every non-None identity field passed and, sorted by ``binding_id``, each binding's
    ``binding_id``, ``role_id``, ``endpoint_id``, ``status`` and ``effective_*`` fields. Key order,
    binding order and the order within ``effective_*`` lists do not matter; any value change does.
    """
    bindings = [_binding_projection(b) for b in role_bindings]
    bindings.sort(key=lambda b: (str(b.get("binding_id", "")), _canonical(b)))
    document = {
        "endpoint": _without_none(endpoint_identity_fields),
        "role_bindings": bindings,
    }
    digest = hashlib.sha256(_canonical(document).encode("utf-8")).hexdigest()
    return digest[:REVISION_LENGTH]


def needs_rebenchmark(evidence: ProfileAggregate | SamplePartition | None) -> bool:
    """True when benchmark samples went stale and none of the current revision exists.

    Pass the `ProfileAggregate`; when `aggregate_profile` returned None (every sample was stale or
    foreign), pass the `SamplePartition` from `partition_samples` instead. None means no evidence at
    all: nothing went stale, so False (a never-benchmarked endpoint is a different condition).
    """
    if evidence is None:
        return False
    if isinstance(evidence, ProfileAggregate):
        fresh = evidence.profile.sources.benchmark_samples
    else:
        fresh = evidence.fresh_benchmark_samples
    return evidence.stale_samples > 0 and fresh == 0
