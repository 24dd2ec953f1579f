"""Your own model names against a real gateway over the scripted upstream, with the openai SDK:
a configured alias routing with its posture, an exact upstream model name, role-model's
``model_aliases``, ``/v1/models`` with conservative limits, role-model's downstream discovery
document, and ``role_model.intent`` changing the decision."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.providers.scripted import ScriptedUpstream

from .harness import Gateway, openai_provider

HELLO = [{"role": "user", "content": "hello"}]
CHAT_MODEL, CODE_MODEL = "gpt-4o-mini", "qwen2.5-coder-1.5b"


def _inventory(base_url: str) -> dict[str, Any]:
    return {
        "providers": {
            # a key variable nobody set: its name must not reach a client
            "up": openai_provider(base_url, local=True, api_key="${ROLECALL_TEST_UNSET_KEY}")
        },
        "endpoints": [
            {
                "provider": "up",
                "model": CHAT_MODEL,
                "id": "ep-chat",
                "tools": True,
                "context_window": 8000,
                "max_output_tokens": 1000,
                "roles": ["general.chat"],
                "price": {"input_per_1m": 0.1, "output_per_1m": 0.2},
            },
            {
                "provider": "up",
                "model": CODE_MODEL,
                "id": "ep-code",
                "tools": False,
                "context_window": 16000,
                "max_output_tokens": 2000,
                "roles": ["coder.patch"],
                "price": {"input_per_1m": 1.0, "output_per_1m": 2.0},
            },
        ],
        "routing": {"strategy": "cost"},
        "aliases": {
            "gpt-4o": {
                "role": "coder.patch",
                "strategy": "quality",
                "endpoints": [CODE_MODEL],
                "budget": 0.05,
                "description": "the coding posture",
            }
        },
        "model_aliases": {"fast": {"mode": "basic", "model_ids": [CHAT_MODEL]}},
    }


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    answer = {"answer": "ok", "latency_ms": 2}
    upstream = ScriptedUpstream.start_in_thread(
        {"models": {CHAT_MODEL: answer, CODE_MODEL: answer}}
    )
    tmp: Path = tmp_path_factory.mktemp("aliases")
    db_url = f"sqlite:///{tmp / 'data' / 'rolecall.db'}"
    try:
        with Gateway(_inventory(upstream.base_url), db_url, tmp) as gw:
            yield gw
    finally:
        upstream.stop()


def _chat(gw: Gateway, model: str, **kwargs: Any) -> tuple[Any, Any, dict[str, Any]]:
    raw = gw.client().chat.completions.with_raw_response.create(
        model=model, messages=kwargs.pop("messages", HELLO), **kwargs
    )
    _, decision = gw.admin(f"/api/decisions/{raw.headers['x-rolecall-decision-id']}")
    return raw.headers, raw.parse(), decision


def test_a_configured_alias_routes_with_its_posture(gateway: Gateway) -> None:
    headers, completion, decision = _chat(gateway, "gpt-4o")
    assert headers["x-rolecall-endpoint"] == "ep-code"
    assert headers["x-rolecall-model"] == CODE_MODEL
    assert completion.model == CODE_MODEL  # the real model, as the upstream says
    policy = decision["policy_snapshot"]
    assert policy["strategy"] == "quality"
    assert policy["allow_endpoints"] == ["ep-code"]
    assert "ROLE_POLICY_APPLIED" in decision["selection_reasons"]
    excluded = {e["endpoint_id"] for e in decision["eligibility"] if not e["eligible"]}
    assert excluded == {"ep-chat"}


def test_an_exact_upstream_model_name_and_role_models_alias(gateway: Gateway) -> None:
    headers, _, _ = _chat(gateway, CODE_MODEL)
    assert headers["x-rolecall-endpoint"] == "ep-code"
    headers, completion, decision = _chat(gateway, "fast")
    assert headers["x-rolecall-endpoint"] == "ep-chat"
    assert completion.model == CHAT_MODEL
    assert decision["policy_snapshot"]["allow_endpoints"] == ["ep-chat"]


def test_intent_hints_change_the_decision(gateway: Gateway) -> None:
    headers, _, _ = _chat(gateway, "default")
    assert headers["x-rolecall-endpoint"] == "ep-chat"  # the cheaper one, by the cost strategy
    intent = {
        "role_hint_id": "coder.patch",
        "task_type": "code.edit",
        "evidence": ["fix signal"],
        "classification_version": "x",
        "colour": "blue",
    }
    headers, _, decision = _chat(
        gateway, "default", extra_body={"role_model": {"contract_version": 1, "intent": intent}}
    )
    assert headers["x-rolecall-endpoint"] == "ep-code"
    assert "ROLE_POLICY_APPLIED" in decision["selection_reasons"]
    report = json.loads(headers["x-rolecall-intent"])
    assert report["used"] == {"role": "coder.patch", "task": "code.edit"}
    assert report["ignored"] == [
        {"field": "role_model.intent.colour", "value": "", "reason": "unknown field"}
    ]


def test_an_intent_header_works_for_clients_that_cannot_add_body_fields(gateway: Gateway) -> None:
    header = json.dumps({"role": "coder.patch"})
    headers, _, _ = _chat(gateway, "default", extra_headers={"x-role-model-intent": header})
    assert headers["x-rolecall-endpoint"] == "ep-code"
    assert json.loads(headers["x-rolecall-intent"])["used"]["role"] == "coder.patch"


def test_an_unknown_intent_value_is_ignored_and_a_wrong_type_is_a_400(gateway: Gateway) -> None:
    headers, _, _ = _chat(
        gateway, "default", extra_body={"role_model": {"intent": {"role": "astronaut"}}}
    )
    assert headers["x-rolecall-endpoint"] == "ep-chat"
    assert "unknown role" in headers["x-rolecall-intent"]
    status, body = gateway.raw(
        "/v1/chat/completions",
        json.dumps(
            {"model": "default", "messages": HELLO, "role_model": {"intent": {"role": 1}}}
        ).encode(),
        {"authorization": f"Bearer {gateway.api_key}"},
    )
    assert status == 400
    assert body["error"]["param"] == "role_model.intent.role"


def test_models_list_every_kind_with_conservative_limits(gateway: Gateway) -> None:
    client = gateway.client()
    listed = {m.id: m.model_dump() for m in client.models.list()}
    kinds = {name: entry["rolecall"]["kind"] for name, entry in listed.items()}
    assert kinds["gpt-4o"] == "alias"
    assert kinds["fast"] == "alias"
    assert kinds["default"] == kinds["baseline.remote-only"] == "posture"
    assert kinds["ep-chat"] == "endpoint"
    assert kinds["coder.patch"] == "role"
    assert kinds[CODE_MODEL] == kinds[CHAT_MODEL] == "model"
    limits = {name: entry["rolecall"]["limits"] for name, entry in listed.items()}
    assert (limits["default"]["context_window"], limits["default"]["max_output_tokens"]) == (
        8000,
        1000,
    )
    # role bindings narrow a role's pool to the endpoints bound to it
    assert limits["coder.patch"]["context_window"] == 16000
    assert limits["general.chat"]["context_window"] == 8000
    assert limits["default"]["tools"] is False
    assert limits["default"]["tools_available"] is True
    assert limits["default.remote-only"]["routable_endpoints"] == 0  # both are local
    alias = client.models.retrieve("gpt-4o").model_dump()["rolecall"]
    assert alias["posture"]["role"] == "coder.patch"
    assert alias["posture"]["budget"] == 0.05
    assert alias["limits"]["context_window"] == 16000
    assert alias["limits"]["input_modalities"] == ["text"]
    assert client.models.retrieve(f"rolecall/{CODE_MODEL}").id == CODE_MODEL


def test_role_models_downstream_discovery_document(gateway: Gateway) -> None:
    status, doc = gateway.raw(
        "/api/role-model/downstream/openai",
        None,
        {"authorization": f"Bearer {gateway.api_key}"},
    )
    assert status == 200
    assert doc["contractVersion"] == "role-model.downstream.openai.v1"
    assert doc["baseUrl"] == f"http://127.0.0.1:{gateway.port}"
    assert doc["authentication"]["required"] is True
    assert doc["setup"]["recommendedModel"] == "fast"  # the first alias by name
    records = {m["id"]: m for m in doc["models"]}
    alias = records["gpt-4o"]
    assert (alias["type"], alias["owned_by"], alias["routingMode"]) == (
        "alias",
        "role-model",
        "baseline",
    )
    assert alias["piMapping"] == {
        "contextWindow": 16000,
        "maxTokens": 2000,
        "compat": {"supportsDeveloperRole": False},
    }
    assert alias["routable"]["endpointIds"] == ["ep-code"]
    default = records["default"]
    assert default["limits"]["safeContextWindow"] == 8000
    assert default["limits"]["maxContextWindow"] == 16000
    assert default["capabilities"]["tools"] == {"functionCalling": True}
    assert default["modalities"]["guaranteedInput"] == ["text"]
    assert records["ep-code"]["upstream_model_id"] == CODE_MODEL
    assert records[CHAT_MODEL]["type"] == "model"
    text = json.dumps(doc)
    assert "ROLECALL_TEST_UNSET_KEY" not in text
    assert "api_key" not in text
    assert "base_url" not in text
    status, _ = gateway.raw("/api/role-model/downstream/openai", None, {})
    assert status == 401


def test_the_older_discovery_route_still_answers(gateway: Gateway) -> None:
    status, body = gateway.raw(
        "/v1/rolecall/discovery", None, {"authorization": f"Bearer {gateway.api_key}"}
    )
    assert status == 200
    entries = {d["id"]: d for d in body["data"]}
    assert entries["gpt-4o"]["context_window"] == 16000
    assert entries["default"]["routable_endpoints"] == 2
