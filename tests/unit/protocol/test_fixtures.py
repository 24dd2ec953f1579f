"""The shared golden fixtures: valid ones load, validate and round-trip; invalid ones are rejected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rolecall.errors import ProtocolValidationError
from rolecall.protocol import (
    ARTIFACT_KINDS,
    ARTIFACT_MODELS,
    ArtifactKind,
    load_artifact,
    validate_artifact,
)

# Fixture names that do not start with their artifact kind.
NAME_ALIASES: dict[str, ArtifactKind] = {"observed-performance": "observed-performance-profile"}

# What is wrong with each invalid fixture: the JSON path both validators must report.
INVALID_EXPECTED_PATH = {
    "observed-performance-invalid-missing-endpoint-version.json": "$.endpoint_version",
    "role-binding-invalid-status.json": "$.status",
    "router-decision-invalid-missing-app-id.json": "$.app_id",
    "trace-event-invalid-missing-request-id.json": "$.request_id",
    "usage-event-invalid-missing-routing-decision.json": "$.routing_decision_id",
}


def kind_of(path: Path) -> ArtifactKind:
    """The artifact kind a fixture file holds, from its name (longest matching prefix)."""
    stem = path.stem.removeprefix("example-")
    candidates: list[tuple[str, ArtifactKind]] = [(kind, kind) for kind in ARTIFACT_KINDS]
    candidates += list(NAME_ALIASES.items())
    matches = [
        (prefix, kind)
        for prefix, kind in candidates
        if stem == prefix or stem.startswith(f"{prefix}-")
    ]
    assert matches, f"cannot tell the artifact kind of fixture {path.name}"
    return max(matches, key=lambda match: len(match[0]))[1]


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_kind_of_maps_prefixes() -> None:
    assert kind_of(Path("observed-performance-basic.json")) == "observed-performance-profile"
    assert kind_of(Path("example-endpoint-identity.json")) == "endpoint-identity"
    assert kind_of(Path("task-execution-profile-basic.json")) == "task-execution-profile"
    assert kind_of(Path("role-binding-invalid-status.json")) == "role-binding"


def test_valid_fixture_conforms_to_schema(golden_artifact: Path) -> None:
    validate_artifact(kind_of(golden_artifact), read(golden_artifact))


def test_valid_fixture_loads_and_round_trips(golden_artifact: Path) -> None:
    kind = kind_of(golden_artifact)
    data = read(golden_artifact)

    model = load_artifact(kind, data)

    assert isinstance(model, ARTIFACT_MODELS[kind])
    artifact = model.to_artifact()
    validate_artifact(kind, artifact)
    validate_artifact(kind, model)
    assert artifact == data


def test_invalid_fixture_has_a_known_fault(golden_invalid: Path) -> None:
    assert golden_invalid.name in INVALID_EXPECTED_PATH, (
        f"new invalid fixture {golden_invalid.name}: add what is wrong with it to "
        "INVALID_EXPECTED_PATH"
    )


def test_invalid_fixture_is_rejected_by_schema(golden_invalid: Path) -> None:
    kind = kind_of(golden_invalid)
    with pytest.raises(ProtocolValidationError) as caught:
        validate_artifact(kind, read(golden_invalid))

    assert caught.value.artifact == kind
    expected = INVALID_EXPECTED_PATH.get(golden_invalid.name)
    if expected is not None:
        assert caught.value.path == expected
        assert expected.removeprefix("$.") in str(caught.value)


def test_invalid_fixture_is_rejected_by_model(golden_invalid: Path) -> None:
    kind = kind_of(golden_invalid)
    with pytest.raises(ProtocolValidationError) as caught:
        load_artifact(kind, read(golden_invalid))

    assert caught.value.artifact == kind
    expected = INVALID_EXPECTED_PATH.get(golden_invalid.name)
    if expected is not None:
        assert caught.value.path == expected
        assert expected.removeprefix("$.") in str(caught.value)


def test_missing_property_messages_match_between_validators(shared_protocol: Path) -> None:
    path = shared_protocol / "fixtures/router-golden/router-decision-invalid-missing-app-id.json"
    data = read(path)
    errors = []
    for check in (validate_artifact, load_artifact):
        with pytest.raises(ProtocolValidationError) as caught:
            check("router-decision", data)
        errors.append(caught.value)

    assert {(e.path, e.message) for e in errors} == {
        ("$.app_id", "'app_id' is a required property")
    }


def test_router_case_inputs_load_as_artifacts(shared_protocol: Path) -> None:
    """Router cases embed identities with kinds outside the schema enums; the models take them."""
    cases = sorted((shared_protocol / "fixtures/router-golden/cases").glob("*.json"))
    assert cases
    off_enum = set()
    for case in cases:
        data = read(case)["input"]
        for candidate in data["candidates"]:
            identity = load_artifact("endpoint-identity", candidate["identity"])
            load_artifact("declared-capability-profile", candidate["declared"])
            off_enum.add(identity.provider_kind)
        for role in data.get("roleDefinitions", []):
            load_artifact("role-definition", role)
        for task in data.get("taskDefinitions", []):
            load_artifact("task-definition", task)
        for binding in data.get("roleBindings", []):
            load_artifact("role-binding", binding)

    assert "provider-mcp" in off_enum
