"""The embeddings request checks: every input shape OpenAI takes, a 400 naming the field for the
rest, the reply's encodings, and agreement with the published model (a differential test)."""

from __future__ import annotations

import base64
import struct
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rolecall.gateway.embeddings_models import EmbeddingsRequest
from rolecall.gateway.embeddings_wire import (
    MAX_INPUTS,
    encode_reply,
    parse_embeddings_request,
)
from rolecall.gateway.wire import WireError


def parse(headers: dict[str, str] | None = None, **body: Any) -> Any:
    return parse_embeddings_request(orjson.dumps({"model": "default", **body}), headers or {})


@pytest.mark.parametrize(
    ("value", "inputs", "estimate", "longest"),
    [
        ("hello world", ["hello world"], 3, 3),
        (["a", "bb" * 20], ["a", "bb" * 20], 1 + 11, 11),
        ([5, 6, 7], [[5, 6, 7]], 3, 3),
        ([[1, 2], [3]], [[1, 2], [3]], 3, 2),
    ],
    ids=["text", "texts", "token-ids", "token-id-arrays"],
)
def test_every_input_shape_becomes_a_list(
    value: Any, inputs: list[Any], estimate: int, longest: int
) -> None:
    request = parse(input=value)
    assert request.body["input"] == inputs
    assert request.count == len(inputs)
    assert (request.prompt_tokens_estimate, request.context_tokens) == (estimate, longest)
    assert request.body["encoding_format"] == "float"  # floats upstream, re-encoded here
    assert request.encoding_format == "float"
    assert request.max_tokens == 0


def test_options_identity_and_extension() -> None:
    request = parse(
        {"x-rolecall-strategy": "cost"},
        input="x",
        encoding_format="base64",
        dimensions=64,
        user="alice",
        metadata={"tags": "search"},
        rolecall={"role": "embedder", "prefer_local": True},
    )
    assert request.encoding_format == "base64"
    assert request.body["dimensions"] == 64
    assert (request.hints.role, request.hints.prefer_local) == ("embedder", True)
    assert request.hints.strategy == "cost"
    assert (request.identity.user, request.identity.tags) == ("alice", ("search",))
    assert "rolecall" not in request.body
    assert "metadata" not in request.body
    assert request.body["user"] == "alice"  # forwarded, as on chat


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x"}, "model"),
        ({"model": "", "input": "x"}, "model"),
        ({"model": "default"}, "input"),
        ({"model": "default", "input": ""}, "input"),
        ({"model": "default", "input": []}, "input"),
        ({"model": "default", "input": None}, "input"),
        ({"model": "default", "input": {"text": "x"}}, "input"),
        ({"model": "default", "input": ["a", ""]}, "input[1]"),
        ({"model": "default", "input": ["a", 1]}, "input[1]"),
        ({"model": "default", "input": [1, "a"]}, "input[1]"),
        ({"model": "default", "input": [1, -1]}, "input[1]"),
        ({"model": "default", "input": [1, True]}, "input[1]"),
        ({"model": "default", "input": [[1], []]}, "input[1]"),
        ({"model": "default", "input": [[1], [2.5]]}, "input[1][0]"),
        ({"model": "default", "input": [[1], "a"]}, "input[1]"),
        ({"model": "default", "input": [None]}, "input[0]"),
        ({"model": "default", "input": ["a"] * (MAX_INPUTS + 1)}, "input"),
        ({"model": "default", "input": "a", "encoding_format": "int8"}, "encoding_format"),
        ({"model": "default", "input": "a", "dimensions": 0}, "dimensions"),
        ({"model": "default", "input": "a", "dimensions": True}, "dimensions"),
        ({"model": "default", "input": "a", "dimensions": "8"}, "dimensions"),
        ({"model": "default", "input": "a", "user": 7}, "user"),
        ({"model": "default", "input": "a", "rolecall": {"nope": 1}}, "rolecall.nope"),
        ({"model": "default", "input": "a", "rolecall": {"budget": -1}}, "rolecall.budget"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(WireError) as caught:
        parse_embeddings_request(orjson.dumps(body), {})
    assert (caught.value.status, caught.value.param) == (400, param)


def test_not_json_or_not_an_object() -> None:
    for raw in (b"{", b"[]", b'"x"'):
        with pytest.raises(WireError) as caught:
            parse_embeddings_request(raw, {})
        assert caught.value.code == "invalid_json"


def reply(*vectors: Any) -> dict[str, Any]:
    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
    return {"object": "list", "data": data, "model": "m"}


def test_base64_is_little_endian_float32_and_round_trips() -> None:
    encoded = encode_reply(reply([0.5, -1.25, 3.0]), "base64")
    text = encoded["data"][0]["embedding"]
    assert struct.unpack("<3f", base64.b64decode(text)) == (0.5, -1.25, 3.0)
    # an upstream that answered base64 anyway is decoded for a client that wants floats
    assert encode_reply(reply(text), "float")["data"][0]["embedding"] == [0.5, -1.25, 3.0]
    assert encode_reply(reply([1, 2]), "float")["data"][0]["embedding"] == [1, 2]


@pytest.mark.parametrize(
    ("vector", "encoding"),
    [(["x", 1.0], "base64"), ("not base64!", "float"), ("AAA=", "float")],
)
def test_garbage_vectors_raise(vector: Any, encoding: str) -> None:
    with pytest.raises(ValueError, match="embedding"):
        encode_reply(reply(vector), encoding)


HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False),
    st.text(max_size=3),
    st.lists(st.one_of(st.integers(-1, 3), st.text(max_size=2), st.none()), max_size=3),
    st.lists(st.lists(st.integers(-1, 3), max_size=2), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(-3, 3), max_size=1),
)
FIELDS = ["model", "input", "encoding_format", "dimensions", "user"]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(field=st.sampled_from(FIELDS), value=HOSTILE)
def test_the_published_model_agrees_with_the_checks(field: str, value: Any) -> None:
    body = {"model": "default", "input": ["a", "b"], "encoding_format": "float", field: value}
    try:
        parse_embeddings_request(orjson.dumps(body), {})
        accepted = True
    except WireError:
        accepted = False
    try:
        EmbeddingsRequest.model_validate_json(orjson.dumps(body), strict=True)
        published = True
    except ValidationError:
        published = False
    assert accepted == published, body
