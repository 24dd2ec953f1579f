"""Real traffic of every request outcome through a gateway over two scripted upstreams: served,
served on a fallback, failed everywhere, decision-only, refused for want of an eligible endpoint,
and refused by a spent budget. Shared by the console's integration and browser tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import openai

from rolecall.gateway.auth import create_api_key
from rolecall.limits.policy import LimitSpec
from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.console.conftest import console_inventory
from tests.integration.gateway.harness import Gateway

FALLBACK = "please fall back"  # the local model fails it: the remote one serves it
FAIL_ALL = "please fail everywhere"  # both models fail it
_FAIL = {"kind": "status", "status": 500}
LOCAL_SCRIPT = {
    "models": {"small": {"answer": "local answer", "latency_ms": 5}},
    "rules": [
        {"prompt_contains": FALLBACK, "fail": _FAIL},
        {"prompt_contains": FAIL_ALL, "fail": _FAIL},
    ],
}
REMOTE_SCRIPT = {
    "models": {"large": {"answer": "remote answer", "latency_ms": 30}},
    "rules": [{"prompt_contains": FAIL_ALL, "fail": _FAIL}],
}
# after the failures the endpoints cool down for 10 min x the harness's cooldown scale: 0.3 s
COOLED_S = 1.0


def outcomes_inventory(local: Any, remote: Any) -> dict[str, Any]:
    """The console tests' pool (a free local endpoint, a priced remote one)."""
    return console_inventory(local, remote)


@contextmanager
def upstreams() -> Iterator[tuple[Any, Any]]:
    local = ScriptedUpstream.start_in_thread(LOCAL_SCRIPT)
    remote = ScriptedUpstream.start_in_thread(REMOTE_SCRIPT)
    try:
        yield local, remote
    finally:
        local.stop()
        remote.stop()


@dataclass
class Sent:
    """Request ids (and decision ids) of what was sent, by what became of it."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    decisions: dict[str, str] = field(default_factory=dict)  # request id → decision id

    def add(self, kind: str, headers: Any) -> str:
        request_id = str(headers["x-rolecall-request-id"])
        self.ids.setdefault(kind, []).append(request_id)
        self.decisions[request_id] = str(headers["x-rolecall-decision-id"])
        return request_id

    def count(self, *kinds: str) -> int:
        return sum(len(self.ids.get(k, [])) for k in kinds)


def chat(client: openai.OpenAI, model: str = "default", text: str = "hi") -> tuple[int, Any]:
    """(status, response headers) of one chat completion, failed or not."""
    messages = [{"role": "user", "content": text}]
    try:
        raw = client.chat.completions.with_raw_response.create(model=model, messages=messages)
    except openai.APIStatusError as exc:
        return exc.status_code, exc.response.headers
    return raw.http_response.status_code, raw.http_response.headers


def send_each_outcome(gw: Gateway, served: int = 3) -> Sent:
    """``served`` plain requests, then one of each other outcome; asserts each got its status."""
    sent = Sent()
    client = gw.client()
    expected = [("served", "default", "hi", 200)] * served + [
        ("decision_only", "default.decision-only", "hi", 200),
        ("fallback", "default", FALLBACK, 200),
        ("failed", "default", FAIL_ALL, 502),
    ]
    for kind, model, text, status in expected:
        got, headers = chat(client, model, text)
        assert got == status, (kind, got)
        sent.add(kind, headers)
    time.sleep(COOLED_S)
    got, headers = chat(client, "embedder")  # a role no endpoint can serve
    assert got == 400, got
    sent.add("no_eligible", headers)
    _, key = create_api_key(gw.services.storage.keys, "spent", limits=LimitSpec(budget_tokens=1))
    gw.keys.refresh()
    limited = openai.OpenAI(base_url=gw.base_url, api_key=key, max_retries=0)
    try:
        got, headers = chat(limited)
    finally:
        limited.close()
    assert got == 429, got
    sent.add("budget", headers)
    return sent
