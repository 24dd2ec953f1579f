"""Embeddings batches: an input list split by the endpoint's batch size, replies merged in input
order with usage summed, and replies that do not fit their batch refused as failures."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from rolecall.execution.batching import (
    DEFAULT_BATCH_SIZE,
    embed_batched,
    merge_replies,
    split_inputs,
)
from rolecall.execution.failures import UpstreamFailure
from rolecall.inventory.config import ProviderConfig, parse_inventory
from rolecall.inventory.inventory import build_inventory


def reply(vectors: list[list[float]], tokens: int | None, order: list[int] | None = None) -> Any:
    indices = order or list(range(len(vectors)))
    data = [{"object": "embedding", "index": i, "embedding": vectors[i]} for i in indices]
    body: dict[str, Any] = {"object": "list", "data": data, "model": "m"}
    if tokens is not None:
        body["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
    return body


def test_split_keeps_order_and_a_short_list_whole() -> None:
    assert split_inputs(["a", "b"], 3) == [["a", "b"]]
    assert split_inputs(list("abcdefg"), 3) == [["a", "b", "c"], ["d", "e", "f"], ["g"]]
    assert DEFAULT_BATCH_SIZE == 2048


def test_merge_reindexes_in_input_order_and_sums_usage() -> None:
    first = reply([[1.0], [2.0]], 5, order=[1, 0])  # an upstream may answer out of order
    second = reply([[3.0]], 2)
    merged = merge_replies([first, second], [2, 1])
    assert [(d["index"], d["embedding"]) for d in merged["data"]] == [
        (0, [1.0]),
        (1, [2.0]),
        (2, [3.0]),
    ]
    assert merged["usage"] == {"prompt_tokens": 7, "total_tokens": 7}
    assert "usage" not in merge_replies([reply([[1.0]], None)], [1])


@pytest.mark.parametrize(
    ("bad", "failure"),
    [
        (reply([[1.0]], 1), "bad_response"),  # one vector for two inputs
        (
            {"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [2.0]}]},
            "bad_response",
        ),
        (
            {"data": [{"index": 0, "embedding": [1.0]}, {"index": 5, "embedding": [2.0]}]},
            "bad_response",
        ),
        ({"data": [{"index": 0}, {"index": 1}]}, "bad_response"),
        (
            {"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [1.0, 2.0]}]},
            "bad_response",
        ),
    ],
    ids=["count", "repeated-index", "index-out-of-range", "no-embedding", "ragged"],
)
def test_a_reply_that_does_not_fit_is_a_failure(bad: Any, failure: str) -> None:
    with pytest.raises(UpstreamFailure) as caught:
        merge_replies([bad], [2])
    assert caught.value.failure == failure


def test_dimensions_an_endpoint_ignores_are_a_terminal_failure() -> None:
    with pytest.raises(UpstreamFailure) as caught:
        merge_replies([reply([[1.0, 2.0]], 1)], [1], dimensions=4)
    assert caught.value.failure == "invalid_request"
    assert not caught.value.falls_back
    assert "'dimensions': 4" in caught.value.message


class Recording:
    """An adapter that embeds each input as ``[len(text)]`` and records the batches it saw."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def embed(
        self, provider: ProviderConfig, body: Mapping[str, Any], headers: Any = None
    ) -> dict[str, Any]:
        batch = list(body["input"])
        self.batches.append(batch)
        assert body["model"] == "upstream-name"
        return reply([[float(len(t))] for t in batch], len(batch))


def test_embed_batched_sends_each_batch_to_the_endpoint() -> None:
    config = parse_inventory(
        {
            "providers": {"p": {"kind": "openai_compatible", "base_url": "http://127.0.0.1:9/v1"}},
            "endpoints": [
                {
                    "provider": "p",
                    "model": "upstream-name",
                    "id": "ep",
                    "capabilities": ["embeddings.text"],
                    "batch_size": 2,
                }
            ],
        }
    )
    endpoint = build_inventory(config).endpoints["ep"]
    adapter = Recording()
    texts = ["a", "bb", "ccc", "dddd", "eeeee"]
    merged = asyncio.run(
        embed_batched(adapter, endpoint, {"model": "default", "input": texts}, None)  # type: ignore[arg-type]
    )
    assert adapter.batches == [["a", "bb"], ["ccc", "dddd"], ["eeeee"]]
    assert [d["embedding"] for d in merged["data"]] == [[1.0], [2.0], [3.0], [4.0], [5.0]]
    assert merged["usage"]["prompt_tokens"] == 5
    assert endpoint.embeddings_only
