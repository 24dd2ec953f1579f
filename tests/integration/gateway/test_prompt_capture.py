"""Prompt capture through a real gateway on SQLite and PostgreSQL: off by default (nothing
stored, nothing shown); on, an answered request's prompt is stored with its records, cut to its
limit, shown on the admin request detail, and scored feedback or a shadow grade of its answer
becomes a learned-routing record; retention deletes prompts by age."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.learned.store_records import live_records
from rolecall.providers.scripted import ScriptedUpstream
from rolecall.storage import open_storage

from .conftest import inventory
from .harness import ADMIN_TOKEN, Gateway, openai_provider

DAY_MS = 86_400_000
ASKED = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Capital of Peru?"},
]


def _capturing(a: Any, b: Any, **capture: Any) -> dict[str, Any]:
    return inventory(a, b, prompt_capture={"enabled": True, **capture})


def _chat(gw: Gateway, messages: list[dict[str, Any]], model: str = "default") -> Any:
    with gw.client() as client:
        return client.chat.completions.with_raw_response.create(
            model=model, messages=messages, max_tokens=4
        )


def _feedback(gw: Gateway, request_id: str, score: float, *, admin: bool = False) -> None:
    if admin:
        path, body, key = f"/api/requests/{request_id}/feedback", {"score": score}, ADMIN_TOKEN
    else:
        path, body, key = "/v1/feedback", {"request_id": request_id, "score": score}, gw.api_key
    status, answer = gw.raw(path, json.dumps(body).encode(), {"authorization": f"Bearer {key}"})
    assert status == 200, answer


def _until(check: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.05)


def test_off_by_default_nothing_is_stored_or_shown(gateway: Gateway) -> None:
    request_id = _chat(gateway, ASKED).headers["x-request-id"]
    _feedback(gateway, request_id, 1.0)
    status, record = gateway.admin(f"/api/requests/{request_id}")
    assert status == 200
    assert "prompt" not in record
    assert gateway.services.storage.prompts.get(request_id) is None
    assert gateway.services.storage.prompts.outcomes() == []


def test_a_captured_prompt_and_its_feedback_become_a_record(
    upstream_a: Any, upstream_b: Any, db_url: str, tmp_path: Path
) -> None:
    with Gateway(_capturing(upstream_a, upstream_b, max_chars=300), db_url, tmp_path) as gw:
        answered = _chat(gw, ASKED)
        request_id, endpoint = (
            answered.headers["x-request-id"],
            answered.headers["x-rolecall-endpoint"],
        )
        _feedback(gw, request_id, 0.2)
        _feedback(gw, request_id, 0.9)  # the client changes its mind: its row is replaced
        _feedback(gw, request_id, 0.4, admin=True)  # an operator's word, given last

        status, record = gw.admin(f"/api/requests/{request_id}")
        assert status == 200
        assert record["prompt"]["text"] == "Be brief.\n\nCapital of Peru?"
        assert record["prompt"]["truncated"] is False

        [row] = live_records(gw.services.storage.prompts.outcomes())
        assert (row["prompt"], row["model"], row["source"]) == (
            "Be brief.\n\nCapital of Peru?",
            endpoint,
            "feedback",
        )
        assert row["score"] == pytest.approx(0.4)

        # a long prompt is cut to max_chars and marked so
        long_id = _chat(gw, [{"role": "user", "content": "x" * 5000}]).headers["x-request-id"]
        assert gw.services.recorder.flush(10)
        stored = gw.services.storage.prompts.get(long_id)
        assert stored is not None
        assert (stored.prompt, stored.truncated) == ("x" * 300, True)


def test_a_share_of_zero_captures_nothing(
    upstream_a: Any, upstream_b: Any, db_url: str, tmp_path: Path
) -> None:
    with Gateway(_capturing(upstream_a, upstream_b, share=0.0), db_url, tmp_path) as gw:
        request_id = _chat(gw, ASKED).headers["x-request-id"]
        assert gw.services.recorder.flush(10)
        assert gw.services.storage.prompts.get(request_id) is None


@pytest.fixture
def judged_upstreams() -> Iterator[dict[str, Any]]:
    handles = {
        "a": ScriptedUpstream.start_in_thread({"models": {"model-a": {"answer": "Lima."}}}),
        "j": ScriptedUpstream.start_in_thread(
            {"models": {"judge": {"answer": '{"score": 9, "reason": "correct"}'}}}
        ),
    }
    yield handles
    for handle in handles.values():
        handle.stop()


def test_a_shadow_grade_of_a_captured_prompt_becomes_a_record(
    judged_upstreams: dict[str, Any], db_url: str, tmp_path: Path
) -> None:
    config = {
        "providers": {
            n: openai_provider(h.base_url, local=False) for n, h in judged_upstreams.items()
        },
        "endpoints": [
            {"provider": "a", "model": "model-a", "id": "ep-a"},
            {"provider": "j", "model": "judge", "id": "ep-j"},
        ],
        "aliases": {"pool": {"endpoints": ["ep-a"]}},
        "routing": {
            "shadow_judging": {"share": 1.0, "judge_endpoint_id": "ep-j"},
            "prompt_capture": {"enabled": True},
        },
    }
    with Gateway(config, db_url, tmp_path) as gw:
        request_id = _chat(gw, ASKED, model="pool").headers["x-request-id"]
        storage = gw.services.storage
        _until(
            lambda: storage.prompts.get(request_id) is not None and bool(storage.prompts.outcomes())
        )
        [row] = live_records(storage.prompts.outcomes())
        assert (row["model"], row["source"], row["prompt"]) == (
            "ep-a",
            "live_judged",
            "Be brief.\n\nCapital of Peru?",
        )
        assert row["score"] == pytest.approx(8 / 9)


def test_retention_deletes_prompts_older_than_keep_days(
    upstream_a: Any, upstream_b: Any, db_url: str, tmp_path: Path
) -> None:
    now = time.time_ns() // 1_000_000
    storage = open_storage(db_url)
    try:
        storage.prompts.add_rows(
            [
                {
                    "request_id": "old",
                    "prompt": "a",
                    "truncated": False,
                    "created_ms": now - 3 * DAY_MS,
                },
                {
                    "request_id": "new",
                    "prompt": "b",
                    "truncated": False,
                    "created_ms": now - 60_000,
                },
            ]
        )
    finally:
        storage.close()
    # capture off: what was kept before it was turned off still leaves with age
    config = inventory(upstream_a, upstream_b, prompt_capture={"keep_days": 2})
    with Gateway(config, db_url, tmp_path) as gw:
        _until(lambda: gw.services.storage.prompts.get("old") is None)
        assert gw.services.storage.prompts.get("new") is not None
        assert "prune-captured-prompts" in gw.services.node.leadership.status()["jobs"]  # type: ignore[operator]
