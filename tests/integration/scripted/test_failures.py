"""Scripted failures as the official openai SDK sees them, plus ``times``, ``rate`` and rules."""

from __future__ import annotations

import json
import time
from typing import Any

import openai
import pytest

from rolecall.providers.scripted import UpstreamHandle

from .conftest import HELLO


def _fail(upstream: UpstreamHandle, **failure: Any) -> None:
    upstream.set_script({"models": {"m": {"answer": "one two three four", "fail": failure}}})


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
        (429, openai.RateLimitError),
        (401, openai.AuthenticationError),
        (400, openai.BadRequestError),
        (402, openai.APIStatusError),
    ],
)
def test_status_failures_map_to_sdk_errors(
    client: openai.OpenAI, upstream: UpstreamHandle, status: int, error: type[Exception]
) -> None:
    _fail(upstream, kind="status", status=status)
    with pytest.raises(error) as raised:
        client.chat.completions.create(model="m", messages=HELLO)
    assert isinstance(raised.value, openai.APIStatusError)
    assert raised.value.status_code == status
    assert f"HTTP {status}" in raised.value.message


def test_status_failure_on_a_stream(client: openai.OpenAI, upstream: UpstreamHandle) -> None:
    _fail(upstream, kind="status", status=503)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=HELLO, stream=True)


def test_timeout_is_a_client_timeout(upstream: UpstreamHandle) -> None:
    _fail(upstream, kind="timeout", seconds=5)
    with openai.OpenAI(base_url=upstream.base_url, api_key="x", max_retries=0, timeout=0.2) as sdk:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            sdk.chat.completions.create(model="m", messages=HELLO)
    assert time.monotonic() - started < 2


def test_timeout_closes_after_its_seconds(client: openai.OpenAI, upstream: UpstreamHandle) -> None:
    _fail(upstream, kind="timeout", seconds=0.1)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=HELLO)


def test_reset_is_a_connection_error(client: openai.OpenAI, upstream: UpstreamHandle) -> None:
    _fail(upstream, kind="reset")
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=HELLO)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=HELLO, stream=True)


def test_cut_drops_the_stream_before_it_finishes(
    client: openai.OpenAI, upstream: UpstreamHandle
) -> None:
    _fail(upstream, kind="cut", after_chunks=2)
    received: list[str] = []
    finishes: list[str | None] = []

    def consume() -> None:
        for chunk in client.chat.completions.create(model="m", messages=HELLO, stream=True):
            received.append(chunk.choices[0].delta.content or "")
            finishes.append(chunk.choices[0].finish_reason)

    with pytest.raises(openai.APIConnectionError):
        consume()
    assert "".join(received) == "one two"
    assert finishes == [None, None, None]  # the role chunk and two answer chunks, no finish


def test_cut_on_a_non_streamed_request_is_a_connection_error(
    client: openai.OpenAI, upstream: UpstreamHandle
) -> None:
    _fail(upstream, kind="cut")
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=HELLO)


def test_garbage_is_a_200_that_is_not_json(client: openai.OpenAI, upstream: UpstreamHandle) -> None:
    _fail(upstream, kind="garbage")
    raw = client.chat.completions.with_raw_response.create(model="m", messages=HELLO)
    assert raw.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw.http_response.text)
    with pytest.raises(json.JSONDecodeError):
        raw.parse()


def test_times_fails_exactly_n_requests_then_succeeds(
    client: openai.OpenAI, upstream: UpstreamHandle
) -> None:
    _fail(upstream, kind="status", status=502, times=2)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="m", messages=HELLO)
    for _ in range(2):
        assert client.chat.completions.create(model="m", messages=HELLO).choices[0].message.content
    stats = upstream.stats()["models"]["m"]
    assert (stats["requests"], stats["failures"]) == (4, 2)


def _outcomes(client: openai.OpenAI, count: int) -> list[bool]:
    outcomes = []
    for _ in range(count):
        try:
            client.chat.completions.create(model="m", messages=HELLO)
            outcomes.append(True)
        except openai.InternalServerError:
            outcomes.append(False)
    return outcomes


def test_rate_is_seeded_and_repeatable(client: openai.OpenAI, upstream: UpstreamHandle) -> None:
    _fail(upstream, kind="status", status=500, rate=0.5)
    first = _outcomes(client, 12)
    upstream.reset()  # the RNG starts afresh from the script's seed
    assert _outcomes(client, 12) == first
    assert True in first
    assert False in first


def test_rules_by_prompt_substring_and_nth(client: openai.OpenAI, upstream: UpstreamHandle) -> None:
    upstream.set_script(
        {
            "models": {"m": {"answer": "default"}},
            "rules": [
                {"prompt_contains": "weather", "answer": "sunny"},
                {"model": "m", "nth": 2, "fail": {"kind": "status", "status": 429}},
            ],
        }
    )

    def ask(prompt: str) -> str | None:
        messages: Any = [
            {"role": "user", "content": "earlier weather"},
            {"role": "assistant", "content": "x"},
        ]
        messages.append({"role": "user", "content": prompt})
        completion = client.chat.completions.create(model="m", messages=messages)
        return completion.choices[0].message.content

    assert ask("what is the weather?") == "sunny"
    assert ask("hello") == "default"  # only the last user message is matched
    with pytest.raises(openai.RateLimitError):
        ask("hello again")  # the second request matching rule 2
    assert ask("and again") == "default"


def test_every_kth_request(client: openai.OpenAI, upstream: UpstreamHandle) -> None:
    upstream.set_script({"models": {"m": {"answer": "a"}}, "rules": [{"every": 3, "answer": "b"}]})
    answers = [
        client.chat.completions.create(model="m", messages=HELLO).choices[0].message.content
        for _ in range(6)
    ]
    assert answers == ["a", "a", "b", "a", "a", "b"]
