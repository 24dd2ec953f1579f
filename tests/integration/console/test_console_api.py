"""The console's JSON APIs on a real gateway (SQLite and PostgreSQL): auth, no secrets, posture
preview and save, binding edits, decisions, the prompt box, Observe, discovery, lab files."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import openai
import pytest

from rolecall.bootstrap import build_services
from rolecall.console.models_api import shown_url
from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.gateway.harness import ADMIN_TOKEN, Gateway

from .conftest import call

READ_APIS = [
    "/api/console/models",
    "/api/console/bindings",
    "/api/console/posture",
    "/api/console/candidates",
    "/api/console/decisions",
    "/api/console/requests",
    "/api/console/analytics",
    "/api/console/routing",
    "/api/console/agreement",
    "/api/console/system",
    "/api/lab/results",
]


def send(gw: Gateway, n: int, model: str = "default") -> list[Any]:
    client = gw.client()
    return [
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
        for _ in range(n)
    ]


def test_admin_token_required_and_no_secret_in_any_answer(console: Gateway) -> None:
    send(console, 3)
    for path in READ_APIS:
        status, body = call(console, path, token="not-the-token")
        assert status == 401, path
        assert body["error"]["code"] == "invalid_admin_token"
        status, body = call(console, path)
        assert status == 200, (path, body)
        text = json.dumps(body)
        assert ADMIN_TOKEN not in text, path
        assert console.api_key not in text, path
    with urllib.request.urlopen(f"http://127.0.0.1:{console.port}/", timeout=10) as response:
        page = response.read().decode()
        csp = response.headers["content-security-policy"]
    assert "<title>rolecall console</title>" in page
    assert ADMIN_TOKEN not in page
    assert "default-src 'self'" in csp


def test_shown_urls_carry_no_credentials() -> None:
    assert shown_url("https://user:pw@api.example.com:8443/v1?key=abc") == (
        "https://api.example.com:8443/v1"
    )
    assert shown_url("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1"


def test_posture_preview_then_save(console: Gateway) -> None:
    send(console, 6)
    _, current = call(console, "/api/console/posture")
    assert current["posture"]["execution_scope"] == "hybrid"
    # the balanced posture picks the free local endpoint; remote-only must move every request
    status, preview = call(
        console, "/api/console/posture/preview", {"execution_scope": "remote_only"}
    )
    assert status == 200, preview
    assert preview["replayed"] == 6
    assert preview["moved"] == 6
    assert preview["moves"] == [{"from": "local-small", "to": "cloud-large", "count": 6}]
    assert preview["delta"]["cost_usd"] > 0  # the remote endpoint is priced, the local one is not
    assert preview["benchmark_cases"]["replayed"] > 0
    # previewing changed nothing
    assert console.services.routing.inventory.routing.execution_scope == "hybrid"
    status, saved = call(console, "/api/console/posture", {"strategy": "quality"}, method="PUT")
    assert status == 200, saved
    assert console.services.routing.inventory.policy is not None
    assert console.services.routing.inventory.policy.strategy == "quality"
    status, body = call(console, "/api/console/prompt", {"prompt": "hello"})
    assert body["ok"], body
    _, detail = call(console, f"/api/console/decisions/{body['decision_id']}")
    assert detail["decision"]["policy_snapshot"]["strategy"] == "quality"
    # a restarted process on the same data directory keeps the saved posture
    restarted = build_services(console.settings)
    try:
        assert restarted.routing.inventory.policy is not None
        assert restarted.routing.inventory.policy.strategy == "quality"
    finally:
        restarted.writer.close()
        restarted.storage.close()


def test_bad_posture_and_filters_name_the_field(console: Gateway) -> None:
    status, body = call(console, "/api/console/posture", {"strategy": "fastest"}, method="PUT")
    assert status == 400
    assert body["error"]["param"] == "strategy"
    assert "balanced" in body["error"]["message"]
    status, body = call(console, "/api/console/posture/preview", {"mode": "controller"})
    assert status == 400
    assert "baseline" in body["error"]["message"]
    status, body = call(console, "/api/console/analytics?group_by=colour")
    assert (status, body["error"]["param"]) == (400, "group_by")
    status, body = call(console, "/api/console/requests?status=9xx")
    assert (status, body["error"]["param"]) == (400, "status")
    status, body = call(console, "/api/console/decisions?limit=abc")
    assert (status, body["error"]["param"]) == (400, "limit")


def test_binding_edit_applies_to_running_router(console: Gateway) -> None:
    status, body = call(
        console,
        "/api/console/bindings",
        {"role_id": "general.chat", "endpoint_id": "local-small", "status": "disabled"},
        method="PUT",
    )
    assert status == 200, body
    cell = next(
        c
        for c in body["cells"]
        if (c["role_id"], c["endpoint_id"]) == ("general.chat", "local-small")
    )
    assert cell["status"] == "disabled"
    (reply,) = send(console, 1, model="general.chat")
    assert reply.model == "large"
    _, models = call(console, "/api/console/models")
    local = next(e for e in models["data"] if e["endpoint_id"] == "local-small")
    assert local["evidence"]["never_benchmarked"] is True
    status, body = call(
        console,
        "/api/console/bindings",
        {"role_id": "nope", "endpoint_id": "local-small", "status": "active"},
        method="PUT",
    )
    assert (status, body["error"]["param"]) == (400, "role_id")


def test_prompt_decision_and_observe_agree(console: Gateway) -> None:
    send(console, 4)
    status, sent = call(console, "/api/console/prompt", {"prompt": "What is 2+2?"})
    assert status == 200
    assert sent["ok"]
    endpoint = sent["endpoint_id"]
    _, detail = call(console, f"/api/console/decisions/{sent['decision_id']}")
    assert detail["decision"]["chosen_endpoint_id"] == endpoint
    assert detail["facts"]["endpoint_id"] == endpoint
    assert endpoint in detail["evidence"]
    _, ledger = call(console, "/api/console/requests?limit=1")
    assert ledger["total"] == 5
    assert ledger["data"][0]["request_id"] == sent["request_id"]
    assert ledger["data"][0]["endpoint_id"] == endpoint
    _, request = call(console, f"/api/console/requests/{sent['request_id']}")
    assert {s["span_type"] for s in request["spans"]} >= {"router.selection", "provider.prefill"}
    assert request["usage"][0]["app_id"] == "console"
    _, analytics = call(console, f"/api/console/analytics?endpoint={endpoint}&group_by=endpoint")
    assert analytics["totals"]["requests"] == 5
    assert analytics["breakdown"]["rows"][0]["value"] == endpoint
    _, agreement = call(console, "/api/console/agreement")
    verdicts = {e["endpoint_id"]: e["verdict"] for e in agreement["endpoints"]}
    assert verdicts["cloud-large"] == "insufficient"  # no live traffic there


def test_no_eligible_endpoint_decisions_are_listed(console: Gateway) -> None:
    client = console.client()
    with pytest.raises(openai.BadRequestError, match="no eligible endpoint"):
        client.chat.completions.create(
            model="embedder", messages=[{"role": "user", "content": "embed me"}]
        )
    console.services.recorder.flush(2.0)
    _, body = call(console, "/api/console/decisions?outcome=no_endpoint")
    assert body["total"] == 1
    assert body["data"][0]["chosen_endpoint_id"] == ""
    _, ledger = call(console, "/api/console/requests?status=4xx")
    assert ledger["total"] == 1


def test_discover_and_add_endpoint(console: Gateway) -> None:
    extra = ScriptedUpstream.start_in_thread(
        {"models": {"mini": {"answer": "mini", "latency_ms": 1}}}
    )
    try:
        status, found = call(console, "/api/console/discover", {"url": extra.root_url})
        assert status == 200, found
        assert [m["model"] for m in found["models"]] == ["mini"]
        status, added = call(
            console, "/api/console/endpoints", {"url": extra.root_url, "provider": "box"}
        )
        assert status == 201, added
        assert added["endpoints"] == ["box.mini"]
        # the new endpoint has no evidence: an adaptive run on the unmeasured endpoints starts
        status, run = console.admin(f"/api/bench/runs/{added['benchmark_run']}")
        assert status == 200, run
        assert "box.mini" in [e["endpoint_id"] for e in run["endpoints"]]
        assert run["adaptive"] is not None
        (reply,) = send(console, 1, model="box.mini")
        assert reply.choices[0].message.content == "mini"
        written = console.settings.config.read_text()
        assert "box:" in written
        assert "model: mini" in written
    finally:
        extra.stop()
    status, body = call(console, "/api/console/discover", {"url": "ftp://nowhere"})
    assert (status, body["error"]["param"]) == (400, "url")


def test_lab_results_are_read_from_the_data_dir(console: Gateway) -> None:
    folder = console.settings.data_dir / "lab"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evaluate-1000.json").write_text(
        json.dumps({"kind": "evaluate", "train": "a", "test": "b", "results": [{"router": "knn"}]})
    )
    (folder / "scale-2000.json").write_text(
        json.dumps({"kind": "scale", "rows": [{"pool": 2}], "plot": "scale-2000.png"})
    )
    (folder / "scale-2000.png").write_bytes(b"\x89PNG\r\n\x1a\nnot-really")
    (folder / "evaluate-3000.json").write_text("{broken")
    _, body = call(console, "/api/lab/results")
    kinds = [(r["kind"], r["created_ms"]) for r in body["results"]]
    assert kinds == [("scale", 2000), ("evaluate", 1000)]
    assert body["results"][0]["plot_url"] == "/api/lab/plots/scale-2000.png"
    assert body["problems"] == ["evaluate-3000.json: not a JSON object; re-run 'rolecall lab'"]
    request = urllib.request.Request(
        f"http://127.0.0.1:{console.port}/api/lab/plots/scale-2000.png",
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["content-type"] == "image/png"
    status, _ = call(console, "/api/lab/plots/..%2Fadmin_token")
    assert status == 404
