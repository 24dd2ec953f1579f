"""The openai SDK's legacy ``completions.create`` (JSON and streamed) against a real gateway over
a scripted upstream, each request leaving the records a chat completion leaves, and the 400s
naming what a chat model cannot honour; the decision-only alias on the translated routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import orjson
import pytest

from tests.integration.gateway.harness import Gateway

from .scripted_pool import (
    check_records,
    plain_script,
    pool_gateway,
    pool_upstream,
    script,
    sent_upstream,
)


@pytest.fixture(scope="module")
def upstream() -> Iterator[Any]:
    with pool_upstream() as handle:
        yield handle


@pytest.fixture(scope="module")
def gateway(upstream: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with pool_gateway(upstream, tmp_path_factory.mktemp("clients")) as gw:
        yield gw


@pytest.fixture(autouse=True)
def plain(upstream: Any) -> None:
    plain_script(upstream)


def test_openai_completions_create(gateway: Gateway, upstream: Any) -> None:
    raw = gateway.client().completions.with_raw_response.create(
        model="default", prompt="Say hello", max_tokens=32, temperature=0.1
    )
    completion = raw.parse()
    assert completion.object == "text_completion"
    assert completion.id.startswith("cmpl-")
    assert completion.choices[0].text == "fast answer"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.completion_tokens > 0
    sent = sent_upstream(upstream)
    assert sent["messages"] == [{"role": "user", "content": "Say hello"}]
    assert sent["max_tokens"] == 32
    check_records(gateway, raw.headers)


def test_openai_completions_stream(gateway: Gateway, upstream: Any) -> None:
    script(upstream, answer="one two three")
    raw = gateway.client().completions.with_raw_response.create(
        model="default",
        prompt=["Count to three"],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(raw.parse())
    text = "".join(chunk.choices[0].text for chunk in chunks if chunk.choices)
    assert text == "one two three"
    assert {chunk.object for chunk in chunks} == {"text_completion"}
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == ["stop"]
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 3
    assert sent_upstream(upstream)["max_tokens"] == 16  # OpenAI's default on this route
    check_records(gateway, raw.headers)


def test_openai_completions_refuses_what_it_cannot_honour(gateway: Gateway) -> None:
    client = gateway.client()
    for extra, param in (({"n": 2}, "n"), ({"echo": True}, "echo"), ({"logprobs": 1}, "logprobs")):
        with pytest.raises(openai.BadRequestError) as caught:
            client.completions.create(model="default", prompt="x", **extra)  # type: ignore[call-overload]
        assert caught.value.body["param"] == param  # type: ignore[index]
        assert caught.value.body["code"] == "unsupported_parameter"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as batch:
        client.completions.create(model="default", prompt=["one", "two"])
    assert batch.value.body["param"] == "prompt"  # type: ignore[index]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/completions", {"prompt": "hi"}),
        ("/v1/messages", {"max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}),
    ],
)
def test_the_decision_only_alias_answers_the_decision(
    gateway: Gateway, path: str, body: dict[str, Any]
) -> None:
    auth = {"authorization": f"Bearer {gateway.api_key}"}
    request = orjson.dumps({"model": "default.decision-only", **body})
    status, answer = gateway.raw(path, request, auth)
    assert status == 200, answer
    assert answer["object"] == "rolecall.decision"
    assert answer["decision"]["chosen_endpoint_id"] == "ep-a"
