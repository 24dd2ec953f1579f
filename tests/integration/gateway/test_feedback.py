"""Feedback on answered requests, through a real gateway on SQLite and PostgreSQL: a client's
scores of one endpoint's answers lower its quality until the quality strategy routes elsewhere;
the rules (own requests only, one row per giver, bad bodies named) hold over real HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rolecall.gateway.auth import create_api_key
from rolecall.profiles import Sample

from .conftest import inventory
from .harness import Gateway


def _feedback(gw: Gateway, body: dict[str, Any], key: str | None = None) -> tuple[int, Any]:
    headers = {"authorization": f"Bearer {key or gw.api_key}"}
    return gw.raw("/v1/feedback", json.dumps(body).encode(), headers)


def _ask(gw: Gateway, model: str = "default", **extra: Any) -> Any:
    with gw.client() as client:
        return client.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=4, **extra
        )


def _seed_benchmark(gw: Gateway, scores: dict[str, float]) -> None:
    now = time.time_ns() // 1_000_000
    evidence, routing = gw.services.evidence, gw.services.routing
    samples = []
    for endpoint_id, score in scores.items():
        facts = routing.endpoint_facts(endpoint_id)
        assert facts is not None
        version, revision = facts
        samples += [
            Sample(
                endpoint_id,
                version,
                "benchmark",
                now - 60_000,
                50.0,
                judge_score=score,
                difficulty_bucket="medium",
                membership_revision=revision,
            )
            for _ in range(4)
        ]
    evidence.add(samples)
    evidence.refresh(list(scores))


def test_bad_scores_move_routing_away_from_an_endpoint(
    upstream_a: Any, upstream_b: Any, db_url: str, tmp_path: Path
) -> None:
    config = inventory(upstream_a, upstream_b, strategy="quality")
    with Gateway(config, db_url, tmp_path) as gw:
        _seed_benchmark(gw, {"ep-a": 0.9, "ep-b": 0.6})
        first = _ask(gw)
        assert first.headers["x-rolecall-endpoint"] == "ep-a"
        scored, answered = 0, first
        gw_key_id = gw.keys.check(f"Bearer {gw.api_key}", "127.0.0.1").key_id
        while answered.headers["x-rolecall-endpoint"] == "ep-a" and scored < 12:
            request_id = answered.headers["x-request-id"]
            status, body = _feedback(gw, {"request_id": request_id, "score": 0.0})
            assert status == 200, body
            assert (body["endpoint_id"], body["score"], body["giver"]) == ("ep-a", 0.0, gw_key_id)
            scored += 1
            answered = _ask(gw)
        # 4 judged cases at 0.9 against 0.6: each zero counts half a case, so the blended
        # quality falls to 0.6 after four of them; ep-a's faster live latency holds it a little
        # longer under the quality strategy, which weighs latency too
        assert answered.headers["x-rolecall-endpoint"] == "ep-b"
        assert 5 <= scored <= 10, scored
        profile = gw.services.routing.profiles["ep-a"]
        assert profile.judge_score is not None
        assert profile.judge_score <= 0.6
        stored = gw.services.storage.samples.for_endpoint("ep-a", source="feedback")
        assert [s.judge_score for s in stored] == [0.0] * scored


def test_feedback_rules_over_http(shared_gateway: Gateway) -> None:
    gw = shared_gateway
    answered = _ask(gw, extra_headers={"x-request-id": "client-req-feedback-1"})
    request_id = answered.headers["x-request-id"]

    # the client's own x-request-id finds it too; a second score replaces the first
    status, first = _feedback(gw, {"request_id": "client-req-feedback-1", "score": 0.2})
    assert status == 200, first
    status, second = _feedback(gw, {"request_id": request_id, "score": 0.9, "label": "good"})
    assert status == 200, second
    assert second["feedback_id"] == first["feedback_id"]
    assert (second["score"], second["label"], second["request_id"]) == (
        0.9,
        "good",
        first["request_id"],
    )

    # an operator's feedback is a row of its own; both are on the request's record
    status, admin_row = gw.raw(
        f"/api/requests/{request_id}/feedback",
        json.dumps({"comment": "checked by hand"}).encode(),
        {"authorization": "Bearer rca-test-admin-token"},
    )
    assert status == 200, admin_row
    assert admin_row["giver"] == "admin"
    status, listed = gw.admin(f"/api/requests/{request_id}/feedback")
    assert status == 200
    assert sorted(r["giver"] for r in listed["data"]) == sorted(["admin", second["giver"]])
    status, record = gw.admin(f"/api/requests/{request_id}")
    assert status == 200
    assert len(record["feedback"]) == 2

    # another key cannot see or score it; unknown ids are 404 naming the id
    _, other = create_api_key(gw.services.storage.keys, "other")
    gw.keys.refresh()
    status, body = _feedback(gw, {"request_id": request_id, "score": 1}, key=other)
    assert status == 404, body
    assert body["error"]["code"] == "request_not_found"
    status, body = _feedback(gw, {"request_id": "no-such-request", "score": 1})
    assert status == 404
    assert "no-such-request" in body["error"]["message"]


def test_bad_feedback_bodies_are_named(shared_gateway: Gateway) -> None:
    cases = [
        ({"request_id": "r", "score": 1.5}, "score"),
        ({"request_id": "r", "score": "good"}, "score"),
        ({"request_id": "r", "score": True}, "score"),
        ({"request_id": "r"}, None),
        ({"score": 0.5}, "request_id"),
        ({"request_id": "r", "score": 0.5, "stars": 5}, "stars"),
        ({"request_id": "r", "label": "x" * 65}, "label"),
        ({"request_id": "", "score": 0.5}, "request_id"),
    ]
    for body, param in cases:
        status, answer = _feedback(shared_gateway, body)
        assert status == 400, (body, answer)
        assert answer["error"]["param"] == param, (body, answer)
    auth = {"authorization": f"Bearer {shared_gateway.api_key}"}
    status, answer = shared_gateway.raw("/v1/feedback", b"[1, 2", auth)
    assert status == 400, answer
    # a body far past what the fields allow is refused without being kept in memory
    huge = json.dumps({"request_id": "r", "comment": "x" * 200_000}).encode()
    status, answer = shared_gateway.raw("/v1/feedback", huge, auth)
    assert status == 413, answer
    assert answer["error"]["code"] == "request_too_large"
