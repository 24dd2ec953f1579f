"""OpenAI embeddings wire shapes for the scripted upstream: deterministic vectors and the reply.

A vector is a pure function of its input (a text, or a token-id list) and its length: unit-length
numbers drawn from the input's SHA-256, so a test can check that the gateway kept the order of a
batch, or that two calls gave the same vector for the same text. They carry no meaning; cosine
similarity between two different texts is noise around 0.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from typing import Any, Final

from .tokens import _WORD, PROMPT_TOKENS_PER_WORD

INPUT_SHAPES: Final = (
    "'input' must be a non-empty string, an array of strings, an array of token ids, or an array "
    "of token-id arrays"
)


class InputError(ValueError):
    """An ``input`` the scripted upstream refuses (answered with a 400)."""


def inputs_of(value: Any) -> list[str | list[int]]:
    """``input`` as a list of inputs (one string or one token-id array is one input)."""
    if isinstance(value, str) and value:
        return [value]
    if not isinstance(value, list) or not value:
        raise InputError(INPUT_SHAPES)
    if all(isinstance(item, int) and not isinstance(item, bool) for item in value):
        return [value]
    for item in value:
        text_ok = isinstance(item, str) and item
        ids_ok = isinstance(item, list) and item and all(isinstance(t, int) for t in item)
        if not (text_ok or ids_ok):
            raise InputError(INPUT_SHAPES)
    return list(value)


def vector(item: str | list[int], dimensions: int) -> list[float]:
    """The unit vector of ``item`` with ``dimensions`` numbers (deterministic)."""
    seed = item.encode() if isinstance(item, str) else ",".join(map(str, item)).encode()
    raw = b""
    counter = 0
    while len(raw) < dimensions * 4:
        raw += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    values = [
        (word / 2**31) - 1.0 for word in struct.unpack(f">{dimensions}I", raw[: dimensions * 4])
    ]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [round(v / norm, 6) for v in values]


def input_tokens(item: str | list[int]) -> int:
    """Tokens of one input: words × 1.3 (at least 1) for a text, its length for token ids."""
    if isinstance(item, list):
        return len(item)
    return max(1, math.floor(len(_WORD.findall(item)) * PROMPT_TOKENS_PER_WORD + 0.5))


def _base64(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode("ascii")


class EmbeddingsReply:
    """One embeddings reply. Only its JSON body and errors are used: embeddings do not stream."""

    def __init__(
        self,
        model: str,
        inputs: list[str | list[int]],
        dimensions: int,
        encoding: str,
        usage: bool,
    ) -> None:
        self.model = model
        self.inputs = inputs
        self.dimensions = dimensions
        self.encoding = encoding
        self.usage = usage
        self.chunks: list[tuple[str, int]] = []  # nothing to pace: the answer comes at once

    def body(self) -> dict[str, Any]:
        data = []
        for index, item in enumerate(self.inputs):
            values = vector(item, self.dimensions)
            embedding: list[float] | str = _base64(values) if self.encoding == "base64" else values
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        body: dict[str, Any] = {"object": "list", "data": data, "model": self.model}
        if self.usage:
            tokens = sum(input_tokens(item) for item in self.inputs)
            body["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
        return body

    def head(self) -> bytes:
        return b""

    def piece(self, text: str) -> bytes:
        return b""

    def tail(self) -> bytes:
        return b""
