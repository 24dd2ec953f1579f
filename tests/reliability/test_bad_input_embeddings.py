"""Bad input on ``POST /v1/embeddings`` gets the chat route's treatment: an OpenAI-style 4xx naming
the field, never a 500, never an echo of a huge value; an upstream's garbage reply is a 502 (on
SQLite and PostgreSQL). Hostile bodies come from the fuzz corpus's values and literals
(tests/reliability/fuzz_corpus.py), judged by the fuzzer's own `problem`."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.gateway.harness import ADMIN_TOKEN, Gateway, openai_provider
from tests.reliability.conftest import CraftedUpstream
from tests.reliability.fuzz import Case, problem, send
from tests.reliability.fuzz_corpus import DEPTHS, HOSTILE, RAW_NUMBERS, RAW_STRINGS

PATH = "/v1/embeddings"
BASE: dict[str, Any] = {"model": "default", "input": ["hello", "world"]}
FIELDS: list[tuple[Any, ...]] = [
    ("model",), ("input",), ("input", 0), ("input", 1), ("encoding_format",), ("dimensions",),
    ("user",), ("metadata",), ("rolecall",), ("rolecall", "role"), ("rolecall", "task"),
    ("rolecall", "budget"), ("rolecall", "strategy"),
]  # fmt: skip


def inventory(base_url: str) -> dict[str, Any]:
    return {
        "providers": {"up": openai_provider(base_url, local=False)},
        "endpoints": [
            {"provider": "up", "model": "m", "id": "chat"},
            {"provider": "up", "model": "e", "id": "embed", "capabilities": ["embeddings.text"]},
        ],
    }


@pytest.fixture
def gateway(db_url: str, tmp_path: Path) -> Iterator[Gateway]:
    upstream = ScriptedUpstream.start_in_thread({"models": {"m": {}, "e": {"dimensions": 4}}})
    try:
        with Gateway(inventory(upstream.base_url), db_url, tmp_path) as gw:
            yield gw
    finally:
        upstream.stop()


def _post(gw: Gateway, body: bytes, **headers: str) -> tuple[int, Any]:
    return gw.raw(PATH, body, {"authorization": f"Bearer {gw.api_key}", **headers})


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    body = orjson.loads(orjson.dumps(BASE))
    target = body
    for part in path[:-1]:
        target = target.setdefault(part, {}) if isinstance(target, dict) else target[part]
    target[path[-1]] = value
    return body  # type: ignore[no-any-return]


WRONG = [
    (_with(("input",), 12.5), "input"),
    (_with(("input", 1), {"text": "x"}), "input[1]"),
    (_with(("input",), [[1, 2], [3, "x"]]), "input[1][1]"),
    (_with(("input",), [7, 2**40]), "input[1]"),
    (_with(("encoding_format",), "BASE64"), "encoding_format"),
    (_with(("dimensions",), -4), "dimensions"),
    (_with(("dimensions",), 10**9), "dimensions"),
    (_with(("user",), ["alice"]), "user"),
    (_with(("metadata",), {"k": 1}), "metadata.k"),
    (_with(("rolecall",), {"strategy": "fastest"}), "rolecall.strategy"),
    (_with(("rolecall",), {"role": "nobody"}), "rolecall.role"),
    (_with(("rolecall",), {"task": "nothing"}), "rolecall.task"),
    ({"input": "x"}, "model"),
    ({"model": "default"}, "input"),
]


def test_a_wrong_value_is_a_400_naming_the_field(gateway: Gateway) -> None:
    for body, param in WRONG:
        status, payload = _post(gateway, orjson.dumps(body))
        assert (status, payload["error"]["param"]) == (400, param), (body, payload)
        assert payload["error"]["type"] == "invalid_request_error"
    status, payload = _post(gateway, orjson.dumps(BASE), **{"x-rolecall-budget": "nan"})
    assert (status, payload["error"]["param"]) == (400, "rolecall.budget")
    status, payload = _post(gateway, orjson.dumps({**BASE, "model": "gpt-nope"}))
    assert (status, payload["error"]["code"]) == (404, "model_not_found")
    status, payload = _post(gateway, orjson.dumps(BASE))  # and the same gateway still serves
    assert status == 200, payload
    assert [len(d["embedding"]) for d in payload["data"]] == [4, 4]


def test_huge_values_deep_nesting_method_and_auth(gateway: Gateway) -> None:
    huge = "x" * 7_000_000  # under the 8 MiB body limit: embedded, or refused without an echo
    status, payload = _post(gateway, orjson.dumps({**BASE, "model": huge}))
    assert (status, payload["error"]["param"]) == (404, "model")
    assert len(orjson.dumps(payload)) < 1_000
    status, payload = _post(gateway, orjson.dumps({**BASE, "input": "y" * 9_000_000}))
    assert (status, payload["error"]["code"]) == (413, "request_too_large")
    deep = b"[" * 600 + b'"deep"' + b"]" * 600
    status, payload = _post(gateway, orjson.dumps(BASE)[:-1] + b',"extra":' + deep + b"}")
    assert (status, payload["error"]["param"], payload["error"]["code"]) == (
        400,
        "extra",
        "invalid_json",
    )
    status, payload = gateway.raw(PATH, None, {"authorization": f"Bearer {gateway.api_key}"})
    assert (status, payload["error"]["code"]) == (405, "method_not_allowed")
    status, payload = gateway.raw(PATH, orjson.dumps(BASE), {"authorization": "Bearer nope"})
    assert status == 401
    assert payload["error"]["message"]


def hostile_cases(seed: int, count: int) -> list[Case]:
    """Embeddings bodies with one field set to a hostile value, or one field's JSON text replaced
    by a literal the encoder never writes, or nested past the encoder's limit."""
    rng = random.Random(seed)
    marker = "@@SPLICE@@"
    cases = []
    for i in range(count):
        path = rng.choice(FIELDS)
        kind = i % 3
        if kind == 0:
            value = rng.choice(HOSTILE)
            body = orjson.dumps(_with(path, value))
            name = f"{'.'.join(map(str, path))}={str(value)[:20]!r}"
        else:
            literal = rng.choice(RAW_NUMBERS + RAW_STRINGS)
            if kind == 2:
                depth = rng.choice(DEPTHS)
                literal = b"[" * depth + b'"d"' + b"]" * depth
            body = orjson.dumps(_with(path, marker)).replace(f'"{marker}"'.encode(), literal)
            name = f"{'.'.join(map(str, path))} literal {literal[:20]!r}"
        cases.append(Case(name, path=PATH, body=body))
    return cases


