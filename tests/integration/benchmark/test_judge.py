"""The LLM judge protocol over real HTTP: a scripted judge endpoint behind rolecall's own caller.

The scripted upstream plays a judge that misbehaves in the ways small models do (prose instead of
JSON, empty rationales, errors, position bias); the judge must retry with JSON-only follow-ups,
reject what it cannot use, stop calling through its circuit breaker, and swap positions.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from rolecall.benchmark.cases import BenchCase
from rolecall.benchmark.client import EndpointCaller
from rolecall.benchmark.graders import grade_case
from rolecall.benchmark.graders.judge import CircuitBreaker, LlmJudge
from rolecall.benchmark.graders.pairwise import compare_pair
from rolecall.benchmark.reply import Reply
from rolecall.inventory.config import load_inventory_file
from rolecall.inventory.inventory import Inventory, build_inventory
from rolecall.providers.registry import adapters_for
from rolecall.providers.scripted import ScriptedUpstream

T = TypeVar("T")
CASE = BenchCase.model_validate(
    {
        "id": "capital",
        "task": "text.chat",
        "bucket": "easy",
        "messages": [{"role": "user", "content": "What is the capital of Australia?"}],
        "reference": "Canberra",
        "rubric": "Names Canberra.",
        "grader": "judge",
        "source": "test",
        "license": "CC0-1.0",
    }
)
GOOD = json.dumps({"score": 1, "rationale": "It names Canberra, as the reference does."})


@pytest.fixture
def upstream() -> Iterator[Any]:
    handle = ScriptedUpstream.start_in_thread({"models": {"judge": {"answer": GOOD}}})
    yield handle
    handle.stop()


def _inventory(upstream: Any, tmp_path: Path, kind: str) -> Inventory:
    config = {
        "providers": {"p": {"kind": kind, "base_url": upstream.base_url}},
        "endpoints": [{"provider": "p", "model": "judge", "id": "judge-ep"}],
    }
    path = tmp_path / "rolecall.yaml"
    path.write_text(yaml.safe_dump(config))
    return build_inventory(load_inventory_file(path, None))


def _with_judge(
    upstream: Any, tmp_path: Path, use: Callable[[LlmJudge], Awaitable[T]], **judge: Any
) -> T:
    inventory = _inventory(upstream, tmp_path, judge.pop("kind", "llamacpp"))

    async def run() -> T:
        caller = EndpointCaller(inventory.endpoints, adapters=adapters_for, timeout_s=10, retries=0)
        async with caller:
            endpoint = inventory.endpoints["judge-ep"]
            llm = LlmJudge(
                "judge-ep",
                lambda body: caller.complete("judge-ep", body),
                provider_kind=endpoint.provider.kind,
                **judge,
            )
            return await use(llm)

    return asyncio.run(run())


def _requests(upstream: Any) -> int:
    return int(upstream.stats()["models"]["judge"]["requests"])


def test_prose_gets_a_json_only_follow_up_and_output_is_constrained(
    upstream: Any, tmp_path: Path
) -> None:
    upstream.set_script(
        {
            "models": {"judge": {"answer": GOOD}},
            "rules": [
                {"prompt_contains": "Candidate answer:", "nth": 1, "answer": "Looks right to me!"}
            ],
        }
    )
    result = _with_judge(upstream, tmp_path, lambda j: grade_case(CASE, Reply("Canberra"), j))
    assert (result.method, result.score.judge_id, result.score.score) == (
        "judge",
        "judge:judge-ep",
        1.0,
    )
    assert _requests(upstream) == 2
    retry = upstream.stats()["models"]["judge"]["last_body"]
    assert retry["temperature"] == 0
    assert retry["response_format"]["type"] == "json_object"  # llama.cpp: schema-constrained
    assert retry["response_format"]["schema"]["required"] == ["score", "rationale"]
    assert "Reference answer:\nCanberra" in retry["messages"][1]["content"]
    assert retry["messages"][-2] == {"role": "assistant", "content": "Looks right to me!"}
    assert "JSON only" in retry["messages"][-1]["content"]


def test_openai_compatible_judge_gets_a_json_schema_response_format(
    upstream: Any, tmp_path: Path
) -> None:
    _with_judge(
        upstream,
        tmp_path,
        lambda j: grade_case(CASE, Reply("Canberra"), j),
        kind="openai_compatible",
    )
    body = upstream.stats()["models"]["judge"]["last_body"]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True


def test_empty_rationales_are_rejected_then_the_heuristic_grades(
    upstream: Any, tmp_path: Path
) -> None:
    upstream.set_script(
        {"models": {"judge": {"answer": json.dumps({"score": 1, "rationale": ""})}}}
    )
    result = _with_judge(
        upstream, tmp_path, lambda j: grade_case(CASE, Reply("It is Canberra."), j)
    )
    assert _requests(upstream) == 3  # the question and two JSON-only follow-ups
    assert (result.method, result.score.judge_id, result.score.score) == (
        "heuristic",
        "heuristic:reference",
        1.0,
    )
    assert "judge unavailable" in result.score.rationale


def test_circuit_breaker_stops_calling_a_failing_judge(upstream: Any, tmp_path: Path) -> None:
    upstream.set_script(
        {
            "models": {
                "judge": {"answer": GOOD, "fail": {"kind": "status", "status": 500, "times": 3}}
            }
        }
    )
    now = [0.0]
    breaker = CircuitBreaker(threshold=3, cooldown_s=30, clock=lambda: now[0])

    async def five_then_later(judge: LlmJudge) -> list[str]:
        methods = [(await grade_case(CASE, Reply("Canberra"), judge)).method for _ in range(5)]
        now[0] = 31.0  # the breaker half-opens; the judge works again
        methods.append((await grade_case(CASE, Reply("Canberra"), judge)).method)
        return methods

    methods = _with_judge(upstream, tmp_path, five_then_later, breaker=breaker)
    assert methods == ["heuristic"] * 5 + ["judge"]
    assert _requests(upstream) == 4  # three failures, then nothing until the half-open call
    assert breaker.trips == 1


def prefer(slot: str) -> str:
    return json.dumps({"winner": slot, "rationale": f"Answer {slot} names Canberra."})


def test_pairwise_asks_both_orders(upstream: Any, tmp_path: Path) -> None:
    upstream.set_script(
        {
            "models": {"judge": {"answer": prefer("A")}},
            "rules": [{"prompt_contains": "Answer B:\nCanberra", "answer": prefer("B")}],
        }
    )
    pair = (("x", "Canberra", 1.0), ("y", "Sydney", 0.0))
    outcome = _with_judge(upstream, tmp_path, lambda j: compare_pair(CASE, *pair, j))
    assert (outcome.winner, outcome.consistent, outcome.judge_id) == ("x", True, "judge:judge-ep")
    swapped = upstream.stats()["models"]["judge"]["last_body"]
    assert "Answer A:\nSydney" in swapped["messages"][1]["content"]
    assert swapped["response_format"]["schema"]["required"] == ["winner", "rationale"]
    upstream.set_script({"models": {"judge": {"answer": prefer("A")}}})  # always the first slot
    biased = _with_judge(upstream, tmp_path, lambda j: compare_pair(CASE, *pair, j))
    assert (biased.winner, biased.consistent) == (None, False)
    assert "position bias" in biased.rationale
