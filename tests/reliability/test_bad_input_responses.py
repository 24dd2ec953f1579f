"""Hostile input on the Responses routes (``POST /v1/responses``, ``GET``/``DELETE
/v1/responses/{id}``) gets an OpenAI-style 4xx naming the field: never a 500, never an echo of a
huge value (the generated bodies on SQLite and PostgreSQL, the named cases on one gateway
on SQLite for the module). The hostile values and the judge are the fuzz corpus's
(tests/reliability/fuzz_corpus.py, fuzz.py)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any, Final

import orjson
import pytest

from tests.integration.gateway.harness import ADMIN_TOKEN, Gateway
from tests.reliability.conftest import scripted_gateway
from tests.reliability.fuzz import Answer, Case, problem, send
from tests.reliability.fuzz_corpus import DEPTHS, HOSTILE, RAW_NUMBERS, RAW_STRINGS, _dumps, _set

PATH: Final = "/v1/responses"
BASE: Final[dict[str, Any]] = {
    "model": "default",
    "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "ok"},
    ],
    "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
    "text": {"format": {"type": "json_schema", "name": "n", "schema": {"type": "object"}}},
    "max_output_tokens": 8,
}
FIELDS: Final = [
    ("model",), ("input",), ("input", 0), ("input", 0, "role"), ("input", 0, "content"),
    ("input", 0, "content", 0), ("input", 0, "content", 0, "type"),
    ("input", 0, "content", 0, "text"), ("input", 1, "call_id"), ("input", 1, "arguments"),
    ("input", 2, "output"), ("input", 2, "type"), ("instructions",), ("tools",), ("tools", 0),
    ("tools", 0, "name"), ("tools", 0, "parameters"), ("tool_choice",), ("text",),
    ("text", "format"), ("text", "format", "schema"), ("max_output_tokens",), ("temperature",),
    ("top_p",), ("store",), ("stream",), ("previous_response_id",), ("metadata",), ("user",),
    ("rolecall",), ("rolecall", "strategy"), ("parallel_tool_calls",), ("background",),
]  # fmt: skip
IDS: Final = [
    "%00", "resp_%00", "x" * 3000, "%E2%80%AE", "resp_" + "0" * 32, "resp_" + "g" * 32, "a.b",
    "resp_" + "a" * 33, "%ff%fe", "'%20OR%201=1",
]  # fmt: skip


@pytest.fixture(scope="module")
def shared() -> Iterator[Gateway]:
    with scripted_gateway() as gw:
        yield gw


def _auth(gw: Gateway) -> dict[str, bytes]:
    return {"key": gw.api_key.encode(), "admin": ADMIN_TOKEN.encode()}


def _cases(seed: int, count: int) -> list[Case]:
    """Wrong types at every field, JSON literals the encoder never writes, deep nesting."""
    rng = random.Random(seed)
    cases = []
    for index in range(count):
        path = rng.choice(FIELDS)
        roll = index % 4
        if roll < 2:
            value = rng.choice(HOSTILE)
            body = _dumps(_set(BASE, path, value))
        else:
            marker = "@@HOSTILE@@"
            literal = (
                rng.choice(RAW_NUMBERS + RAW_STRINGS)
                if roll == 2
                else b"[" * rng.choice(DEPTHS) + b"1" + b"]" * rng.choice(DEPTHS)
            )
            body = _dumps(_set(BASE, path, marker)).replace(f'"{marker}"'.encode(), literal)
        cases.append(Case(f"{'.'.join(map(str, path))} #{index}", path=PATH, body=body))
    return cases


def test_hostile_bodies_get_good_errors_and_no_5xx(gateway: Gateway) -> None:
    answers: list[tuple[Case, Answer]] = []
    for case in _cases(seed=17, count=160):
        answers.append((case, send("127.0.0.1", gateway.port, case.wire(_auth(gateway)), False)))
    problems = [found for case, answer in answers if (found := problem(case, answer))]
    assert problems == []
    statuses = [answer.status for _, answer in answers]
    assert statuses.count(400) > 60, statuses  # refused by the checks, not the parser alone
    assert statuses.count(200) > 5, statuses  # and hostile-but-legal values answered


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_hostile_response_ids_are_404(shared: Gateway, method: str) -> None:
    for response_id in IDS:
        case = Case(f"{method} {response_id[:40]}", method, f"{PATH}/{response_id}")
        answer = send("127.0.0.1", shared.port, case.wire(_auth(shared)), False)
        assert problem(case, answer) is None
        assert answer.status == 404, (response_id, answer)
        assert orjson.loads(answer.body)["error"]["param"] == "response_id"


def _body(**fields: Any) -> bytes:
    return orjson.dumps({"model": "default", "input": "hi", **fields})


def _user(*parts: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(parts)}]


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        (_body(input=[{"role": "user", "content": "x"}, 5]), 400, "input[1]"),
        (_body(input=_user({"type": "input_text", "text": "a"}, {"type": []})), 400,
         "input[0].content[1].type"),
        (_body(input=[{}, {}, {"role": "user", "content": [{"type": "input_audio"}]}]), 400,
         "input[0].role"),
        (_body(input=[{"type": "computer_call"}]), 400, "input[0].type"),
        (_body(input=_user({"type": "input_image", "image_url": 7})), 400,
         "input[0].content[0].image_url"),
        (_body(tools=[{"type": "file_search"}]), 400, "tools[0].type"),
        (_body(text={"format": {"type": "json_schema", "name": "n", "schema": "x"}}), 400,
         "text.format.schema"),
        (_body(previous_response_id="resp_" + "1" * 32), 404, "previous_response_id"),
        (_body(previous_response_id="x\u0000y"), 404, "previous_response_id"),
        (_body(previous_response_id=["resp"]), 400, "previous_response_id"),
        (_body(model="x" * 5000), 404, "model"),
        (b'{"model": "default", "input": "hi", "temperature": NaN}', 400, None),
    ],
)  # fmt: skip
def test_a_bad_field_is_named(shared: Gateway, body: bytes, status: int, param: str | None) -> None:
    got, payload = shared.raw(PATH, body, {"authorization": f"Bearer {shared.api_key}"})
    assert got == status, payload
    assert payload["error"]["param"] == param, payload
    assert len(orjson.dumps(payload)) < 2000  # a huge value is not echoed back
