"""Hostile input on the routes translated to chat: ``POST /v1/messages`` and
``/v1/messages/count_tokens`` answer an Anthropic-style 4xx (``{"type": "error", "error": {"type",
"message"}}``) whose message names the field, ``POST /v1/completions`` an OpenAI-style one; never a
500, never an echo of a huge value. Sent over raw sockets by the bad-input fuzzer's helpers
(tests/reliability/fuzz.py), to one gateway over a scripted upstream for the module."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import pytest

from tests.integration.gateway.harness import ADMIN_TOKEN, Gateway
from tests.reliability.conftest import scripted_gateway
from tests.reliability.fuzz import Answer, Case, problem, send
from tests.reliability.fuzz_corpus import DEPTHS, HOSTILE, RAW_NUMBERS, RAW_STRINGS

MESSAGES: Final = "/v1/messages"
COUNT: Final = "/v1/messages/count_tokens"
COMPLETIONS: Final = "/v1/completions"
BASE: Final[dict[str, Any]] = {
    "model": "default",
    "max_tokens": 8,
    "system": [{"type": "text", "text": "be brief"}],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}],
        },
    ],
    "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object"}}],
    "tool_choice": {"type": "auto"},
    "metadata": {"user_id": "u-1"},
    "stop_sequences": ["END"],
}
FIELDS: Final[list[tuple[Any, ...]]] = [
    ("model",), ("max_tokens",), ("messages",), ("messages", 0), ("messages", 0, "role"),
    ("messages", 0, "content"), ("messages", 0, "content", 0), ("messages", 0, "content", 0, "type"),
    ("messages", 0, "content", 0, "text"), ("messages", 1, "content", 0, "input"),
    ("messages", 1, "content", 0, "id"), ("messages", 1, "content", 0, "name"),
    ("messages", 2, "content", 0, "tool_use_id"), ("messages", 2, "content", 0, "content"),
    ("messages", 2, "content", 0, "is_error"), ("system",), ("system", 0), ("system", 0, "text"),
    ("tools",), ("tools", 0), ("tools", 0, "name"), ("tools", 0, "input_schema"),
    ("tools", 0, "type"), ("tool_choice",), ("tool_choice", "type"), ("tool_choice", "name"),
    ("metadata",), ("metadata", "user_id"), ("stop_sequences",), ("temperature",), ("top_p",),
    ("top_k",), ("stream",), ("output_config",), ("output_config", "format"), ("rolecall",),
    ("rolecall", "strategy"),
]  # fmt: skip
COMPLETION_BASE: Final[dict[str, Any]] = {"model": "default", "prompt": ["hi"], "max_tokens": 8}
COMPLETION_FIELDS: Final[list[tuple[Any, ...]]] = [
    ("model",), ("prompt",), ("prompt", 0), ("max_tokens",), ("n",), ("best_of",), ("echo",),
    ("logprobs",), ("suffix",), ("temperature",), ("stream",), ("stop",), ("metadata",),
    ("user",), ("rolecall",),
]  # fmt: skip


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    with scripted_gateway() as gw:
        yield gw


def _with(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """``body`` with the value at ``path`` replaced (a missing level is created as an object)."""
    out = copy.deepcopy(body)
    target: Any = out
    for part in path[:-1]:
        target = target[part] if isinstance(part, int) else target.setdefault(part, {})
    target[path[-1]] = value
    return out


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _send_all(gateway: Gateway, cases: list[Case]) -> list[tuple[Case, Answer]]:
    auth = {"key": gateway.api_key.encode(), "admin": ADMIN_TOKEN.encode()}

    def one(case: Case) -> tuple[Case, Answer]:
        return case, send("127.0.0.1", gateway.port, case.wire(auth), case.half_close)

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, cases))


def anthropic_problem(case: Case, answer: Answer) -> str | None:
    """What is wrong with an answer of an Anthropic route, or None."""
    if answer.status is None:
        return f"{case.name}: no answer"
    if answer.status >= 500:
        return f"{case.name}: {answer.status} {answer.body[:200]!r}"
    if answer.status < 400:
        return None
    try:
        body = json.loads(answer.body)
        kind, message = body["error"]["type"], body["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return f"{case.name}: {answer.status} is not an Anthropic error: {answer.body[:120]!r}"
    if body.get("type") != "error" or not isinstance(kind, str) or not message:
        return f"{case.name}: {answer.status} error lacks its type or message: {body!r:.120}"
    if len(answer.body) > 4_000:
        return f"{case.name}: {answer.status} error body of {len(answer.body)} bytes (an echo?)"
    return None


def _hostile_cases(path: str, base: dict[str, Any], fields: list[tuple[Any, ...]]) -> list[Case]:
    """Every field × every hostile value, raw literals and deep nesting spliced into fields."""
    rng = random.Random(17)
    cases = [
        Case(f"{path} {'.'.join(map(str, field))}={str(value)[:20]!r}", path=path, body=body)
        for field in fields
        for value in HOSTILE
        for body in [_dumps(_with(base, field, value))]
    ]
    marker = "@@SPLICE@@"
    for literal in [*RAW_NUMBERS, *RAW_STRINGS, *(b"[" * d + b"1" + b"]" * d for d in DEPTHS)]:
        field = rng.choice(fields)
        body = _dumps(_with(base, field, marker)).replace(f'"{marker}"'.encode(), literal)
        cases.append(Case(f"{path} literal {literal[:16]!r} at {field}", path=path, body=body))
    for syntax in (b"", b"null", b"[]", b"{", b'"x"', b"\xff", _dumps(base)[:-5]):
        cases.append(Case(f"{path} syntax {syntax[:12]!r}", path=path, body=syntax))
    return cases


def test_the_base_bodies_are_answered(gateway: Gateway) -> None:
    auth = {"authorization": f"Bearer {gateway.api_key}"}
    status, message = gateway.raw(MESSAGES, _dumps(BASE), auth)
    assert (status, message["type"]) == (200, "message"), message
    status, counted = gateway.raw(COUNT, _dumps(BASE), auth)
    assert status == 200, counted
    assert counted["input_tokens"] > 0
    status, completion = gateway.raw(COMPLETIONS, _dumps(COMPLETION_BASE), auth)
    assert (status, completion["object"]) == (200, "text_completion"), completion


@pytest.mark.parametrize("path", [MESSAGES, COUNT])
def test_hostile_values_on_the_anthropic_routes(gateway: Gateway, path: str) -> None:
    answers = _send_all(gateway, _hostile_cases(path, BASE, FIELDS))
    problems = [p for case, answer in answers if (p := anthropic_problem(case, answer))]
    assert problems == [], problems[:10]
    statuses = [answer.status for _, answer in answers]
    assert statuses.count(400) > len(statuses) // 2  # the cases reach the checks
    assert 200 in statuses


def test_hostile_values_on_completions(gateway: Gateway) -> None:
    cases = _hostile_cases(COMPLETIONS, COMPLETION_BASE, COMPLETION_FIELDS)
    answers = _send_all(gateway, cases)
    problems = [p for case, answer in answers if (p := problem(case, answer))]
    assert problems == [], problems[:10]
    statuses = [answer.status for _, answer in answers]
    assert statuses.count(400) > len(statuses) // 2
    assert 200 in statuses


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        (("model",), 7, "model"),
        (("max_tokens",), "8", "max_tokens"),
        (("max_tokens",), 0, "max_tokens"),
        (("messages",), {}, "messages"),
        (("messages", 0, "role"), "system", "messages[0].role"),
        (("messages", 0, "content", 0, "type"), "search_result", "messages[0].content[0].type"),
        (("messages", 1, "content", 0, "input"), "a=1", "messages[1].content[0].input"),
        (("messages", 2, "content", 0, "tool_use_id"), 5, "messages[2].content[0].tool_use_id"),
        (("messages", 2, "content", 0, "is_error"), "yes", "messages[2].content[0].is_error"),
        (("system", 0, "text"), None, "system[0].text"),
        (("tools", 0, "input_schema"), "object", "tools[0].input_schema"),
        (("tools", 0, "type"), "bash_20250124", "tools[0].type"),
        (("tool_choice", "type"), "always", "tool_choice"),
        (("metadata", "user_id"), 12, "metadata.user_id"),
        (("stop_sequences",), "END", "stop_sequences"),
        (("temperature",), 1.5, "temperature"),
        (("top_k",), -3, "top_k"),
        (("stream",), "true", "stream"),
        (("output_config", "format"), {"type": "xml"}, "output_config.format"),
        (("rolecall", "strategy"), "fastest", "rolecall.strategy"),
    ],
)
def test_a_bad_field_is_an_anthropic_400_naming_it(
    gateway: Gateway, field: tuple[Any, ...], value: Any, named: str
) -> None:
    auth = {"x-api-key": gateway.api_key, "anthropic-version": "2023-06-01"}
    status, body = gateway.raw(MESSAGES, _dumps(_with(BASE, field, value)), auth)
    assert status == 400, body
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert named in body["error"]["message"], body


def test_refusals_before_the_body_are_anthropic_shaped(gateway: Gateway) -> None:
    status, body = gateway.raw(MESSAGES, _dumps(BASE), {"x-api-key": "rc-wrong"})
    assert (status, body["error"]["type"]) == (401, "authentication_error"), body
    status, body = gateway.raw(MESSAGES, None, {"x-api-key": gateway.api_key})  # a GET
    assert status == 405
    assert body["type"] == "error"
    huge = _dumps(_with(BASE, ("system",), "x" * 12_000_000))
    status, body = gateway.raw(MESSAGES, huge, {"x-api-key": gateway.api_key})
    assert (status, body["error"]["type"]) == (413, "request_too_large"), body
