"""Bad input on what this change added: ``role_model`` in chat bodies, the ``x-role-model-intent``
header, model names (``/v1/models/{id}`` and ``model``) and the downstream discovery route. Every
answer is below 500 and every 4xx an OpenAI-style error naming the field (the fuzzer's checks,
reused)."""

from __future__ import annotations

import json
import random
from typing import Any, Final
from urllib.parse import quote

from tests.integration.gateway.harness import Gateway
from tests.reliability.fuzz import Case, problem, send
from tests.reliability.fuzz_corpus import BASE, HOSTILE, _dumps, _set

INTENT_PATHS: Final = [
    ("role_model",),
    ("role_model", "contract_version"),
    ("role_model", "intent"),
    *[
        ("role_model", "intent", key)
        for key in (
            "role", "role_hint_id", "task", "task_type", "capabilities", "modalities",
            "tool_classes", "confidence", "evidence", "alternatives", "unknown",
        )
    ],
    ("role_model", "intent", "alternatives", 0),
    ("role_model", "intent", "alternatives", 0, "task_type"),
]  # fmt: skip
MODEL_NAMES: Final = [
    "", "rolecall/", "role-model/", "rolecall/rolecall/default", "default.", ".hybrid",
    "baseline.nowhere", "learned.hybrid", "m" * 5000, "\u202e", "😀", "%00", "a/b/c",
]  # fmt: skip
DOWNSTREAM: Final = "/api/role-model/downstream/openai"


def _cases(seed: int, count: int) -> list[Case]:
    rng = random.Random(seed)
    base: dict[str, Any] = {**BASE, "role_model": {"intent": {"alternatives": [{}]}}}
    cases = []
    for i in range(count):
        path, value = rng.choice(INTENT_PATHS), rng.choice(HOSTILE)
        cases.append(Case(f"intent {i} {path[-1]}", body=_dumps(_set(base, path, value))))
    for value in (*HOSTILE[:12], "{", "[1]", '{"role": 1}', "x" * 9000):
        header = value if isinstance(value, str) else json.dumps(value)
        raw = header.encode("utf-8", "surrogatepass")
        cases.append(
            Case(
                f"header {header[:10]!r}",
                body=_dumps(BASE),
                headers=[(b"x-role-model-intent", raw)],
            )
        )
    for name in MODEL_NAMES:
        cases.append(Case(f"model {name[:10]!r}", body=_dumps({**BASE, "model": name})))
        cases.append(
            Case(f"retrieve {name[:10]!r}", method="GET", path=f"/v1/models/{quote(name)}")
        )
    for method in ("POST", "PUT", "DELETE"):
        cases.append(Case(f"downstream {method}", method=method, path=DOWNSTREAM, body=b"{}"))
    cases.append(Case("downstream query", method="GET", path=DOWNSTREAM + "?x=%00&models=1"))
    return cases


def test_hostile_intents_model_names_and_discovery_get_good_errors(gateway: Gateway) -> None:
    # the discovery route under /api takes a gateway key, not the admin token
    auth = {"key": gateway.api_key.encode(), "admin": gateway.api_key.encode()}
    statuses = []
    for case in _cases(seed=17, count=150):
        answer = send("127.0.0.1", gateway.port, case.wire(auth), case.half_close)
        assert problem(case, answer) is None, (case.name, answer.status, answer.body[:200])
        statuses.append(answer.status)
    assert statuses.count(400) > 50  # the hostile values reach the checks
    assert statuses.count(200) > 10  # and unknown intent values are answered, not refused
