"""Shadow judging through a real gateway over scripted upstreams, on SQLite and PostgreSQL: a
judge endpoint grades every answer after it was served; an endpoint whose answers it grades low
loses the quality strategy's traffic. A judge never grades its own answers, and the day's
budget stops it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.providers.scripted import ScriptedUpstream

from .harness import Gateway, openai_provider
from .test_feedback import _ask, _seed_benchmark

GOOD = '{"score": 9, "reason": "correct"}'
BAD = '{"score": 2, "reason": "wrong"}'


@pytest.fixture
def upstreams() -> Iterator[dict[str, Any]]:
    handles = {
        "a": ScriptedUpstream.start_in_thread({"models": {"model-a": {"answer": "good answer"}}}),
        "b": ScriptedUpstream.start_in_thread({"models": {"model-b": {"answer": "bad answer"}}}),
        "j": ScriptedUpstream.start_in_thread(
            {
                "models": {"judge": {"answer": GOOD}},
                "rules": [{"prompt_contains": "bad answer", "answer": BAD}],
            }
        ),
    }
    yield handles
    for handle in handles.values():
        handle.stop()


def _inventory(up: dict[str, Any], **shadow: Any) -> dict[str, Any]:
    def endpoint(name: str, model: str, price: float) -> dict[str, Any]:
        return {
            "provider": name,
            "model": model,
            "id": f"ep-{name}",
            "price": {"input_per_1m": price, "output_per_1m": price},
        }

    return {
        "providers": {n: openai_provider(h.base_url, local=False) for n, h in up.items()},
        "endpoints": [
            endpoint("a", "model-a", 1.0),
            endpoint("b", "model-b", 1.0),
            endpoint("j", "judge", 50.0),
        ],
        "aliases": {"pool": {"endpoints": ["ep-a", "ep-b"]}},
        "routing": {
            "strategy": "quality",
            "shadow_judging": {"share": 1.0, "judge_endpoint_id": "ep-j", **shadow},
        },
    }


def _until(check: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.05)


def _judged(gw: Gateway, endpoint_id: str) -> list[float | None]:
    samples = gw.services.storage.samples.for_endpoint(endpoint_id, source="live_judged")
    return [s.judge_score for s in samples]


def test_low_grades_move_routing_to_the_endpoint_graded_well(
    upstreams: dict[str, Any], db_url: str, tmp_path: Path
) -> None:
    with Gateway(_inventory(upstreams), db_url, tmp_path) as gw:
        _seed_benchmark(gw, {"ep-a": 0.8, "ep-b": 0.85})
        served = [_ask(gw, model="pool").headers["x-rolecall-endpoint"] for _ in range(3)]
        assert served[0] == "ep-b"
        _until(lambda: len(_judged(gw, "ep-b")) >= 1)
        deadline = time.monotonic() + 15  # the grade reaches routing through the profiles
        while time.monotonic() < deadline:
            served.append(_ask(gw, model="pool").headers["x-rolecall-endpoint"])
            if served[-1] == "ep-a":
                break
            time.sleep(0.1)
        assert served[-1] == "ep-a", served
        _until(lambda: len(_judged(gw, "ep-a")) >= 1)
        low, high = _judged(gw, "ep-b"), _judged(gw, "ep-a")
        assert low == [pytest.approx(1 / 9)] * len(low)  # "2 of 10" from the judge's rules
        assert high == [pytest.approx(8 / 9)] * len(high)
        assert gw.services.shadow.counts["judged"] >= 2
        judge_body = upstreams["j"].stats()["models"]["judge"]["last_body"]
        assert "ASSISTANT'S ANSWER" in judge_body["messages"][-1]["content"]
        assert _judged(gw, "ep-j") == []


def test_a_judge_never_grades_itself_and_stops_at_its_budget(
    upstreams: dict[str, Any], db_url: str, tmp_path: Path
) -> None:
    config = _inventory(upstreams)
    config["routing"]["shadow_judging"]["judge_endpoint_id"] = "ep-b"
    with Gateway(config, db_url, tmp_path) as gw:
        _seed_benchmark(gw, {"ep-a": 0.8, "ep-b": 0.85})
        for _ in range(3):
            assert _ask(gw, model="pool").headers["x-rolecall-endpoint"] == "ep-b"
        _until(lambda: gw.services.shadow.counts["self"] == 3)
        assert _judged(gw, "ep-b") == []

    broke = _inventory(upstreams, budget_usd_per_day=0.0)
    (tmp_path / "broke").mkdir()
    with Gateway(broke, db_url, tmp_path / "broke") as gw:
        for _ in range(2):
            _ask(gw, model="pool")
        _until(lambda: gw.services.shadow.counts["over_budget"] == 2)
        assert _judged(gw, "ep-a") == _judged(gw, "ep-b") == []


def test_a_streamed_answer_is_put_together_and_graded(
    upstreams: dict[str, Any], db_url: str, tmp_path: Path
) -> None:
    with Gateway(_inventory(upstreams), db_url, tmp_path) as gw:
        _seed_benchmark(gw, {"ep-a": 0.8, "ep-b": 0.85})
        with gw.client() as client:
            stream = client.chat.completions.create(
                model="pool", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == "bad answer"
        _until(lambda: len(_judged(gw, "ep-b")) == 1)
        assert _judged(gw, "ep-b") == [pytest.approx(1 / 9)]
        judge_body = upstreams["j"].stats()["models"]["judge"]["last_body"]
        assert "ASSISTANT'S ANSWER\nbad answer" in judge_body["messages"][-1]["content"]
