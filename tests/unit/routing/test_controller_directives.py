"""The routing controller's directives: reading an answer (errors name the field) and bounding
it by the request (each rule; nothing a directive says loosens a limit, and every refusal is
recorded)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rolecall.routing.controller import (
    DIRECTIVES_SCHEMA,
    RATIONALE_CHARS,
    Bounded,
    DirectiveError,
    Directives,
    bound_directives,
    directives_schema,
    parse_directives,
)
from rolecall.routing.request import RoutingRequest, parse_routing_request

from .builders import candidate, request, role, task

POOL = {
    "local-a": candidate("local-a", local=True, provider_kind="llamacpp"),
    "remote-b": candidate("remote-b"),
    "remote-c": candidate("remote-c"),
}
ROLES = {
    "coder": role("coder", task_types_supported=["code.generate", "text.chat"]),
    "writer": role("writer", task_types_supported=["text.chat"]),
}
TASKS = {
    "text.chat": task("text.chat"),
    "code.generate": task("code.generate", allowed_roles=["coder"]),
}


def bound(directives: dict[str, Any], req: RoutingRequest | None = None, **kwargs: Any) -> Bounded:
    return bound_directives(
        Directives.model_validate(directives),
        req or request(),
        endpoints=POOL,
        roles=ROLES,
        tasks=TASKS,
        **kwargs,
    )


# --- reading an answer -------------------------------------------------------------------------


def test_a_full_answer_parses() -> None:
    text = json.dumps(
        {
            "role": "coder",
            "task": "code.generate",
            "difficulty": "hard",
            "prefer_endpoints": ["remote-b", "local-a"],
            "deny_endpoints": [],
            "strategy": "quality",
            "rationale": "code with a long spec",
        }
    )
    parsed = parse_directives(text)
    assert parsed.role == "coder"
    assert parsed.prefer_endpoints == ["remote-b", "local-a"]
    assert parsed.difficulty == "hard"


def test_nulls_and_a_json_fence_are_fine() -> None:
    answer = '```json\n{"role": null, "strategy": "cost", "prefer_endpoints": null}\n```'
    assert parse_directives(answer) == Directives(strategy="cost")
    assert parse_directives('  {"role": ""}  ') == Directives()


def test_a_long_rationale_is_cut_not_refused() -> None:
    parsed = parse_directives(json.dumps({"rationale": "x" * 5000, "strategy": "latency"}))
    assert parsed.rationale == "x" * RATIONALE_CHARS
    assert parsed.strategy == "latency"


@pytest.mark.parametrize(
    ("text", "field", "why"),
    [
        ("sure! routing to local-a", "$", "not JSON"),
        ('Here: {"role": "coder"}', "$", "not JSON"),
        ('```python\n{"role": "coder"}\n```', "$", "not JSON"),
        ('["coder"]', "$", "expected a JSON object, got list"),
        ('{"budget_usd": 10}', "budget_usd", "not a directive"),
        ('{"allow_endpoints": ["x"]}', "allow_endpoints", "not a directive"),
        ('{"deny_remote": false}', "deny_remote", "not a directive"),
        ('{"required_capabilities": []}', "required_capabilities", "not a directive"),
        ('{"difficulty": "extreme"}', "difficulty", "Input should be"),
        ('{"strategy": "fastest"}', "strategy", "Input should be"),
        ('{"role": 3}', "role", "string"),
        ('{"prefer_endpoints": "local-a"}', "prefer_endpoints", "list"),
        ('{"deny_endpoints": [1]}', "deny_endpoints.0", "string"),
        (
            '{"prefer_endpoints": ["e1","e2","e3","e4","e5","e6","e7","e8","e9"]}',
            "prefer_endpoints",
            "at most 8",
        ),
    ],
)
def test_a_bad_answer_names_the_field(text: str, field: str, why: str) -> None:
    with pytest.raises(DirectiveError) as caught:
        parse_directives(text)
    assert caught.value.field == field
    assert why in caught.value.why


def test_the_schema_is_strict_and_names_what_exists() -> None:
    assert DIRECTIVES_SCHEMA["additionalProperties"] is False
    assert set(DIRECTIVES_SCHEMA["required"]) == set(Directives.model_fields)
    named = directives_schema(endpoint_ids=("a", "b"), roles=("coder",), tasks=("text.chat",))
    props = named["properties"]
    assert props["prefer_endpoints"]["items"] == {"type": "string", "enum": ["a", "b"]}
    assert props["role"] == {"type": ["string", "null"], "enum": ["coder", None]}
    assert props["difficulty"]["enum"] == ["easy", "medium", "hard", None]
    # the answer it describes parses
    assert parse_directives(json.dumps(dict.fromkeys(props))) == Directives()


# --- bounding ----------------------------------------------------------------------------------


def test_nothing_directed_changes_nothing() -> None:
    req = request()
    result = bound({}, req)
    assert result.request == req
    assert result.applied == {}
    assert result.rejected == []


def test_unknown_endpoints_are_dropped_with_why() -> None:
    result = bound({"prefer_endpoints": ["ghost", "remote-b"], "deny_endpoints": ["phantom"]})
    assert result.request.preferred_endpoints == ("remote-b",)
    assert result.request.deny_endpoints == ()
    assert ("deny_endpoints", "unknown endpoint 'phantom'") in result.rejected
    assert ("prefer_endpoints", "unknown endpoint 'ghost'") in result.rejected


def test_denies_narrow_the_request() -> None:
    req = request(deny_endpoints=("remote-c",))
    result = bound({"deny_endpoints": ["remote-b", "remote-c"]}, req)
    assert result.request.deny_endpoints == ("remote-c", "remote-b")
    assert result.applied == {"deny_endpoints": ["remote-b"]}


def test_a_controller_cannot_deny_everything() -> None:
    result = bound({"deny_endpoints": ["local-a", "remote-b", "remote-c"]})
    assert result.request.deny_endpoints == ()
    assert result.rejected == [
        (
            "deny_endpoints",
            "would deny every endpoint the request may use (local-a, remote-b, remote-c)",
        )
    ]
    # the same when the request's own allow list leaves only what the controller denies
    scoped = request(allow_endpoints=("remote-b",))
    assert bound({"deny_endpoints": ["remote-b"]}, scoped).request.deny_endpoints == ()


def test_preferences_rank_only_what_the_request_may_use() -> None:
    req = request(allow_endpoints=("local-a", "remote-b"))
    result = bound({"prefer_endpoints": ["remote-c", "remote-b", "local-a", "remote-b"]}, req)
    assert result.request.preferred_endpoints == ("remote-b", "local-a")
    assert result.applied == {"prefer_endpoints": ["remote-b", "local-a"]}
    assert result.rejected == [
        ("prefer_endpoints", "'remote-c': it is outside the request's allow list or scope")
    ]
    # the allow list is untouched: a preference never widens it
    assert result.request.allow_endpoints == ("local-a", "remote-b")


@pytest.mark.parametrize(
    ("limits", "why"),
    [
        ({"deny_remote": True}, "it is remote and the request denies remote endpoints"),
        ({"deny_endpoints": ("remote-b",)}, "the request denies it"),
        ({"allow_provider_kinds": ("llamacpp",)}, "does not allow provider kind"),
    ],
)
def test_a_preference_cannot_readmit_an_excluded_endpoint(limits: dict[str, Any], why: str) -> None:
    result = bound({"prefer_endpoints": ["remote-b"]}, request(**limits))
    assert result.request.preferred_endpoints == ()
    assert result.rejected[0][0] == "prefer_endpoints"
    assert why in result.rejected[0][1]


def test_a_preference_the_controller_also_denies_is_dropped() -> None:
    result = bound({"deny_endpoints": ["remote-b"], "prefer_endpoints": ["remote-b", "local-a"]})
    assert result.request.preferred_endpoints == ("local-a",)
    assert ("prefer_endpoints", "'remote-b': the controller also denies it") in result.rejected


def test_the_requests_own_preferences_come_first() -> None:
    req = request(preferred_endpoints=("remote-c",))
    result = bound({"prefer_endpoints": ["local-a", "remote-c"]}, req)
    assert result.request.preferred_endpoints == ("remote-c", "local-a")


def test_role_and_task_fill_what_the_request_left_open() -> None:
    result = bound({"role": "coder", "task": "code.generate"}, task_fixed=False)
    assert result.request.requested_role_id == "coder"
    assert result.request.task_type == "code.generate"
    assert result.applied == {"role": "coder", "task": "code.generate"}


def test_a_role_alone_keeps_a_task_it_performs() -> None:
    result = bound({"role": "writer"}, task_fixed=False)
    assert (result.request.requested_role_id, result.request.task_type) == ("writer", "text.chat")
    assert result.applied == {"role": "writer"}


def test_a_role_alone_moves_an_unnamed_task_to_its_primary_task() -> None:
    req = request(task_type="code.generate")
    result = bound({"role": "writer"}, req, task_fixed=False)
    assert result.request.task_type == "text.chat"


def test_a_named_task_stands() -> None:
    result = bound({"task": "code.generate"})  # task_fixed defaults to True
    assert result.request.task_type == "text.chat"
    assert result.rejected == [("task", "the request sets task 'text.chat'")]


def test_a_role_contradicting_the_request_is_rejected() -> None:
    result = bound({"role": "coder"}, request(requested_role_id="writer"))
    assert result.request.requested_role_id == "writer"
    assert result.rejected == [("role", "the request sets role 'writer'")]
    assert result.applied == {}


def test_unknown_roles_and_tasks_are_rejected() -> None:
    result = bound({"role": "pirate", "task": "plunder"}, task_fixed=False)
    assert result.request == request()
    assert result.rejected == [
        ("role", "unknown role 'pirate'"),
        ("task", "unknown task 'plunder'"),
    ]


def test_a_role_that_does_not_perform_the_task_is_rejected() -> None:
    result = bound({"role": "writer", "task": "code.generate"}, task_fixed=False)
    assert result.request == request()
    why = "role 'writer' does not perform task 'code.generate'"
    assert result.rejected == [("role", why), ("task", why)]
    # the request's own role against a controller's task the role does not perform
    own = request(requested_role_id="writer")
    assert bound({"task": "code.generate"}, own, task_fixed=False).rejected == [("task", why)]


def test_strategy_applies_only_where_the_request_has_none() -> None:
    assert bound({"strategy": "latency"}).request.strategy == "latency"
    result = bound({"strategy": "quality"}, request(strategy="cost"))
    assert result.request.strategy == "cost"
    assert result.rejected == [("strategy", "the request sets strategy 'cost'")]


def test_difficulty_is_passed_through_not_applied() -> None:
    result = bound({"difficulty": "hard"})
    assert result.difficulty == "hard"
    assert result.applied == {"difficulty": "hard"}
    assert result.to_json() == {
        "applied": {"difficulty": "hard"},
        "rejected": [],
        "difficulty": "hard",
    }


def test_no_directive_raises_a_limit() -> None:
    req = request(
        budget_limit=0.01,
        deny_remote=True,
        allow_endpoints=("local-a", "remote-b"),
        requested_role_id="writer",
        strategy="cost",
    )
    loosen = {
        "role": "coder",
        "strategy": "quality",
        "prefer_endpoints": ["remote-b", "remote-c"],
        "deny_endpoints": ["local-a"],
    }
    result = bound(loosen, req)
    assert result.request == req
    assert {f for f, _ in result.rejected} == {
        "role",
        "strategy",
        "prefer_endpoints",
        "deny_endpoints",
    }


def test_preferred_endpoints_is_a_request_field() -> None:
    parsed = parse_routing_request({"requestId": "r", "preferredEndpoints": ["a", "b"]})
    assert parsed.preferred_endpoints == ("a", "b")
    assert ("a", "b") in parsed.posture()
