"""A real quick benchmark on the local CPU pool: SmolLM2-135M and Qwen2.5-Coder-0.5B served by
llama.cpp, plus a scripted remote endpoint, with the 0.5B model as the (self-graded) LLM judge.

Real inference, real graders (letters constrained by a GBNF grammar, code run in the sandbox, the
judge's JSON constrained by ``response_format``), evidence into the running gateway's profiles, and
the quality strategy's decision following that evidence.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.benchmark.cases import load_suite
from rolecall.protocol import validate_artifact
from rolecall.providers.local.inventory import local_inventory_entries
from rolecall.providers.local.models import get_model
from rolecall.providers.local.pull import is_pulled, pull
from rolecall.providers.local.server import LocalServer, free_port
from rolecall.providers.local.supervisor import ServerStatus
from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.gateway.harness import Gateway, openai_provider

from .scripting import WRONG, expert_rules

# real llama.cpp inference takes every core: `make test` runs these after the rest, alone
pytestmark = pytest.mark.local_models

SMALL, JUDGE = "smollm2-135m", "qwen2.5-coder-0.5b"
SMALL_ID, JUDGE_ID, EXPERT_ID = f"local.{SMALL}", f"local.{JUDGE}", "remote.expert"


def _case(
    case_id: str, bucket: str, prompt: str, grader: str, max_tokens: int, **extra: Any
) -> dict[str, Any]:
    return {
        "id": case_id,
        "task": extra.pop("task", "reasoning.multi_step"),
        "bucket": bucket,
        "quick": True,
        "messages": [{"role": "user", "content": prompt}],
        "grader": grader,
        "max_tokens": max_tokens,
        "source": "rolecall tests (authored)",
        "license": "Apache-2.0",
        **extra,
    }


CASES = [
    _case(
        "fruit",
        "easy",
        "Which of these is a fruit?\nA. carrot\nB. apple\nC. potato\nD. onion\nAnswer:",
        "choice",
        2,
        reference="B",
    ),
    _case(
        "capital",
        "medium",
        "What is the capital of France? Answer in one word.",
        "judge",
        8,
        reference="Paris",
        task="text.chat",
    ),
    _case(
        "add",
        "medium",
        "Write a Python function add(a, b) that returns a + b, in a ```python code block.",
        "code",
        48,
        grader_args={"tests": "assert add(2, 3) == 5", "entry_point": "add"},
        reference="```python\ndef add(a, b):\n    return a + b\n```",
        task="code.edit",
    ),
    _case(
        "product",
        "hard",
        "What is 987654 * 321? End with 'Answer: <number>'.",
        "numeric",
        16,
        reference="317036934",
    ),
]


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, Any, Path]]:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed: pip install 'rolecall[local]'")
    if (
        not all(is_pulled(n) for n in (SMALL, JUDGE))
        and os.environ.get("ROLECALL_SKIP_MODEL_DOWNLOAD") == "1"
    ):
        pytest.skip("model weights are not cached and ROLECALL_SKIP_MODEL_DOWNLOAD=1")
    tmp = tmp_path_factory.mktemp("bench-pool")
    suite = tmp / "tiny.jsonl"
    suite.write_text("".join(json.dumps(c) + "\n" for c in CASES))
    cases = load_suite(suite).cases
    expert = ScriptedUpstream.start_in_thread(
        {
            "models": {"expert": {"answer": WRONG, "latency_ms": 400}},
            "rules": expert_rules("expert", cases),
        }
    )
    servers = [
        LocalServer(get_model(n), pull(n), port=free_port(), log_dir=tmp / "local", n_threads=1)
        for n in (SMALL, JUDGE)
    ]
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_healthy(timeout=90)
        extra = local_inventory_entries([_status(s) for s in servers])
        extra["providers"]["remote"] = openai_provider(expert.base_url, local=False)
        price = {"input_per_1m": 5.0, "output_per_1m": 15.0}
        extra["endpoints"].append(
            {"id": EXPERT_ID, "provider": "remote", "model": "expert", "price": price}
        )
        with Gateway(
            {"routing": {"strategy": "quality"}},
            f"sqlite:///{tmp / 'db.sqlite'}",
            tmp,
            extra_inventory=extra,
            upstream_timeout_s=60,
        ) as gw:
            yield gw, expert, suite
    finally:
        for server in servers:
            server.stop()
        expert.stop()


def _status(server: LocalServer) -> ServerStatus:
    return ServerStatus(
        name=server.name,
        port=server.port,
        pid=server.pid,
        state="healthy",
        restarts=0,
        cold_start_ms=server.cold_start_ms,
        base_url=server.base_url,
        tokens_per_sec=None,
        gave_up=False,
        log_path=str(server.log_path),
    )


def _chosen(gw: Gateway) -> str:
    raw = gw.client().chat.completions.with_raw_response.create(
        model="default", messages=[{"role": "user", "content": "Say hi."}], max_tokens=4
    )
    status, decision = gw.admin(f"/api/decisions/{raw.headers['x-rolecall-decision-id']}")
    assert status == 200
    return str(decision["chosen_endpoint_id"])


def test_quick_benchmark_on_the_local_pool(pool: tuple[Gateway, Any, Path]) -> None:
    gw, _, suite = pool
    before = _chosen(gw)
    assert before != EXPERT_ID  # no evidence: the dear remote endpoint does not win
    hub = gw.services.bench
    # fixed: every case on every endpoint (the judge-overlap waves are what is checked)
    plan = hub.plan("quick", [SMALL_ID, JUDGE_ID, EXPERT_ID], JUDGE_ID, [suite], adaptive=False)
    started = time.monotonic()

    async def run() -> str:
        return await hub.wait(await hub.start(plan))

    assert asyncio.run(run()) == "completed"
    elapsed = time.monotonic() - started
    results = gw.services.storage.benchmarks.results(plan.run_id)
    assert len(results) == 3 * len(CASES)
    assert all(r.status == "graded" for r in results), [r.detail.get("error") for r in results]
    for r in results:
        validate_artifact("judge-score", r.detail["judge_score"])
    # judge-subject overlap: the judge's own answers were produced and graded after everyone else's
    own = [r.created_ms for r in results if r.endpoint_id == JUDGE_ID]
    others = [r.created_ms for r in results if r.endpoint_id != JUDGE_ID]
    assert min(own) >= max(others)
    judged = [r for r in results if r.case_id == "capital"]
    assert any(r.detail["method"] == "judge" for r in judged), [r.detail for r in judged]
    assert [r.detail["self_graded"] for r in judged if r.endpoint_id == JUDGE_ID] == [True]

    report = hub.report(plan.run_id)
    by_id = {e["endpoint_id"]: e for e in report["endpoints"]}
    assert by_id[EXPERT_ID]["quality"]["overall"]["mean"] == 1.0
    assert by_id[SMALL_ID]["local"]
    assert not by_id[EXPERT_ID]["local"]
    assert by_id[SMALL_ID]["tokens_per_sec"] > 0
    assert report["judge_facts"]["overlap"] is True
    assert len(report["pairwise"]) == 3  # one judge-graded case, three endpoint pairs
    # different answers are ranked by the judge (both orders); identical ones are ties unasked
    assert {p["judge_id"] for p in report["pairwise"]} <= {f"judge:{JUDGE_ID}", "identical"}
    assert any(p["judge_id"] == f"judge:{JUDGE_ID}" for p in report["pairwise"])
    assert by_id[SMALL_ID]["quality"]["overall"]["mean"] < 1.0

    deadline = time.monotonic() + 10
    while gw.services.routing.profiles.get(EXPERT_ID) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _chosen(gw) == EXPERT_ID, f"decision did not follow the evidence ({elapsed:.0f}s run)"
