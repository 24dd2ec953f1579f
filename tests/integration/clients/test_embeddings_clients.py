"""``POST /v1/embeddings`` with the real clients — the openai SDK's ``embeddings.create`` (single,
batch, base64, float) and LangChain's ``OpenAIEmbeddings`` — against a real gateway over scripted
upstreams (real HTTP): routed to the endpoints that declare ``embeddings.text``, split into the
endpoint's batches and merged in order, falling back on an upstream 500, recorded like chat."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_openai import OpenAIEmbeddings

from rolecall.protocol.validation import validate_artifact
from rolecall.providers.scripted import ScriptedUpstream
from rolecall.providers.scripted.embeddings_wire import input_tokens, vector
from tests.integration.gateway.harness import Gateway, openai_provider

DIMS = 8
PRICE_IN = 0.5  # USD per million input tokens on the first embedder
EMBED_A = {"dimensions": DIMS, "max_inputs": 3}
EMBED_B = {"dimensions": DIMS}


def inventory(a: Any, b: Any) -> dict[str, Any]:
    embedder = {"capabilities": ["embeddings.text"], "roles": ["embedder"]}
    return {
        "providers": {
            "a": openai_provider(a.base_url, local=False),
            "b": openai_provider(b.base_url, local=False),
        },
        "endpoints": [
            {
                "provider": "a",
                "model": "embed-a",
                "id": "ep-embed-a",
                **embedder,
                "batch_size": 3,
                "price": {"input_per_1m": PRICE_IN, "output_per_1m": 0},
            },
            {
                "provider": "b",
                "model": "embed-b",
                "id": "ep-embed-b",
                **embedder,
                "price": {"input_per_1m": 5.0, "output_per_1m": 0},
            },
            {
                "provider": "a",
                "model": "chat-m",
                "id": "ep-chat",
                "price": {"input_per_1m": 0.01, "output_per_1m": 0.01},
            },
        ],
        "routing": {"strategy": "cost"},
    }


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[Any, Any]]:
    a = ScriptedUpstream.start_in_thread({"models": {"embed-a": EMBED_A, "chat-m": {}}})
    b = ScriptedUpstream.start_in_thread({"models": {"embed-b": EMBED_B}})
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture(scope="module")
def gateway(
    upstreams: tuple[Any, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("embeddings")
    with Gateway(inventory(*upstreams), f"sqlite:///{tmp / 'db.sqlite'}", tmp) as gw:
        yield gw


@pytest.fixture(autouse=True)
def _fresh_script(upstreams: tuple[Any, Any]) -> None:
    a, b = upstreams
    a.set_script({"models": {"embed-a": EMBED_A, "chat-m": {}}})
    b.set_script({"models": {"embed-b": EMBED_B}})


def close_to(got: list[float], text: str) -> bool:
    """``got`` is the scripted vector of ``text`` (float32 precision: base64 carries float32)."""
    return all(
        math.isclose(g, w, abs_tol=1e-6) for g, w in zip(got, vector(text, DIMS), strict=True)
    )


def requests_to(upstream: Any, model: str) -> int:
    return int(upstream.stats()["models"].get(model, {}).get("requests", 0))


def test_single_input_with_the_openai_sdk(gateway: Gateway, upstreams: tuple[Any, Any]) -> None:
    raw = gateway.client().embeddings.with_raw_response.create(model="default", input="hi there")
    reply = raw.parse()  # the SDK asked for base64 (its default) and decoded it
    assert raw.headers["x-rolecall-endpoint"] == "ep-embed-a"
    assert raw.headers["x-rolecall-model"] == "embed-a"
    assert raw.headers["x-rolecall-decision-id"]
    [item] = reply.data
    assert (item.index, len(item.embedding)) == (0, DIMS)
    assert close_to(item.embedding, "hi there")
    assert reply.usage.prompt_tokens == input_tokens("hi there")
    sent = upstreams[0].stats()["models"]["embed-a"]["last_body"]
    assert sent["input"] == ["hi there"]  # always a list upstream, floats asked for
    assert sent["encoding_format"] == "float"


def test_a_batch_is_split_merged_in_order_and_usage_summed(
    gateway: Gateway, upstreams: tuple[Any, Any]
) -> None:
    texts = [f"text number {i} " * (i + 1) for i in range(7)]
    before = requests_to(upstreams[0], "embed-a")
    reply = gateway.client().embeddings.create(model="embedder", input=texts)
    # batch_size 3 (the upstream refuses more than 3): 3 + 3 + 1
    assert requests_to(upstreams[0], "embed-a") - before == 3
    assert [item.index for item in reply.data] == list(range(7))
    assert all(close_to(item.embedding, text) for item, text in zip(reply.data, texts, strict=True))
    assert reply.usage.prompt_tokens == sum(input_tokens(t) for t in texts)
    assert reply.usage.total_tokens == reply.usage.prompt_tokens


def test_base64_and_float_encodings(gateway: Gateway) -> None:
    client = gateway.client()
    encoded = client.embeddings.create(model="default", input=["a", "b"], encoding_format="base64")
    for item, text in zip(encoded.data, ["a", "b"], strict=True):
        assert isinstance(item.embedding, str)  # asked for explicitly: handed over as sent
        raw = base64.b64decode(item.embedding)
        assert close_to(list(struct.unpack(f"<{DIMS}f", raw)), text)
    floats = client.embeddings.create(model="default", input="a", encoding_format="float")
    assert floats.data[0].embedding == vector("a", DIMS)  # floats pass through exactly


def test_token_id_inputs_and_dimensions_are_forwarded(
    gateway: Gateway, upstreams: tuple[Any, Any]
) -> None:
    reply = gateway.client().embeddings.create(
        model="default", input=[[1, 2, 3], [4, 5]], dimensions=4, encoding_format="float"
    )
    assert [len(item.embedding) for item in reply.data] == [4, 4]
    assert reply.usage.prompt_tokens == 5
    sent = upstreams[0].stats()["models"]["embed-a"]["last_body"]
    assert (sent["input"], sent["dimensions"]) == ([[1, 2, 3], [4, 5]], 4)


def test_langchain_openai_embeddings(gateway: Gateway) -> None:
    embeddings = OpenAIEmbeddings(
        model="default",
        base_url=gateway.base_url,
        api_key=gateway.api_key,  # type: ignore[arg-type]
        check_embedding_ctx_length=False,  # it would tokenize with tiktoken for OpenAI's models
        max_retries=0,
    )
    documents = ["the cat sat", "on the mat", "a third one", "and a fourth"]
    vectors = embeddings.embed_documents(documents)
    assert [len(v) for v in vectors] == [DIMS] * 4
    assert all(close_to(v, text) for v, text in zip(vectors, documents, strict=True))
    assert close_to(embeddings.embed_query("the cat sat"), "the cat sat")


def test_chat_and_embeddings_never_route_to_each_others_endpoints(gateway: Gateway) -> None:
    raw = gateway.client().chat.completions.with_raw_response.create(
        model="default", messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers["x-rolecall-endpoint"] == "ep-chat"
    chat = _exclusions(gateway, raw.headers["x-rolecall-decision-id"])
    assert "CAPABILITY_MISSING" in chat["ep-embed-a"]
    assert "CAPABILITY_MISSING" in chat["ep-embed-b"]
    raw_e = gateway.client().embeddings.with_raw_response.create(model="default", input="x")
    embeddings = _exclusions(gateway, raw_e.headers["x-rolecall-decision-id"])
    assert "CAPABILITY_MISSING" in embeddings["ep-chat"]
    assert embeddings["ep-embed-a"] == embeddings["ep-embed-b"] == []
    # naming the chat endpoint for embeddings: a 400 that says why
    status, body = gateway.raw(
        "/v1/embeddings",
        b'{"model": "ep-chat", "input": "x"}',
        {"authorization": f"Bearer {gateway.api_key}"},
    )
    assert status == 400
    assert "ep-chat: CAPABILITY_MISSING" in body["error"]["message"]
    assert body["error"]["code"] == "no_eligible_endpoint"


def _exclusions(gateway: Gateway, decision_id: str) -> dict[str, list[str]]:
    status, decision = gateway.admin(f"/api/decisions/{decision_id}")
    assert status == 200
    validate_artifact("router-decision", decision)
    return {e["endpoint_id"]: [x["code"] for x in e["exclusions"]] for e in decision["eligibility"]}


def test_usage_and_records_like_chat(gateway: Gateway) -> None:
    texts = ["one two three", "four five"]
    raw = gateway.client().embeddings.with_raw_response.create(model="default", input=texts)
    tokens = sum(input_tokens(t) for t in texts)
    assert float(raw.headers["x-rolecall-cost-usd"]) == pytest.approx(tokens * PRICE_IN / 1e6)
    _check_record(gateway, raw.headers, "ep-embed-a", tokens)


def _check_record(gateway: Gateway, headers: Any, endpoint_id: str, tokens: int) -> dict[str, Any]:
    status, record = gateway.admin(f"/api/requests/{headers['x-rolecall-request-id']}")
    assert status == 200
    [usage] = record["usage"]
    validate_artifact("usage-event", usage)
    assert usage["endpoint_id"] == endpoint_id
    assert usage["routing_decision_id"] == headers["x-rolecall-decision-id"]
    assert (usage["tokens_in"], usage["tokens_out"]) == (tokens, 0)
    for span in record["spans"]:
        validate_artifact("trace-span", span)
    events = {e["event_type"] for e in record["events"]}
    assert {"router.decision.created", "usage.event.created"} <= events
    return record  # type: ignore[no-any-return]


def test_an_upstream_500_falls_back_to_the_next_embedder(
    upstreams: tuple[Any, Any], db_url: str, tmp_path: Path
) -> None:
    """On each backend: the first embedder answers 500 (retried once), the second answers; the
    attempts are recorded, and the first cools down."""
    a, b = upstreams
    a.set_script({"models": {"embed-a": {**EMBED_A, "fail": {"kind": "status", "status": 500}}}})
    with Gateway(inventory(a, b), db_url, tmp_path, cooldown_consecutive_failures=2) as gw:
        raw = gw.client().embeddings.with_raw_response.create(model="default", input=["x", "y"])
        reply = raw.parse()
        assert raw.headers["x-rolecall-endpoint"] == "ep-embed-b"
        assert reply.model == "embed-b"
        assert all(close_to(i.embedding, t) for i, t in zip(reply.data, ["x", "y"], strict=True))
        _status, cooldowns = gw.admin("/api/cooldowns")
        assert [c["endpoint_id"] for c in cooldowns["data"]] == ["ep-embed-a"]
        record = _check_record(gw, raw.headers, "ep-embed-b", input_tokens("x") * 2)
        prefill = [s for s in record["spans"] if s["span_type"] == "provider.prefill"]
        endpoints = sorted(s["attributes"]["endpoint_id"] for s in prefill)
        assert endpoints == ["ep-embed-a", "ep-embed-a", "ep-embed-b"]
        assert "router.fallback" in {s["span_type"] for s in record["spans"]}


def test_discovery_keeps_chat_and_embedding_pools_apart(gateway: Gateway) -> None:
    """The downstream discovery's limits of an alias are its chat endpoints' (an embedder's
    small context window must not narrow them), and the embedder role's are the embedders'."""
    status, body = gateway.raw(
        "/v1/rolecall/discovery", None, {"authorization": f"Bearer {gateway.api_key}"}
    )
    assert status == 200
    pools = {
        item["id"]: sorted(e["endpoint_id"] for e in item.get("endpoints", []))
        for item in body["data"]
    }
    assert pools["default"] == ["ep-chat"]
    assert pools["general.chat"] == ["ep-chat"]
    assert pools["embedder"] == ["ep-embed-a", "ep-embed-b"]
