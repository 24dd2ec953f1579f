"""The OpenAI embeddings wire format: the request checks, and the reply's vector encodings.

Checked by hand like chat completions (`rolecall.gateway.wire`, whose routing-option, identity and
size checks are shared): ``input`` is a string, an array of strings, an array of token ids or an
array of token-id arrays; ``encoding_format`` ``float`` or ``base64``; ``dimensions`` a positive
integer; ``user``, ``metadata`` and the ``rolecall`` extension (or ``x-rolecall-*`` headers) as on
chat. Every failure names the field, as OpenAI's errors do. Upstream, the input always travels as
a list (one string becomes ``["..."]``) and vectors as floats; ``base64`` is encoded here.
"""

from __future__ import annotations

import base64
import math
import sys
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from rolecall.gateway.wire import (
    CHARS_PER_TOKEN,
    MAX_TOKENS_REPORTED,
    RoutingHints,
    WireError,
    body_identity,
    encoded_size,
    json_object,
    routing_hints,
)
from rolecall.gateway.wire_identity import NO_IDENTITY
from rolecall.observe.identity import RequestIdentity

MAX_INPUTS: Final = 2048  # OpenAI's limit on the inputs of one request
MAX_DIMENSIONS: Final = 65_536
ENCODINGS: Final = ("float", "base64")
INPUT_SHAPES: Final = (
    "'input' must be a non-empty string, an array of strings, an array of token ids, or an array "
    "of token-id arrays"
)


@dataclass(slots=True)
class EmbeddingsRequest:
    """A checked embeddings request. ``body`` is what goes upstream: ``input`` as a list, floats
    asked for, without the ``rolecall`` extension and ``metadata``."""

    body: dict[str, Any]
    model: str
    count: int  # how many inputs (vectors to answer)
    encoding_format: str
    prompt_tokens_estimate: int  # all inputs
    context_tokens: int  # the longest input: each is embedded on its own
    hints: RoutingHints = field(default_factory=RoutingHints)
    identity: RequestIdentity = NO_IDENTITY
    max_tokens: int = 0  # an embedding has no output tokens (what limits reserve for output)


def parse_embeddings_request(raw: bytes, headers: Mapping[str, str]) -> EmbeddingsRequest:
    return embeddings_request(json_object(raw), headers)


def embeddings_request(body: dict[str, Any], headers: Mapping[str, str]) -> EmbeddingsRequest:
    """An embeddings body checked and read for routing (``body`` is taken over)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise WireError(400, "'model' is required and must be a non-empty string", param="model")
    if "input" not in body:
        raise WireError(400, f"'input' is required; {INPUT_SHAPES}", param="input")
    inputs, sizes = _inputs(body["input"])
    encoding = body.get("encoding_format", "float")
    if encoding is None:
        encoding = "float"
    if not isinstance(encoding, str) or encoding not in ENCODINGS:
        raise WireError(
            400, "'encoding_format' must be 'float' or 'base64'", param="encoding_format"
        )
    _check_dimensions(body.get("dimensions"))
    hints = routing_hints(body.pop("rolecall", None), headers)
    identity = body_identity(body)
    for key, value in body.items():  # what else is forwarded must encode too
        if key != "input" and isinstance(value, dict | list):
            encoded_size(value, key)
    body["input"] = inputs
    body["encoding_format"] = "float"  # merged and re-encoded here (`encode_reply`)
    return EmbeddingsRequest(
        body=body,
        model=model,
        count=len(inputs),
        encoding_format=encoding,
        prompt_tokens_estimate=sum(sizes),
        context_tokens=max(sizes),
        hints=hints,
        identity=identity,
    )


def _inputs(value: Any) -> tuple[list[Any], list[int]]:
    """The inputs as a list (each a string or a token-id list) and each one's token estimate."""
    if isinstance(value, str):
        return [_text(value, "input")], [_tokens(value)]
    if not isinstance(value, list) or not value:
        raise WireError(400, INPUT_SHAPES, param="input")
    first = value[0]
    if _is_token(first):  # one input given as token ids
        return [_token_ids(value, "input")], [len(value)]
    if len(value) > MAX_INPUTS:
        raise WireError(
            400,
            f"'input' holds {len(value)} inputs; send at most {MAX_INPUTS} per request",
            param="input",
        )
    if isinstance(first, str):
        texts = [_text(item, f"input[{i}]") for i, item in enumerate(value)]
        return texts, [_tokens(text) for text in texts]
    if isinstance(first, list):
        arrays = [_token_ids(item, f"input[{i}]") for i, item in enumerate(value)]
        return arrays, [len(ids) for ids in arrays]
    raise WireError(
        400, f"'input[0]' is neither a string nor token ids: {INPUT_SHAPES}", param="input[0]"
    )


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise WireError(
            400, f"'{where}' must be a string, like the first input ({INPUT_SHAPES})", param=where
        )
    if not value:
        raise WireError(400, f"'{where}' must not be an empty string", param=where)
    return value


def _tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1


def _is_token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _token_ids(value: Any, where: str) -> list[int]:
    if not isinstance(value, list) or not value:
        raise WireError(
            400, f"'{where}' must be a non-empty array of token ids ({INPUT_SHAPES})", param=where
        )
    for j, token in enumerate(value):
        if not _is_token(token) or not 0 <= token <= MAX_TOKENS_REPORTED:
            raise WireError(
                400,
                f"'{where}[{j}]' must be a token id, an integer from 0 to {MAX_TOKENS_REPORTED}",
                param=f"{where}[{j}]",
            )
    return value


def _check_dimensions(value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DIMENSIONS:
        raise WireError(
            400, f"'dimensions' must be an integer from 1 to {MAX_DIMENSIONS}", param="dimensions"
        )


def encode_reply(reply: dict[str, Any], encoding: str) -> dict[str, Any]:
    """The merged reply with each vector as ``encoding`` asks: a float list, or base64 of its
    little-endian float32 bytes (as OpenAI sends it). Raises ValueError for a vector that is not
    numbers (an upstream's garbage)."""
    for item in reply["data"]:
        vector = item["embedding"]
        if isinstance(vector, str):
            vector = item["embedding"] = _from_base64(vector)
        if encoding == "base64":
            item["embedding"] = _to_base64(vector)
        else:
            _numbers(vector)
    return reply


def _numbers(vector: list[Any]) -> None:
    """Check a float vector holds numbers only (a C-speed pass: an array of doubles)."""
    try:
        array("d", vector)
    except TypeError:
        raise ValueError("an embedding holds something other than numbers") from None


def _to_base64(vector: list[Any]) -> str:
    try:
        packed = array("f", vector)
    except TypeError:
        raise ValueError("an embedding holds something other than numbers") from None
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def _from_base64(text: str) -> list[float]:
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError("an embedding is neither numbers nor base64") from None
    if len(raw) % 4:
        raise ValueError("a base64 embedding is not a whole number of float32 values")
    unpacked = array("f")
    unpacked.frombytes(raw)
    if sys.byteorder == "big":
        unpacked.byteswap()
    values = unpacked.tolist()
    if not all(math.isfinite(value) for value in values):
        raise ValueError("a base64 embedding holds a value that is not a finite number")
    return values
