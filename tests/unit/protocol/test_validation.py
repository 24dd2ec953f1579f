"""Hand-made artifacts: errors name the JSON path, models dump schema-valid artifacts."""

from __future__ import annotations

import subprocess
import sys
from types import MappingProxyType
from typing import Any

import pydantic
import pytest

import rolecall.protocol as protocol
from rolecall.errors import ProtocolValidationError
from rolecall.protocol import (
    ArtifactKind,
    EndpointIdentity,
    NullPreservingModel,
    ProtocolModel,
    RouterDecision,
    json_path,
    load_artifact,
    load_model,
    schema_for,
    validate_artifact,
)
from rolecall.protocol.base import required_nullable_fields

from .artifacts import decision, declared, identity, observed, policy, span, with_change


def reject_both(kind: ArtifactKind, data: Any) -> tuple[ProtocolValidationError, ...]:
    """Both validators reject ``data`` at the same path; return both errors."""
    errors = []
    for check in (validate_artifact, load_artifact):
        with pytest.raises(ProtocolValidationError) as caught:
            check(kind, data)
        errors.append(caught.value)
    schema_error, model_error = errors
    assert schema_error.path == model_error.path
    return schema_error, model_error


# --- the hand-made artifacts are valid to start with ------------------------------------------


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("router-decision", decision()),
        ("routing-policy", policy()),
        ("endpoint-identity", identity()),
        ("observed-performance-profile", observed()),
        ("declared-capability-profile", declared()),
        ("trace-span", span(attributes={"a": "x", "b": 1, "c": 1.5, "d": True})),
    ],
)
def test_hand_made_artifacts_are_valid(kind: ArtifactKind, data: dict[str, Any]) -> None:
    validate_artifact(kind, data)
    model = load_artifact(kind, data)
    assert model.to_artifact() == data


# --- errors name the path ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "data", "path", "schema_says", "model_says"),
    [
        pytest.param(
            "declared-capability-profile",
            declared(max_context_tokens="lots"),
            "$.max_context_tokens",
            "'lots' is not of type 'integer'",
            "valid integer",
            id="wrong-type",
        ),
        pytest.param(
            "observed-performance-profile",
            observed(failure_rate=1.5),
            "$.failure_rate",
            "1.5 is greater than the maximum of 1",
            "less than or equal to 1",
            id="failure-rate-out-of-range",
        ),
        pytest.param(
            "endpoint-identity",
            identity(colour="blue"),
            "$.colour",
            "Additional properties are not allowed ('colour' was unexpected)",
            "unexpected property 'colour'",
            id="unknown-key",
        ),
        pytest.param(
            "router-decision",
            with_change(decision(), ("eligibility", 1, "exclusions", 0, "code"), "FOO"),
            "$.eligibility[1].exclusions[0].code",
            "'FOO' is not one of ['CAPABILITY_MISSING'",
            "Input should be 'CAPABILITY_MISSING'",
            id="nested-enum",
        ),
        pytest.param(
            "router-decision",
            with_change(
                decision(),
                ("scored_candidates", 0, "metric_breakdown", "latency", "value"),
                1.25,
            ),
            "$.scored_candidates[0].metric_breakdown.latency.value",
            "1.25 is greater than the maximum of 1",
            "less than or equal to 1",
            id="metric-value-out-of-range",
        ),
        pytest.param(
            "router-decision",
            with_change(decision(), ("policy_snapshot", "budget", "enabled"), "yes"),
            "$.policy_snapshot.budget.enabled",
            "'yes' is not of type 'boolean'",
            "valid boolean",
            id="referenced-schema",
        ),
        pytest.param(
            "router-decision",
            {k: v for k, v in decision().items() if k != "org_id"},
            "$.org_id",
            "'org_id' is a required property",
            "'org_id' is a required property",
            id="required-nullable-missing",
        ),
        pytest.param(
            "observed-performance-profile",
            observed(error_class_rates={"timeout": 2}),
            "$.error_class_rates.timeout",
            "2 is greater than the maximum of 1",
            "less than or equal to 1",
            id="map-value",
        ),
        pytest.param(
            "observed-performance-profile",
            observed(sample_size=True),
            "$.sample_size",
            "True is not of type 'integer'",
            "valid integer",
            id="bool-is-not-integer",
        ),
        pytest.param(
            "observed-performance-profile",
            observed(latency_ms_p50="100"),
            "$.latency_ms_p50",
            "'100' is not of type 'number'",
            "valid number",
            id="numeric-string-is-not-number",
        ),
        pytest.param(
            "trace-span",
            span(attributes={"tags": ["a"]}),
            "$.attributes.tags",
            "is not valid under any of the given schemas",
            "expected a string, number or boolean",
            id="attribute-value",
        ),
        pytest.param(
            "declared-capability-profile",
            declared(modalities=[]),
            "$.modalities",
            "should be non-empty",
            "at least 1 item",
            id="min-items",
        ),
        pytest.param(
            "router-decision",
            {
                **{k: v for k, v in decision().items() if k != "app_id"},
                "policy_snapshot": {**policy(), "strategy": "fastest"},
            },
            "$.app_id",
            "'app_id' is a required property",
            "'app_id' is a required property",
            id="shallowest-error-wins",
        ),
        pytest.param(
            "role-binding",
            [],
            "$",
            "[] is not of type 'object'",
            "valid dictionary",
            id="not-an-object",
        ),
    ],
)
def test_errors_name_the_path_and_the_expectation(
    kind: ArtifactKind, data: Any, path: str, schema_says: str, model_says: str
) -> None:
    schema_error, model_error = reject_both(kind, data)

    assert schema_error.path == path
    assert schema_says in schema_error.message
    assert model_says in model_error.message
    field = path.rsplit(".", 1)[-1].split("[")[0]
    if field != "$":
        assert repr(field) in model_error.message
    assert str(schema_error).startswith(f"{kind}: {path}: ")


