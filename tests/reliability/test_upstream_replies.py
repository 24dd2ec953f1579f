"""An upstream's bad ``usage`` is recorded as unknown: the client still gets the answer, and the
request's record is stored (a count the database cannot hold is not trusted either)."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.integration.gateway.harness import Gateway

from .conftest import CraftedUpstream

BAD_USAGE = [
    {"prompt_tokens": "abc", "completion_tokens": 3},
    [1, 2],
    "lots",
    {"prompt_tokens": 1e30, "completion_tokens": 10**30},
    {"prompt_tokens": -5, "completion_tokens": True},
    {"prompt_tokens": [7], "completion_tokens": {"n": 1}},
]


@pytest.fixture
def crafted(shared_crafted: CraftedUpstream) -> CraftedUpstream:
    """The module's upstream, as fresh: each test scripts it, then reads its own request's
    record (by id), so one gateway per backend serves the whole module."""
    shared_crafted.reset()
    return shared_crafted


@pytest.fixture
def crafted_gateway(crafted: CraftedUpstream, shared_crafted_gateway: Gateway) -> Gateway:
    return shared_crafted_gateway


def _completion(usage: Any) -> dict[str, Any]:
    return {
        "id": "c-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "fine"},
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
    }


def _stored_usage(gw: Gateway, request_id: str) -> dict[str, Any]:
    assert gw.services.recorder.flush(10.0)
    (event,) = gw.services.storage.usage.for_request(request_id)
    return event


@pytest.mark.parametrize("usage", BAD_USAGE, ids=[str(i) for i in range(len(BAD_USAGE))])
def test_bad_usage_is_answered_and_recorded_as_unknown(
    crafted: CraftedUpstream, crafted_gateway: Gateway, usage: Any
) -> None:
    crafted.reply = _completion(usage)
    reply = crafted_gateway.client().chat.completions.with_raw_response.create(
        model="default", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.parse().choices[0].message.content == "fine"
    event = _stored_usage(crafted_gateway, reply.headers["x-rolecall-request-id"])
    assert 0 <= event["tokens_in"] < 2**31  # the prompt estimate, not the upstream's claim
    assert 0 <= event["tokens_out"] < 2**31


def test_good_usage_is_recorded_exactly(crafted: CraftedUpstream, crafted_gateway: Gateway) -> None:
    crafted.reply = _completion({"prompt_tokens": 11, "completion_tokens": 7})
    reply = crafted_gateway.client().chat.completions.with_raw_response.create(
        model="default", messages=[{"role": "user", "content": "hi"}]
    )
    event = _stored_usage(crafted_gateway, reply.headers["x-rolecall-request-id"])
    assert (event["tokens_in"], event["tokens_out"]) == (11, 7)


@pytest.mark.parametrize("usage", BAD_USAGE, ids=[str(i) for i in range(len(BAD_USAGE))])
def test_bad_usage_in_a_stream_is_recorded_as_unknown(
    crafted: CraftedUpstream, crafted_gateway: Gateway, usage: Any
) -> None:
    chunk = {"id": "c-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    crafted.stream = [
        {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "fi"}}]},
        {**chunk, "choices": [{"index": 0, "delta": {"content": "ne"}, "finish_reason": "stop"}]},
        {**chunk, "choices": [], "usage": usage},
    ]
    with crafted_gateway.client().chat.completions.with_streaming_response.create(
        model="default", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as response:
        request_id = response.headers["x-rolecall-request-id"]
        text = "".join(c.choices[0].delta.content or "" for c in response.parse() if c.choices)
    assert text == "fine"
    event = _stored_usage(crafted_gateway, request_id)
    assert 0 <= event["tokens_in"] < 2**31
    assert 0 <= event["tokens_out"] < 2**31


def test_a_stream_without_a_finish_reason_is_a_truncation(
    crafted: CraftedUpstream, crafted_gateway: Gateway
) -> None:
    chunk = {"id": "c-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    crafted.stream = [
        {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]},
        {**chunk, "choices": [{"index": 0, "delta": {"content": "par"}, "finish_reason": None}]},
    ]
    text: list[str] = []

    def read(chunks: Any) -> None:
        for c in chunks:
            text.append(c.choices[0].delta.content or "" if c.choices else "")

    with crafted_gateway.client().chat.completions.with_streaming_response.create(
        model="default", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as response:
        request_id = response.headers["x-rolecall-request-id"]
        with pytest.raises(openai.APIError, match="without a finish reason"):
            read(response.parse())
    assert "".join(text) == "par"
    event = _stored_usage(crafted_gateway, request_id)
    assert event["error_class"] == "stream_truncated"
