"""Router conformance cases: load the reference shape, and compare a decision with expectations.

A case is ``{name?, input: {request, candidates, roleDefinitions?, taskDefinitions?, roleBindings?,
policy?}, expected?}`` as in the role-model conformance cases (``make conformance``). Conformance
means: the chosen endpoint and the fallback list are equal; every expected selection reason is
present; every expected eligibility entry is present with the same ``eligible`` flag and exclusion
codes; with ``exact_details`` (role-model's own harness), also the same ``detail`` texts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from rolecall.errors import ConfigError
from rolecall.protocol import (
    ProtocolModel,
    RoleBinding,
    RoleDefinition,
    RoutingPolicy,
    TaskDefinition,
)
from rolecall.routing.candidate import Candidate, load_nested, parse_candidate
from rolecall.routing.decision import Decision
from rolecall.routing.request import RoutingRequest, parse_routing_request

_M = TypeVar("_M", bound=ProtocolModel)


@dataclass(frozen=True, slots=True)
class RoutingCase:
    name: str
    request: RoutingRequest
    candidates: tuple[Candidate, ...]
    roles: tuple[RoleDefinition, ...]
    tasks: tuple[TaskDefinition, ...]
    bindings: tuple[RoleBinding, ...]
    policy: RoutingPolicy | None
    expected: Mapping[str, Any] | None


def load_case(data: Any, source: str = "case") -> RoutingCase:
    """Parse a case object; any malformed part raises `ConfigError` naming its JSON path."""
    if not isinstance(data, Mapping):
        raise ConfigError(source, "$", "expected a JSON object with an 'input' object")
    inp = data.get("input")
    if not isinstance(inp, Mapping):
        raise ConfigError(source, "$.input", "required object is missing")
    try:
        request = parse_routing_request(_require(inp, "request", source), "$.input.request")
        raw_candidates = _list(inp, "candidates", source, required=True)
        candidates = tuple(
            parse_candidate(c, f"$.input.candidates[{i}]") for i, c in enumerate(raw_candidates)
        )
    except ConfigError as exc:
        raise ConfigError(source, exc.path, exc.message) from None
    expected = data.get("expected")
    if expected is not None and not isinstance(expected, Mapping):
        raise ConfigError(source, "$.expected", "expected a JSON object")
    policy_raw = inp.get("policy")
    return RoutingCase(
        name=str(data.get("name", source)),
        request=request,
        candidates=candidates,
        roles=_models(RoleDefinition, inp, "roleDefinitions", source),
        tasks=_models(TaskDefinition, inp, "taskDefinitions", source),
        bindings=_models(RoleBinding, inp, "roleBindings", source),
        policy=None
        if policy_raw is None
        else _model(RoutingPolicy, policy_raw, "$.input.policy", source),
        expected=expected,
    )


def _require(inp: Mapping[str, Any], key: str, source: str) -> Any:
    if key not in inp:
        raise ConfigError(source, f"$.input.{key}", "required field is missing")
    return inp[key]


def _list(inp: Mapping[str, Any], key: str, source: str, required: bool = False) -> Sequence[Any]:
    value = _require(inp, key, source) if required else inp.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(source, f"$.input.{key}", "expected a JSON array")
    return value


def _models(model: type[_M], inp: Mapping[str, Any], key: str, source: str) -> tuple[_M, ...]:
    items = _list(inp, key, source)
    return tuple(_model(model, item, f"$.input.{key}[{i}]", source) for i, item in enumerate(items))


def _model(model: type[_M], data: Any, where: str, source: str) -> _M:
    return load_nested(model, data, where, source)


def conformance_problems(
    decision: Decision, expected: Mapping[str, Any], *, exact_details: bool = False
) -> list[str]:
    """Every way the decision departs from the case's expectations (empty when it conforms);
    ``exact_details`` also compares each exclusion's ``detail`` text, as role-model's harness
    does (route with ``detail_texts="role-model"`` to match it)."""
    problems: list[str] = []
    want_chosen = expected.get("chosen_endpoint_id", "")
    if decision.chosen_endpoint_id != want_chosen:
        problems.append(f"chosen {decision.chosen_endpoint_id!r}, expected {want_chosen!r}")
    want_fallbacks = list(expected.get("fallback_endpoint_ids", []))
    if list(decision.fallback_endpoint_ids) != want_fallbacks:
        problems.append(
            f"fallbacks {list(decision.fallback_endpoint_ids)}, expected {want_fallbacks}"
        )
    missing = [
        r for r in expected.get("selection_reasons", []) if r not in decision.selection_reasons
    ]
    if missing:
        problems.append(
            f"selection reasons missing {missing} (got {list(decision.selection_reasons)})"
        )
    actual = {eid: excl for eid, excl in decision.eligibility}
    for entry in expected.get("eligibility", []):
        eid = entry["endpoint_id"]
        if eid not in actual:
            problems.append(f"eligibility entry for {eid!r} missing")
            continue
        codes = [code for code, _ in actual[eid]]
        want = [e["code"] for e in entry.get("exclusions", [])]
        if (not codes) != bool(entry["eligible"]) or codes != want:
            problems.append(f"{eid}: exclusions {codes}, expected {want}")
        elif exact_details:
            problems += _detail_problems(eid, actual[eid], entry.get("exclusions", []))
    return problems


def _detail_problems(
    endpoint_id: str, actual: Sequence[tuple[str, str]], expected: Sequence[Mapping[str, Any]]
) -> list[str]:
    return [
        f"{endpoint_id}: {code} detail {detail!r}, expected {want.get('detail')!r}"
        for (code, detail), want in zip(actual, expected, strict=True)
        if "detail" in want and detail != want["detail"]
    ]