def test_unknown_kind_is_reported() -> None:
    for check in (validate_artifact, load_artifact):
        with pytest.raises(ProtocolValidationError, match="unknown artifact kind 'gadget'"):
            check("gadget", {})  # type: ignore[call-overload,arg-type]


def test_load_model_names_the_artifact() -> None:
    with pytest.raises(ProtocolValidationError) as caught:
        load_model(EndpointIdentity, identity(model_id=None), artifact="candidates[0].identity")
    assert caught.value.artifact == "candidates[0].identity"
    assert caught.value.path == "$.model_id"


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ((), "$"),
        (("eligibility", 0, "exclusions", 0, "code"), "$.eligibility[0].exclusions[0].code"),
        (("attributes", "http.status"), "$.attributes['http.status']"),
        (("rates", "it's"), "$.rates['it\\'s']"),
    ],
)
def test_json_path(parts: tuple[str | int, ...], expected: str) -> None:
    assert json_path(parts) == expected


# --- open enums ----------------------------------------------------------------------------------


def test_off_enum_endpoint_kinds_load_but_fail_the_strict_schema() -> None:
    data = identity(endpoint_kind="mcp-endpoint", provider_kind="provider-mcp")
    model = load_artifact("endpoint-identity", data)
    assert model.provider_kind == "provider-mcp"

    with pytest.raises(ProtocolValidationError) as caught:
        validate_artifact("endpoint-identity", model)
    assert caught.value.path in {"$.endpoint_kind", "$.provider_kind"}


def test_role_binding_rejects_the_docs_candidate_status() -> None:
    binding = {
        "binding_id": "b",
        "role_id": "r",
        "endpoint_id": "e",
        "status": "candidate",
        "policy_overrides": {},
        "effective_capabilities": [],
        "effective_task_types": [],
    }
    schema_error, model_error = reject_both("role-binding", binding)
    assert schema_error.path == "$.status"
    assert "'candidate'" in model_error.message


# --- dumping -------------------------------------------------------------------------------------


def test_null_org_id_survives_exclude_none() -> None:
    model = load_artifact("router-decision", decision())

    dumped = model.model_dump(mode="json", exclude_none=True)
    artifact = model.to_artifact()

    assert dumped["org_id"] is None
    assert artifact["org_id"] is None
    assert list(artifact)[:4] == ["routing_decision_id", "request_id", "app_id", "org_id"]
    assert "policy_id" not in artifact["policy_snapshot"]
    validate_artifact("router-decision", model)


def test_org_id_dump_respects_explicit_exclusion_and_values() -> None:
    model = load_artifact("router-decision", decision())
    assert "org_id" not in model.model_dump(exclude={"org_id"}, exclude_none=True)
    assert "org_id" not in model.model_dump(include={"app_id"}, exclude_none=True)
    assert model.model_copy(update={"org_id": "acme"}).to_artifact()["org_id"] == "acme"


def test_every_required_nullable_field_is_preserved() -> None:
    models = [
        value
        for value in vars(protocol).values()
        if isinstance(value, type) and issubclass(value, ProtocolModel)
    ]
    nullable = {model.__name__: required_nullable_fields(model) for model in models}
    assert {name: fields for name, fields in nullable.items() if fields} == {
        "RouterDecision": ("org_id",)
    }
    for model in models:
        if required_nullable_fields(model):
            assert issubclass(model, NullPreservingModel), model.__name__


def test_models_are_frozen() -> None:
    model = load_artifact("router-decision", decision())
    with pytest.raises(pydantic.ValidationError):
        model.app_id = "other"  # type: ignore[misc]


def test_validate_accepts_read_only_mappings() -> None:
    validate_artifact("endpoint-identity", MappingProxyType(identity()))


def test_schema_for_returns_a_copy() -> None:
    schema = schema_for("role-binding")
    schema["properties"]["status"]["enum"].append("candidate")
    assert "candidate" not in schema_for("role-binding")["properties"]["status"]["enum"]


def test_direct_construction_is_strict() -> None:
    with pytest.raises(pydantic.ValidationError):
        RouterDecision.model_validate({**decision(), "used_measured": "false"})


def test_nothing_is_loaded_at_import() -> None:
    code = (
        "import rolecall.protocol as p\n"
        "from rolecall.protocol import validation as v\n"
        "assert v._packaged_schemas.cache_info().currsize == 0\n"
        "assert v._validator.cache_info().currsize == 0\n"
        "p.validate_artifact('judge-score', "
        "{'judge_id': 'j', 'case_id': 'c', 'score': 1, 'rationale': 'ok'})\n"
        "assert v._validator.cache_info().currsize == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
