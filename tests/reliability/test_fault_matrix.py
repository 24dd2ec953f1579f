"""The fault matrix: each upstream fault → what the client gets, what is recorded, and what it does
to the endpoint's cooldown, on SQLite and PostgreSQL.

Two crafted upstreams behind one gateway: ``primary`` (chosen: local, and the posture prefers
local) and ``backup`` (its fallback). Short timeouts (first token 0.6 s, idle 0.3 s) keep it fast.
`run_random_failures` is also the long version's driver (a bench script can call it).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.integration.gateway.harness import Gateway, openai_provider, refusing_port

from .conftest import CraftedUpstream

CHUNK = {"id": "c-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
TIMEOUTS = {
    "upstream_timeout_s": 0.6,
    "upstream_idle_timeout_s": 0.3,
    "upstream_connect_timeout_s": 0.5,
}


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {**CHUNK, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


ROLE = chunk({"role": "assistant", "content": ""})


def answer_events(text: str) -> list[dict[str, Any]]:
    return [ROLE, chunk({"content": text[:3]}), chunk({"content": text[3:]}, "stop")]


def completion(text: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": text}
    return {
        "id": "c-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }


def upstream(name: str) -> CraftedUpstream:
    up = CraftedUpstream()
    up.reply = completion(f"from {name}")
    up.stream = answer_events(f"from {name}")
    up.usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    return up


def inventory(primary_url: str, backup_urls: list[str]) -> dict[str, Any]:
    """Primary is free and backups are dear, under the cost strategy: primary stays chosen
    whatever its failures do to its observed reliability."""
    providers = {"one": openai_provider(primary_url, local=True)}
    free = {"input_per_1m": 0, "output_per_1m": 0}
    endpoints = [{"provider": "one", "model": "m", "id": "primary", "price": free}]
    for i, url in enumerate(backup_urls):
        providers[f"b{i}"] = openai_provider(url, local=False)
        dear = {"input_per_1m": 100 + i, "output_per_1m": 100 + i}
        endpoints.append(
            {"provider": f"b{i}", "model": "m", "id": f"backup{i or ''}", "price": dear}
        )
    routing = {"compute_preference": "local", "strategy": "cost"}
    return {"providers": providers, "endpoints": endpoints, "routing": routing}


@dataclass
class Response:
    status_code: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class Client:
    """A keep-alive HTTP client for one thread (the stdlib's: no extra dependency)."""

    def __init__(self, base_url: str, api_key: str) -> None:
        url = urlsplit(base_url)
        self._path = url.path
        self._connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
        self._headers = {"authorization": f"Bearer {api_key}", "content-type": "application/json"}

    def chat(self, body: dict[str, Any]) -> Response:
        payload = json.dumps(body)
        try:
            self._connection.request(
                "POST", f"{self._path}/chat/completions", payload, self._headers
            )
        except (BrokenPipeError, ConnectionResetError):
            # the server closed the idle keep-alive connection (its keep-alive timeout passed
            # while the test read the records): the request never left, so send it anew, as
            # every HTTP client does with a stale pooled connection
            self._connection.close()
            self._connection.request(
                "POST", f"{self._path}/chat/completions", payload, self._headers
            )
        reply = self._connection.getresponse()
        text = reply.read().decode()
        headers = {k.lower(): v for k, v in reply.getheaders()}
        return Response(reply.status, headers, text)

    def close(self) -> None:
        self._connection.close()


@dataclass
class Rig:
    gw: Gateway
    primary: CraftedUpstream
    backup: CraftedUpstream
    http: Client

    def post(self, stream: bool = False, **extra: Any) -> Response:
        body = {"model": "default", "messages": [{"role": "user", "content": "hi"}], **extra}
        if stream:
            body["stream"] = True
        return self.http.chat(body)

    def reset(self) -> None:
        book = self.gw.services.routing.cooldowns
        for endpoint_id in ("primary", "backup"):
            book.clear(endpoint_id)
        for up in (self.primary, self.backup):
            up.plan.clear()
            up.requests.clear()

    def cooling(self, endpoint_id: str) -> bool:
        book = self.gw.services.routing.cooldowns
        return book.active(endpoint_id, time.time_ns() // 1_000_000) is not None

    def usage(self, response: Response) -> dict[str, Any]:
        assert self.gw.services.recorder.flush(10.0)
        (event,) = self.gw.services.storage.usage.for_request(
            response.headers["x-rolecall-request-id"]
        )
        return event

    def attempts(self, response: Response) -> list[tuple[str, str | None]]:
        """(endpoint, error class) of each attempt, from the stored trace."""
        self.usage(response)  # flushed
        spans = self.gw.services.storage.traces.spans_for(response.headers["x-rolecall-request-id"])
        return [
            (s["attributes"]["endpoint_id"], s["attributes"].get("error_class"))
            for s in spans
            if s["span_type"] == "provider.prefill"
        ]


@pytest.fixture
def rig(db_url: str, tmp_path: Path) -> Iterator[Rig]:
    primary, backup = upstream("primary"), upstream("backup")
    try:
        config = inventory(primary.base_url, [backup.base_url])
        with Gateway(config, db_url, tmp_path, **TIMEOUTS) as gw:
            # execution alone: the live samples of the faults must not re-rank the endpoints
            # (observed reliability would move the router to backup, whenever profiles came due)
            gw.services.recorder.on_profile = None
            client = Client(gw.base_url, gw.api_key)
            try:
                yield Rig(gw, primary, backup, client)
            finally:
                client.close()
    finally:
        primary.close()
        backup.close()


def text_of(response: Response) -> tuple[str, list[dict[str, Any]]]:
    """A streamed reply's text and its error events."""
    text, errors = "", []
    for line in response.text.splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        event = json.loads(line[6:])
        if "error" in event:
            errors.append(event["error"])
        for choice in event.get("choices") or []:
            text += (choice.get("delta") or {}).get("content") or ""
    return text, errors


P, B = "primary", "backup"
NON_STREAM_FAULTS = [
    # fault on primary's first request, who answers, the attempts recorded
    ({"kind": "status", "status": 500}, "from backup", [(P, "upstream_5xx"), (P, "upstream_5xx")]),
    ({"kind": "reset"}, "from primary", [(P, "network"), (P, None)]),
    ({"kind": "reset_body"}, "from primary", [(P, "network"), (P, None)]),
    ({"kind": "garbage"}, "from primary", [(P, "bad_response"), (P, None)]),
    # slow first byte: the upstream may still be working, so no retry in place
    ({"kind": "slow", "seconds": 1.0}, "from backup", [(P, "timeout"), (B, None)]),
    ({"kind": "status", "status": 401}, "from backup", [(P, "auth"), (B, None)]),
    (
        {"kind": "status", "status": 429, "headers": {"retry-after": "30"}},
        "from backup",
        [(P, "rate_limited"), (B, None)],
    ),
]


def test_non_streaming_faults(rig: Rig) -> None:
    for fault, answered, attempts in NON_STREAM_FAULTS:
        rig.reset()
        if attempts[-1] == (P, "upstream_5xx"):  # both tries fail, then the backup answers
            rig.primary.plan = [fault, fault]
            attempts = [*attempts, (B, None)]
        else:
            rig.primary.plan = [fault]
        response = rig.post()
        # read at once: the scaled cooldown lasts 0.3 s, less than storing the records may take
        cooling = rig.cooling(P)
        assert response.status_code == 200, (fault, response.text)
        assert response.json()["choices"][0]["message"]["content"] == answered, (
            fault,
            rig.attempts(response),
        )
        assert rig.attempts(response) == attempts, fault
        event = rig.usage(response)
        assert event["endpoint_id"] == answered.removeprefix("from "), fault
        assert "error_class" not in event, fault
        # auth cools at once; one or two transient failures do not
        assert cooling == (fault.get("status") == 401), fault


def test_a_short_retry_after_is_waited_then_retried(rig: Rig) -> None:
    rig.primary.plan = [{"kind": "status", "status": 429, "headers": {"retry-after": "0.5"}}]
    started = time.monotonic()
    response = rig.post()
    assert time.monotonic() - started >= 0.5
    assert response.json()["choices"][0]["message"]["content"] == "from primary"
    assert rig.attempts(response) == [(P, "rate_limited"), (P, None)]


def test_a_long_retry_after_bounds_the_cooldown_from_below(rig: Rig) -> None:
    rig.primary.plan = [
        {"kind": "status", "status": 503, "headers": {"retry-after": "600"}} for _ in range(3)
    ]
    for _ in range(3):  # three in a row: a cooldown, at least as long as Retry-After
        assert rig.post().json()["choices"][0]["message"]["content"] == "from backup"
    book = rig.gw.services.routing.cooldowns
    cooldown = book.active(P, time.time_ns() // 1_000_000)
    assert cooldown is not None
    assert cooldown.until_ms - cooldown.updated_ms >= 600_000  # the schedule is scaled far below
    assert len(rig.primary.requests) == 3  # never retried in place


def test_three_failures_in_a_row_start_a_cooldown(rig: Rig) -> None:
    rig.primary.plan = [{"kind": "status", "status": 500}] * 3
    assert rig.post().status_code == 200  # two failed attempts
    assert not rig.cooling(P)
    response = rig.post()  # the third: cooled at once, no retry (the scaled cooldown is short)
    assert rig.cooling(P)
    assert rig.post().headers["x-rolecall-endpoint"] == "backup"  # routed around
    assert rig.attempts(response) == [(P, "upstream_5xx"), (B, None)]


STREAM_FAULTS_BEFORE_CONTENT = [
    ([ROLE], True, "network"),  # cut after the role chunk
    ([ROLE, {"error": {"message": "overloaded"}}], False, "upstream_5xx"),
    ([ROLE], False, "bad_response"),  # [DONE] without any content
    ([ROLE, "<html>"], False, "bad_response"),
]


def test_a_stream_failing_before_its_first_token_falls_back_cleanly(rig: Rig) -> None:
    for events, cut, error_class in STREAM_FAULTS_BEFORE_CONTENT:
        rig.reset()
        rig.primary.plan = [{"kind": "stream", "events": events, "cut": cut}]
        response = rig.post(stream=True)
        assert response.status_code == 200
        text, errors = text_of(response)
        assert (text, errors) == ("from primary", []), events  # retried in place, whole answer
        assert rig.attempts(response) == [(P, error_class), (P, None)]
        assert "error_class" not in rig.usage(response)


def test_a_slow_first_token_falls_back_without_a_retry(rig: Rig) -> None:
    events = [ROLE, *answer_events("from primary")[1:]]
    rig.primary.plan = [{"kind": "stream", "events": events, "gap": 1.0}]
    response = rig.post(stream=True)
    assert text_of(response) == ("from backup", [])
    assert rig.attempts(response) == [(P, "timeout"), (B, None)]


STREAM_CUTS_AFTER_CONTENT = [
    ({"cut": True}, "was cut"),
    ({}, "without a finish reason"),
    ({"tail": "<html>"}, "was cut"),
    ({"stall": 1.5}, "went idle"),
]


def test_a_stream_cut_after_content_ends_with_stream_truncated(rig: Rig) -> None:
    for how, message in STREAM_CUTS_AFTER_CONTENT:
        rig.reset()
        events: list[Any] = [ROLE, chunk({"content": "par"})]
        if "tail" in how:
            events.append(how["tail"])
        rig.primary.plan = [{"kind": "stream", "events": events, **how}]
        started = time.monotonic()
        response = rig.post(stream=True)
        assert time.monotonic() - started < 1.4  # an idle stream is cut at the idle timeout
        text, errors = text_of(response)
        assert text == "par", how
        assert [e["code"] for e in errors] == ["stream_truncated"], how
        assert message in errors[0]["message"], (how, errors)
        assert rig.usage(response)["error_class"] == "stream_truncated"
        book = rig.gw.services.routing.cooldowns
        assert book.last_failed_ms(P) > 0, how  # counted towards primary's cooldown
        assert rig.attempts(response) == [(P, None)]  # nothing was retried: bytes were sent
        # the live sample is reliability evidence against the endpoint that cut the stream
        samples = rig.gw.services.storage.samples.for_endpoint(P, source="live_request")
        assert samples[-1].error_class == "stream_truncated", how


def test_a_slow_healthy_stream_is_not_cut(rig: Rig) -> None:
    words = [chunk({"content": f"w{i} "}) for i in range(8)]
    events = [ROLE, *words, chunk({}, "stop")]
    rig.primary.plan = [{"kind": "stream", "events": events, "gap": 0.15}]
    started = time.monotonic()
    response = rig.post(stream=True)
    assert time.monotonic() - started > 1.2  # twice the first-token timeout
    assert text_of(response) == ("".join(f"w{i} " for i in range(8)), [])
    assert "error_class" not in rig.usage(response)


def test_streams_ask_for_usage_and_relay_it_only_when_the_client_did(rig: Rig) -> None:
    response = rig.post(stream=True)
    assert rig.primary.requests[-1]["stream_options"] == {"include_usage": True}
    assert '"usage"' not in response.text
    event = rig.usage(response)
    assert (event["tokens_in"], event["tokens_out"]) == (5, 2)  # exact, from the usage chunk
    response = rig.post(stream=True, stream_options={"include_usage": True})
    assert '"usage": {"prompt_tokens": 5' in response.text


def test_a_refused_connection_is_retried_then_falls_back(db_url: str, tmp_path: Path) -> None:
    backup = upstream("backup")
    try:
        with (
            refusing_port() as port,
            Gateway(
                inventory(f"http://127.0.0.1:{port}/v1", [backup.base_url]),
                db_url,
                tmp_path,
                **TIMEOUTS,
            ) as gw,
        ):
            reply = gw.client().chat.completions.with_raw_response.create(
                model="default", messages=[{"role": "user", "content": "hi"}]
            )
            assert reply.parse().choices[0].message.content == "from backup"
            assert gw.services.recorder.flush(10.0)
            request_id = reply.headers["x-rolecall-request-id"]
            spans = gw.services.storage.traces.spans_for(request_id)
            tried = [
                (s["attributes"]["endpoint_id"], s["attributes"].get("error_class"))
                for s in spans
                if s["span_type"] == "provider.prefill"
            ]
            assert tried == [(P, "network"), (P, "network"), (B, None)]
    finally:
        backup.close()


def test_panic_routes_to_the_least_recently_failed_cooling_endpoint(rig: Rig) -> None:
    book = rig.gw.services.routing.cooldowns
    now = time.time_ns() // 1_000_000
    for _ in range(4):  # long enough to outlast the test at the harness's scale
        book.enter(B, "upstream_5xx", now - 1000)
        book.enter(P, "upstream_5xx", now)
    response = rig.post()
    assert response.status_code == 200
    assert response.headers["x-rolecall-panic"] == "true"
    assert response.headers["x-rolecall-endpoint"] == "backup"  # failed longer ago
    assert not rig.cooling(B)  # a success ends its cooldown
    assert rig.cooling(P)
    # the stored trace says so: the selection found no endpoint and panic tried backup anyway
    rig.usage(response)  # flushed
    spans = rig.gw.services.storage.traces.spans_for(response.headers["x-rolecall-request-id"])
    selection = next(s for s in spans if s["span_type"] == "router.selection")
    assert selection["attributes"]["panic"] is True
    fallbacks = [s for s in spans if s["span_type"] == "router.fallback"]
    assert [s["attributes"]["endpoint_id"] for s in fallbacks] == [B]
    assert all(s["attributes"]["panic"] is True for s in fallbacks)


def test_panic_that_fails_too_is_a_503_with_retry_after(rig: Rig) -> None:
    book = rig.gw.services.routing.cooldowns
    now = time.time_ns() // 1_000_000
    for _ in range(4):
        book.enter(B, "upstream_5xx", now)
        book.enter(P, "upstream_5xx", now)
    fail = {"kind": "status", "status": 500}
    rig.primary.plan = [fail, fail]
    rig.backup.plan = [fail, fail]
    response = rig.post()
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["x-rolecall-panic"] == "true"
    assert response.json()["error"]["code"] == "no_eligible_endpoint"


@dataclass
class Tally:
    tried: int = 0
    answered: int = 0
    errors_5xx: int = 0
    errors_503: int = 0
    panics: int = 0


def run_random_failures(base_url: str, api_key: str, requests: int, concurrency: int) -> Tally:
    """Send ``requests`` chat completions at ``concurrency``; count what came back."""
    tally = Tally()
    lock = threading.Lock()
    body = {"model": "default", "messages": [{"role": "user", "content": "hi"}]}
    local = threading.local()
    clients: list[Client] = []

    def one(_: int) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = Client(base_url, api_key)
            with lock:
                clients.append(client)
        response = client.chat(body)
        with lock:
            tally.tried += 1
            tally.answered += response.status_code == 200
            tally.errors_5xx += response.status_code >= 500
            tally.errors_503 += response.status_code == 503
            tally.panics += response.headers.get("x-rolecall-panic") == "true"

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(requests)))
    for client in clients:
        client.close()
    return tally


def test_three_endpoints_failing_at_random_rarely_answer_503(tmp_path: Path) -> None:
    # availability does not depend on the database: SQLite only, to keep the suite short
    db_url = f"sqlite:///{tmp_path / 'data' / 'rolecall.db'}"
    ups = [upstream(name) for name in ("primary", "backup", "backup1")]
    for up, rate in zip(ups, (0.3, 0.25, 0.2), strict=True):
        up.fail_rate = rate
    try:
        config = inventory(ups[0].base_url, [u.base_url for u in ups[1:]])
        with Gateway(config, db_url, tmp_path, retry_budget_s=1.0) as gw:
            tally = run_random_failures(gw.base_url, gw.api_key, 600, 8)
    finally:
        for up in ups:
            up.close()
    assert tally.tried == 600
    assert tally.errors_503 < 6, tally  # < 1 %
    assert tally.answered + tally.errors_5xx == 600
    if tally.errors_503:
        assert tally.panics, tally  # a 503 here only comes after panic attempts failed
