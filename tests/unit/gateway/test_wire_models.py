"""The published chat-request models and the hot path's hand-written checks agree: every body one
accepts the other accepts, field by field (a differential test over mutated bodies)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rolecall.gateway.wire import EXTENSION_KEYS, ROLES, STRATEGIES, WireError, parse_chat_request
from rolecall.gateway.wire_models import (
    ChatCompletionRequest,
    ChatMessage,
    Role,
    RoutingOptions,
    Strategy,
    routing_headers,
)

VALID: dict[str, Any] = {
    "model": "default",
    "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": None, "tool_calls": []},
    ],
    "stream": False,
    "tools": [{"type": "function", "function": {"name": "f"}}],
    "max_tokens": 16,
    "max_completion_tokens": 16,
    "temperature": 0.5,
    "top_p": 1,
    "response_format": {"type": "json_object"},
    "rolecall": {
        "strategy": "cost",
        "role": "r",
        "task": "t",
        "budget": 0.5,
        "prefer_local": True,
        "deny_remote": False,
    },
    "user": "alice",
    "metadata": {"feature": "search", "tags": "prod,beta"},
    "role_model": {
        "contract_version": 1,
        "intent": {
            "role_hint_id": "coder",
            "task_type": "coder.edit",
            "preferred_capabilities": ["code.write"],
            "required_modalities": ["text"],
            "tool_classes": ["shell.execute"],
            "confidence": 0.5,
            "evidence": ["fix signal"],
            "alternatives": [{"role_hint_id": "coder", "task_type": "coder.test.write"}],
            "taxonomy_version": "1.0.0-alpha.1",
        },
    },
}
INTENT_KEYS = [
    "role",
    "role_hint_id",
    "task",
    "task_type",
    "capabilities",
    "modalities",
    "confidence",
    "evidence",
    "alternatives",
    "colour",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["", "user", "tool", "cost", "text", "default", "function"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
# where a mutation lands: a path into VALID (a key may be new)
PATHS = st.sampled_from(
    [(key,) for key in [*VALID, "extra", "n"]]
    + [("messages", i, key) for i in range(3) for key in ("role", "content", "name")]
    + [("messages", 1, "content", 0, key) for key in ("type", "text")]
    + [("tools", 0, "type"), ("tools", 0)]
    + [("rolecall", key) for key in [*EXTENSION_KEYS, "colour"]]
    + [("metadata", key) for key in ("feature", "tags", "", "k" * 65)]
    + [("role_model", key) for key in ("intent", "contract_version", "extra")]
    + [("role_model", "intent", key) for key in INTENT_KEYS]
    + [("role_model", "intent", "alternatives", 0, key) for key in ("role_hint_id", "task")]
)


def _accepts_wire(body: Any) -> bool:
    try:
        parse_chat_request(orjson.dumps(body), {})
    except WireError:
        return False
    return True


def _accepts_model(body: Any) -> bool:
    try:
        ChatCompletionRequest.model_validate(body, strict=True)
    except ValidationError:
        return False
    return True


def _mutate(body: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    out = orjson.loads(orjson.dumps(body))
    target = out
    for part in path[:-1]:
        in_list = isinstance(target, list) and isinstance(part, int) and part < len(target)
        if (isinstance(target, dict) and part in target) or in_list:
            target = target[part]
        else:
            return out
    last = path[-1]
    if isinstance(target, dict):
        if delete:
            target.pop(last, None)
        else:
            target[last] = value
    elif isinstance(target, list) and isinstance(last, int) and last < len(target):
        target[last] = value
    return out


def test_the_models_name_what_wire_checks() -> None:
    assert set(Role.__args__) == ROLES
    assert set(Strategy.__args__) == STRATEGIES
    assert set(RoutingOptions.model_fields) == EXTENSION_KEYS
    headers = {p["name"] for p in routing_headers()}
    assert headers == {f"x-rolecall-{k.replace('_', '-')}" for k in EXTENSION_KEYS}


def test_a_full_valid_body_passes_both() -> None:
    assert _accepts_wire(VALID)
    assert _accepts_model(VALID)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mutations=st.lists(st.tuples(PATHS, VALUES, st.booleans()), min_size=1, max_size=3),
)
def test_wire_and_models_agree_on_every_mutated_body(
    mutations: list[tuple[tuple[Any, ...], Any, bool]],
) -> None:
    body: Any = VALID
    for path, value, delete in mutations:
        body = _mutate(body, path, value, delete)
    assert _accepts_wire(body) == _accepts_model(body), body


@pytest.mark.parametrize(
    "message",
    [{"role": "user"}, {"role": "system", "content": None}, {"role": "developer"}],
)
def test_content_is_required_except_for_assistant_tool_and_function(message: Any) -> None:
    with pytest.raises(ValidationError):
        ChatMessage.model_validate(message)
    assert not _accepts_wire({**VALID, "messages": [message]})


def test_the_console_posture_model_names_every_routing_mode() -> None:
    from typing import get_args

    from rolecall.console.api_spec import Mode
    from rolecall.operator.posture import modes_for

    assert set(get_args(Mode)) == set(modes_for(True, True))


@pytest.mark.parametrize(
    "identity",
    [
        {"user": "u" * 256},
        {"user": "u" * 257},
        {"metadata": {f"k{i}": "v" for i in range(16)}},
        {"metadata": {f"k{i}": "v" for i in range(17)}},
        {"metadata": {"k" * 64: "v" * 512}},
        {"metadata": {"k": "v" * 513}},
        {"metadata": {"tags": ",".join(f"t{i}" for i in range(16))}},
        {"metadata": {"tags": ",".join(f"t{i}" for i in range(17))}},
        {"metadata": {"tags": "a, " + "t" * 64}},
        {"metadata": {"tags": "t" * 65}},
    ],
)
def test_wire_and_models_agree_at_the_identity_limits(identity: dict[str, Any]) -> None:
    body = {**VALID, **identity}
    assert _accepts_wire(body) == _accepts_model(body), identity