def test_hostile_bodies_get_no_5xx_and_good_errors(gateway: Gateway) -> None:
    auth = {"key": gateway.api_key.encode(), "admin": ADMIN_TOKEN.encode()}
    statuses: dict[int, int] = {}
    found = []
    for case in hostile_cases(seed=17, count=240):
        answer = send("127.0.0.1", gateway.port, case.wire(auth), case.half_close)
        statuses[answer.status or 0] = statuses.get(answer.status or 0, 0) + 1
        trouble = problem(case, answer)
        if trouble is not None:
            found.append(trouble)
    assert found == [], statuses
    assert statuses.get(400, 0) > 100, statuses  # the cases reach the checks
    assert statuses.get(200, 0) > 5, statuses  # and some hostile values are fine inputs


GARBAGE: list[Any] = [
    {"data": [{"index": 0, "embedding": ["x", 1]}]},  # not numbers
    {"data": [{"index": 0, "embedding": "%%% not base64"}]},
    {"data": [{"index": 3, "embedding": [1.0]}]},  # an index past the inputs
    {"data": "nope"},
    {"object": "list"},  # no data
    [1, 2, 3],  # not an object
]


def test_an_upstreams_garbage_is_a_502(
    crafted: CraftedUpstream, db_url: str, tmp_path: Path
) -> None:
    config = {
        "providers": {"up": openai_provider(crafted.base_url, local=False)},
        "endpoints": [{"provider": "up", "model": "e", "capabilities": ["embeddings.text"]}],
    }
    # never cooled: each reply is judged on its own (a cooling endpoint would answer 503)
    never = {"cooldown_consecutive_failures": 1000, "cooldown_min_requests": 1000}
    with Gateway(config, db_url, tmp_path, **never) as gw:
        for reply in GARBAGE:
            crafted.reply = reply
            for encoding in ("float", "base64"):
                body = orjson.dumps({"model": "default", "input": "x", "encoding_format": encoding})
                status, payload = _post(gw, body)
                assert status == 502, (reply, payload)
                assert payload["error"]["type"] == "upstream_error"
                assert payload["error"]["code"] == "bad_response"
