"""Embeddings on one endpoint: an input list longer than the endpoint's batch size is sent in
batches, one after another, and the answers are merged back into one OpenAI reply in input order.

Batches go out sequentially: a llama.cpp server embeds one request at a time anyway, and a remote
API's batch limit is there to keep each call bounded. A failed batch fails the whole attempt (the
executor retries or falls back with every batch again): a reply made of two endpoints' vectors
would mix two embedding spaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from rolecall.execution.failures import UpstreamFailure
from rolecall.execution.ports import Adapter
from rolecall.inventory.inventory import Endpoint

# the most inputs one upstream call carries when the endpoint declares no ``batch_size``
# (OpenAI's own limit per embeddings request)
DEFAULT_BATCH_SIZE: Final = 2048

__all__ = ["DEFAULT_BATCH_SIZE", "embed_batched", "merge_replies", "split_inputs"]


def split_inputs(inputs: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """``inputs`` in consecutive slices of at most ``size`` (one slice when it fits)."""
    if len(inputs) <= size:
        return [inputs]
    return [inputs[start : start + size] for start in range(0, len(inputs), size)]


async def embed_batched(
    adapter: Adapter,
    endpoint: Endpoint,
    body: Mapping[str, Any],
    headers: Mapping[str, str] | None,
) -> dict[str, Any]:
    """Embed ``body["input"]`` (a list) on ``endpoint`` in batches of its batch size; one reply.
    Raises `UpstreamFailure` for a failed batch or a reply that does not fit the request."""
    inputs: Sequence[Any] = body["input"]
    batches = split_inputs(inputs, endpoint.batch_size or DEFAULT_BATCH_SIZE)
    replies = []
    for batch in batches:
        payload = {**body, "model": endpoint.model, "input": batch}
        replies.append(await adapter.embed(endpoint.provider, payload, headers))
    return merge_replies(replies, [len(b) for b in batches], body.get("dimensions"))


def merge_replies(
    replies: Sequence[Mapping[str, Any]], sizes: Sequence[int], dimensions: int | None = None
) -> dict[str, Any]:
    """One embeddings reply from the replies of consecutive batches of ``sizes`` inputs: items
    re-indexed in input order, usage summed. Each reply must hold exactly one embedding per
    input of its batch (any order, by ``index``), of ``dimensions`` numbers when asked."""
    data: list[dict[str, Any]] = []
    prompt_tokens = 0
    counted = False
    width: int | None = None
    for reply, size in zip(replies, sizes, strict=True):
        for item in _ordered(reply, size):
            vector = item["embedding"]
            width = _check_width(vector, width, dimensions)
            data.append({"object": "embedding", "index": len(data), "embedding": vector})
        tokens = _prompt_tokens(reply.get("usage"))
        if tokens is not None:
            prompt_tokens += tokens
            counted = True
    merged: dict[str, Any] = {"object": "list", "data": data, "model": replies[0].get("model")}
    if counted:
        merged["usage"] = {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}
    return merged


def _ordered(reply: Mapping[str, Any], size: int) -> list[Mapping[str, Any]]:
    """The reply's items by their ``index`` (0..size-1, each once)."""
    items = reply.get("data")
    if not isinstance(items, list) or len(items) != size:
        got = len(items) if isinstance(items, list) else "no"
        raise UpstreamFailure(
            "bad_response", 200, f"upstream returned {got} embeddings for {size} inputs"
        )
    slots: list[Mapping[str, Any] | None] = [None] * size
    for position, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("embedding"), list | str):
            raise UpstreamFailure(
                "bad_response", 200, "upstream embeddings item has no 'embedding' array"
            )
        index = item.get("index", position)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
            raise UpstreamFailure("bad_response", 200, "upstream embeddings item has a bad index")
        if slots[index] is not None:
            raise UpstreamFailure("bad_response", 200, "upstream repeated an embeddings index")
        slots[index] = item
    return [item for item in slots if item is not None]


def _check_width(vector: Any, width: int | None, dimensions: int | None) -> int | None:
    """Every vector of a reply has one length, ``dimensions`` when the client asked for it (an
    endpoint that cannot shorten its vectors fails the request rather than ignore the field)."""
    if not isinstance(vector, list):
        return width  # base64 from an upstream that ignored encoding_format: decoded later
    length = len(vector)
    if dimensions is not None and length != dimensions:
        raise UpstreamFailure(
            "invalid_request",
            400,
            f"the endpoint returns {length}-dimensional embeddings; it cannot honour "
            f"'dimensions': {dimensions} (leave 'dimensions' out, or route to a model that "
            "supports it)",
        )
    if width is not None and length != width:
        raise UpstreamFailure("bad_response", 200, "upstream embeddings differ in length")
    return length


def _prompt_tokens(usage: object) -> int | None:
    if not isinstance(usage, dict):
        return None
    value = usage.get("prompt_tokens", usage.get("total_tokens"))
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value
