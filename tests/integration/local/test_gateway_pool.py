"""The real local pool behind the gateway: real inference, routing that follows evidence, and a
server killed mid-request that falls back and comes back.

Two real models (SmolLM2-135M, fast and weak; Qwen2.5-Coder-0.5B, slower) served by llama.cpp,
routed by a real `rolecall` gateway, called with the official openai SDK. SQLite storage.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from rolecall.inventory.inventory import endpoint_version, membership_revision_for
from rolecall.profiles import Sample
from rolecall.providers.local.inventory import local_inventory_entries
from rolecall.providers.local.models import get_model
from rolecall.providers.local.pull import is_pulled, pull
from rolecall.providers.local.server import LocalServer, free_port
from rolecall.providers.local.supervisor import RestartPolicy, Supervisor
from tests.integration.gateway.harness import Gateway

# real llama.cpp inference takes every core: `make test` runs these after the rest, alone
pytestmark = pytest.mark.local_models

FAST, SLOW = "smollm2-135m", "qwen2.5-coder-0.5b"
FAST_ID, SLOW_ID = f"local.{FAST}", f"local.{SLOW}"
PROMPT = [{"role": "user", "content": "Name three colours."}]


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, Supervisor]]:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed: pip install 'rolecall[local]'")
    names = [FAST, SLOW]
    if (
        not all(is_pulled(n) for n in names)
        and os.environ.get("ROLECALL_SKIP_MODEL_DOWNLOAD") == "1"
    ):
        pytest.skip("model weights are not cached and ROLECALL_SKIP_MODEL_DOWNLOAD=1")
    tmp = tmp_path_factory.mktemp("pool")
    servers = [
        LocalServer(get_model(n), pull(n), port=free_port(), log_dir=tmp / "local", n_threads=1)
        for n in names
    ]
    holder: dict[str, Gateway] = {}

    def on_state(name: str, state: str) -> None:
        if "gw" in holder:
            holder["gw"].services.routing.set_offline(f"local.{name}", state != "healthy")

    supervisor = Supervisor(
        servers,
        state_file=tmp / "local" / "state.json",
        policy=RestartPolicy(backoff_initial_s=0.2, startup_timeout_s=60),
        on_state=on_state,
    )
    supervisor.start(wait=True, timeout=120)
    try:
        extra = local_inventory_entries(supervisor.status())
        inventory = {"routing": {"strategy": "balanced"}}
        with Gateway(
            inventory,
            f"sqlite:///{tmp / 'db.sqlite'}",
            tmp,
            extra_inventory=extra,
            upstream_timeout_s=60,
        ) as gw:
            holder["gw"] = gw
            yield gw, supervisor
    finally:
        supervisor.stop()


def _decision(gw: Gateway, headers: Any) -> dict[str, Any]:
    status, decision = gw.admin(f"/api/decisions/{headers['x-rolecall-decision-id']}")
    assert status == 200
    return decision  # type: ignore[no-any-return]


def _grade(gw: Gateway, scores: dict[str, float]) -> None:
    """Record benchmark samples with these judge scores and wait until routing sees them."""
    now = int(time.time() * 1000)
    samples = []
    for endpoint_id, score in scores.items():
        inventory = gw.services.routing.inventory
        version = endpoint_version(inventory.endpoints[endpoint_id].identity)
        revision = membership_revision_for(inventory, endpoint_id)  # graded under today's bindings
        samples += [
            Sample(
                endpoint_id,
                version,
                "benchmark",
                now - i,
                900.0,
                judge_score=score,
                membership_revision=revision,
            )
            for i in range(8)
        ]
    gw.services.writer.submit(gw.services.evidence.add, samples)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        profiles = gw.services.routing.profiles
        seen = {e: profiles[e].judge_score if e in profiles else None for e in scores}
        if all(v is not None and abs(v - scores[e]) < 0.05 for e, v in seen.items()):
            return
        time.sleep(0.1)
    raise AssertionError(f"graded evidence never reached routing: {seen}")


def test_real_completion_and_stream(pool: tuple[Gateway, Supervisor]) -> None:
    gw, _ = pool
    raw = gw.client().chat.completions.with_raw_response.create(
        model="default", messages=PROMPT, max_tokens=24, temperature=0
    )
    completion = raw.parse()
    assert completion.choices[0].message.content
    assert raw.headers["x-rolecall-endpoint"] in (FAST_ID, SLOW_ID)
    assert completion.usage is not None
    assert completion.usage.completion_tokens > 0
    stream = gw.client().chat.completions.create(
        model=SLOW_ID, messages=PROMPT, max_tokens=24, temperature=0, stream=True
    )
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert len(pieces) > 3
    assert "".join(pieces).strip()


def test_latency_strategy_follows_live_evidence(pool: tuple[Gateway, Supervisor]) -> None:
    gw, _ = pool
    client = gw.client()
    for endpoint_id in (FAST_ID, SLOW_ID, FAST_ID, SLOW_ID):  # live samples for both
        client.chat.completions.create(
            model=endpoint_id, messages=PROMPT, max_tokens=32, temperature=0
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        profiles = gw.services.routing.profiles
        if all(
            profiles.get(e) and profiles[e].sources.live_request_samples >= 2
            for e in (FAST_ID, SLOW_ID)
        ):
            break
        time.sleep(0.2)
    fast, slow = gw.services.routing.profiles[FAST_ID], gw.services.routing.profiles[SLOW_ID]
    assert fast.tokens_per_sec is not None
    assert slow.tokens_per_sec is not None
    assert fast.tokens_per_sec > slow.tokens_per_sec  # measured, not declared
    latency = gw.client(default_headers={"x-rolecall-strategy": "latency"})
    raw = latency.chat.completions.with_raw_response.create(
        model="default", messages=PROMPT, max_tokens=8
    )
    decision = _decision(gw, raw.headers)
    assert decision["chosen_endpoint_id"] == FAST_ID
    assert (
        decision["scored_candidates"][0]["metric_breakdown"]["throughput"]["source"] == "measured"
    )
    assert "MEASURED_PROFILE_USED" in decision["selection_reasons"]


def test_killed_server_falls_back_and_comes_back(pool: tuple[Gateway, Supervisor]) -> None:
    gw, supervisor = pool
    victim = supervisor.server(SLOW)
    assert victim is not None
    assert victim.pid is not None
    pid = victim.pid
    result: dict[str, Any] = {}

    def long_request() -> None:
        client = gw.client(default_headers={"x-rolecall-strategy": "quality"})
        raw = client.chat.completions.with_raw_response.create(
            model="default",
            messages=[{"role": "user", "content": "Write a long story about the sea."}],
            max_tokens=200,
            temperature=0,
        )
        result["headers"], result["completion"] = raw.headers, raw.parse()

    # graded benchmark evidence makes the slow model the quality leader, so it is chosen first with
    # the fast one as fallback; it goes through the recorder like a real benchmark, so a profile
    # refresh still pending from earlier traffic cannot overwrite it
    _grade(gw, {SLOW_ID: 0.95, FAST_ID: 0.2})
    worker = threading.Thread(target=long_request)
    worker.start()
    time.sleep(0.5)  # the request is now decoding on the victim
    os.kill(pid, signal.SIGKILL)
    worker.join(timeout=120)
    assert "completion" in result, "the request did not complete"
    assert result["completion"].choices[0].message.content
    decision = _decision(gw, result["headers"])
    assert decision["chosen_endpoint_id"] == SLOW_ID
    assert result["headers"]["x-rolecall-endpoint"] == FAST_ID  # served by the fallback
    # the supervisor restarts the killed server, and it is routable again
    assert supervisor.wait_for_state(SLOW, "healthy", timeout=90)
    restarted = supervisor.server(SLOW)
    assert restarted is not None
    assert restarted.pid != pid
    gw.services.routing.cooldowns.clear(SLOW_ID)
    raw = gw.client().chat.completions.with_raw_response.create(
        model=SLOW_ID, messages=PROMPT, max_tokens=8
    )
    assert raw.headers["x-rolecall-endpoint"] == SLOW_ID


EASY = [{"role": "user", "content": "Classify the sentiment as positive or negative: 'I love it.'"}]
HARD = [
    {
        "role": "user",
        "content": "Solve step by step: a tank holds 120 litres and loses 15% each hour while a "
        "pump adds 9 litres per hour. How many litres are left after 3 hours? Then write a "
        "Python function tank(h) that returns the amount after h hours, and prove it is right.",
    }
]


def _bucket_samples(gw: Gateway, endpoint_id: str, scores: dict[str, float]) -> list[Sample]:
    inventory = gw.services.routing.inventory
    version = endpoint_version(inventory.endpoints[endpoint_id].identity)
    revision = membership_revision_for(inventory, endpoint_id)
    now = int(time.time() * 1000)
    return [
        Sample(
            endpoint_id,
            version,
            "benchmark",
            now - i,
            900.0,
            judge_score=score,
            difficulty_bucket=bucket,  # type: ignore[arg-type]
            membership_revision=revision,
        )
        for bucket, score in scores.items()
        for i in range(6)
    ]


def test_difficulty_mode_on_real_models_follows_derived_ceilings(
    pool: tuple[Gateway, Supervisor],
) -> None:
    """Benchmark evidence per bucket gives the fast model a derived ceiling of easy: hard work
    goes past it to the slower model, easy work may stay on it (which of the two the latency
    strategy then picks is the live latencies' call, noisy on a loaded host)."""
    gw, _ = pool
    gw.services.storage.samples.add(
        _bucket_samples(gw, FAST_ID, {"easy": 0.9, "medium": 0.1, "hard": 0.0})
        + _bucket_samples(gw, SLOW_ID, {"easy": 0.95, "medium": 0.9, "hard": 0.8})
    )
    gw.services.ceilings.refresh([FAST_ID, SLOW_ID])
    client = gw.client(default_headers={"x-rolecall-strategy": "latency"})
    answers = {}
    for name, messages in (("easy", EASY), ("hard", HARD)):
        raw = client.chat.completions.with_raw_response.create(
            model="difficulty", messages=messages, max_tokens=16, temperature=0
        )
        assert raw.parse().choices[0].message.content  # real inference answered
        answers[name] = raw.headers
    assert answers["easy"]["x-rolecall-difficulty"] == "easy"
    assert answers["hard"]["x-rolecall-difficulty"] == "hard"
    assert answers["hard"]["x-rolecall-endpoint"] == SLOW_ID
    decision = _decision(gw, answers["hard"])
    [fast] = [e for e in decision["eligibility"] if e["endpoint_id"] == FAST_ID]
    assert "Difficulty ceiling 'easy' (derived)" in fast["exclusions"][0]["detail"]
    easy = _decision(gw, answers["easy"])
    [fast_easy] = [e for e in easy["eligibility"] if e["endpoint_id"] == FAST_ID]
    assert fast_easy["exclusions"] == []
    assert FAST_ID in [c["endpoint_id"] for c in easy["scored_candidates"]]


def test_a_real_model_as_routing_controller_answers_in_constrained_json(
    pool: tuple[Gateway, Supervisor], tmp_path: Any
) -> None:
    """The fast local model is the routing controller of a hybrid gateway: llama.cpp turns the
    directives' schema into a grammar, so its answer parses whatever it says."""
    _, supervisor = pool
    inventory = {
        "routing": {
            "mode": "hybrid",
            "controller": {"endpoint_id": FAST_ID, "timeout_ms": 60_000, "max_tokens": 160},
        }
    }
    extra = local_inventory_entries(supervisor.status())
    with Gateway(
        inventory, f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path, extra_inventory=extra
    ) as gw:
        raw = gw.client().chat.completions.with_raw_response.create(
            model="default", messages=EASY, max_tokens=8, temperature=0
        )
        status, body = gw.admin(f"/api/decisions/{raw.headers['x-rolecall-decision-id']}/plan")
    assert status == 200
    plan = body["plan"]
    assert plan["mode"] == "hybrid"
    controller = plan["controller"]
    assert controller["status"] in ("ok", "invalid"), str(controller)  # it answered, in time
    assert controller["endpointId"] == FAST_ID
    assert plan["arbitration"]["dominant"] in ("difficulty", "controller", "aligned")
    assert raw.headers["x-rolecall-dominant-signal"] == plan["arbitration"]["dominant"]
