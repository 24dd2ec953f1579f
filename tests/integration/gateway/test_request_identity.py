"""Request identity through a real gateway and the official openai SDK: ``x-request-id`` on every
answer (the client's when sane, else the record's id), the client's id and the request's
``user`` and ``metadata`` stored on the record and found by either id, the cost header, and
``GET /v1/models/{id}``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import openai
import pytest

from rolecall.providers.scripted import ScriptedUpstream

from .conftest import FAST
from .harness import ADMIN_TOKEN, Gateway, openai_provider

HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture
def gateway(shared_gateway: Gateway) -> Gateway:
    """One gateway for the module and backend: every test looks up only the records of its own
    requests (by the ids they were answered with), and none fails an endpoint."""
    return shared_gateway


def _get(gw: Gateway, path: str, headers: dict[str, str]) -> tuple[int, Any, Any]:
    """(status, headers, JSON body) of a GET."""
    request = urllib.request.Request(f"http://127.0.0.1:{gw.port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.headers, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, json.loads(exc.read())


def _admin(gw: Gateway, path: str) -> tuple[int, Any]:
    status, _, body = _get(gw, path, {"authorization": f"Bearer {ADMIN_TOKEN}"})
    return status, body


def test_a_chat_answer_names_its_record_and_its_cost(gateway: Gateway) -> None:
    raw = gateway.client().chat.completions.with_raw_response.create(
        model="default", messages=HELLO
    )
    reply = raw.parse()
    request_id = raw.headers["x-rolecall-request-id"]
    assert request_id.startswith("req-")
    assert raw.headers["x-request-id"] == request_id
    status, record = _admin(gateway, f"/api/requests/{request_id}")
    assert status == 200
    [usage] = record["usage"]
    assert usage["endpoint_id"] == raw.headers["x-rolecall-endpoint"] == "ep-a"
    # ep-a: 1 USD per million input tokens, 2 per million output tokens
    expected = (reply.usage.prompt_tokens * 1.0 + reply.usage.completion_tokens * 2.0) / 1e6
    assert float(raw.headers["x-rolecall-cost-usd"]) == pytest.approx(expected, abs=1e-8)
    assert usage["cost_actual"] == pytest.approx(expected)
    assert record["identity"]["client_request_id"] is None


def test_a_streamed_answer_has_an_id_and_no_cost_header(gateway: Gateway) -> None:
    raw = gateway.client().chat.completions.with_raw_response.create(
        model="default", messages=HELLO, stream=True, extra_headers={"x-request-id": "stream-1"}
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in raw.parse() if chunk.choices)
    assert text == FAST["answer"]
    assert raw.headers["x-request-id"] == "stream-1"
    assert "x-rolecall-cost-usd" not in raw.headers  # unknown when the headers leave


def test_the_clients_request_id_is_kept_and_finds_the_record(gateway: Gateway) -> None:
    client_id = "trace-7f3a.b_c:d-e"
    raw = gateway.client().chat.completions.with_raw_response.create(
        model="default",
        messages=HELLO,
        user="alice",
        metadata={"feature": "search", "tags": "prod, beta"},
        extra_headers={"x-request-id": client_id},
    )
    ours = raw.headers["x-rolecall-request-id"]
    assert raw.headers["x-request-id"] == client_id != ours
    for path in (f"/api/requests/{client_id}", f"/api/console/requests/{client_id}"):
        status, record = _admin(gateway, path)
        assert status == 200, path
        assert record["request_id"] == ours
        assert record["usage"][0]["request_id"] == ours
        assert record["identity"] == {
            "team": None,
            "user": "alice",
            "client_request_id": client_id,
            "metadata": {"feature": "search", "tags": "prod, beta"},
            "tags": ["prod", "beta"],
        }


@pytest.mark.parametrize("sent", ["has space", "x" * 129, "semi;colon", ""])
def test_an_unusable_request_id_is_replaced_by_ours(gateway: Gateway, sent: str) -> None:
    raw = gateway.client().chat.completions.with_raw_response.create(
        model="default", messages=HELLO, extra_headers={"x-request-id": sent}
    )
    assert raw.headers["x-request-id"] == raw.headers["x-rolecall-request-id"]


def test_every_answer_carries_an_x_request_id(gateway: Gateway) -> None:
    key = {"authorization": f"Bearer {gateway.api_key}"}
    admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    cases = [
        ("/v1/models", key, 200),
        ("/v1/models/default", key, 200),
        ("/v1/models/nope", key, 404),
        ("/v1/models", {}, 401),
        ("/no/such/route", {}, 404),
        ("/api/cooldowns", admin, 200),
        ("/readyz", {}, 200),
        ("/livez", {}, 200),
    ]
    for path, headers, expected in cases:
        status, answer, _ = _get(gateway, path, headers)
        assert status == expected, path
        assert answer["x-request-id"].startswith("req-"), path
        status, answer, _ = _get(gateway, path, {**headers, "x-request-id": "mine-1"})
        assert (status, answer["x-request-id"]) == (expected, "mine-1"), path
    with pytest.raises(openai.BadRequestError) as caught:  # a refusal of the chat route
        gateway.client().chat.completions.create(
            model="default", messages=[], extra_headers={"x-request-id": "bad-body"}
        )
    assert caught.value.response.headers["x-request-id"] == "bad-body"


@pytest.mark.parametrize(
    ("metadata", "user", "param"),
    [
        ({"feature": 5}, None, "metadata.feature"),
        ({f"k{i}": "v" for i in range(17)}, None, "metadata"),
        ({"note": "x" * 513}, None, "metadata.note"),
        ({"tags": ",".join(f"t{i}" for i in range(17))}, None, "metadata.tags"),
        (None, "u" * 257, "user"),
    ],
)
def test_bad_metadata_or_user_is_a_400_naming_the_field(
    gateway: Gateway, metadata: Any, user: Any, param: str
) -> None:
    extra = {k: v for k, v in (("metadata", metadata), ("user", user)) if v is not None}
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.client().chat.completions.create(model="default", messages=HELLO, extra_body=extra)
    error = caught.value.body
    assert isinstance(error, dict)
    assert error["param"] == param
    assert param.split(".")[0] in error["message"]


def test_retrieve_a_model_by_alias_role_or_endpoint_id(tmp_path: Path, db_url: str) -> None:
    upstream = ScriptedUpstream.start_in_thread({"models": {"org/model-x.v2": FAST}})
    config = {
        "providers": {"hub": openai_provider(upstream.base_url, local=False)},
        "endpoints": [{"provider": "hub", "model": "org/model-x.v2"}],  # id hub.org/model-x.v2
    }
    try:
        with Gateway(config, db_url, tmp_path) as gw:
            client = gw.client()
            listed = {m.id: m for m in client.models.list()}
            assert "hub.org/model-x.v2" in listed
            for model_id in ("default", "general.chat", "hub.org/model-x.v2"):
                found = client.models.retrieve(model_id)
                assert (found.id, found.object, found.owned_by) == (model_id, "model", "rolecall")
                assert found.created == listed[model_id].created
            assert client.models.retrieve("rolecall/default").id == "default"
            with pytest.raises(openai.NotFoundError) as caught:
                client.models.retrieve("hub.org/model-y")
            assert isinstance(caught.value.body, dict)
            assert caught.value.body["code"] == "model_not_found"
            assert caught.value.body["type"] == "invalid_request_error"
            # the id retrieved is the one a chat request may name
            reply = client.chat.completions.create(model="hub.org/model-x.v2", messages=HELLO)
            assert reply.model == "org/model-x.v2"
    finally:
        upstream.stop()


def test_retrieving_a_model_needs_a_key(gateway: Gateway) -> None:
    status, _, body = _get(gateway, "/v1/models/default", {})
    assert status == 401
    assert body["error"]["type"]
