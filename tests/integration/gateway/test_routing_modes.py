"""The difficulty, controller and hybrid routing modes end to end, through a real gateway over
scripted upstreams: a weak cheap endpoint with a declared ceiling and a strong dear one; a
controller endpoint scripted to answer directives, garbage, too late, or directives that try to
loosen the request's limits. Each answer's plan is read back from the admin API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.profiles import Sample
from rolecall.providers.scripted import ScriptedUpstream

from .harness import Gateway, openai_provider

EASY = "Classify the sentiment of this review as positive or negative: 'Clean room, kind staff.'"
HARD = (
    "Prove, step by step, that the function below runs in O(n log n), then rewrite it in Rust "
    "without recursion. Requirements:\n1. It must handle empty input.\n2. It must not "
    "allocate more than O(n) extra memory.\n3. Explain each invariant.\n4. Give the "
    "recurrence T(n) = 2T(n/2) + n and solve it exactly.\n\n```python\n"
    "def merge_sort(xs):\n    if len(xs) <= 1:\n        return xs\n    mid = len(xs) // 2\n"
    "    left, right = merge_sort(xs[:mid]), merge_sort(xs[mid:])\n    out = []\n"
    "    while left and right:\n        out.append((left if left[0] <= right[0] else right).pop(0))\n"
    "    return out + left + right\n```\nThen compare it with heap sort and quick sort, and "
    "say which is best for nearly sorted arrays of 10^7 integers, and why."
)


@pytest.fixture
def pool() -> Iterator[dict[str, Any]]:
    weak = ScriptedUpstream.start_in_thread(
        {"models": {"weak": {"answer": "weak", "latency_ms": 2}}}
    )
    strong = ScriptedUpstream.start_in_thread(
        {"models": {"strong": {"answer": "strong", "latency_ms": 2}}}
    )
    yield {"weak": weak, "strong": strong}
    weak.stop()
    strong.stop()


def _controller(answer: str, latency_ms: int = 1) -> Any:
    return ScriptedUpstream.start_in_thread(
        {"models": {"ctl": {"answer": answer, "latency_ms": latency_ms}}}
    )


def _inventory(pool: dict[str, Any], controller: Any = None, **routing: Any) -> dict[str, Any]:
    providers = {
        "w": openai_provider(pool["weak"].base_url, local=True),
        "s": openai_provider(pool["strong"].base_url, local=False),
    }
    endpoints: list[dict[str, Any]] = [
        {
            "provider": "w",
            "model": "weak",
            "id": "ep-weak",
            "max_difficulty": "easy",
            "price": {"input_per_1m": 0.0, "output_per_1m": 0.0},
        },
        {
            "provider": "s",
            "model": "strong",
            "id": "ep-strong",
            "price": {"input_per_1m": 5.0, "output_per_1m": 15.0},
        },
    ]
    if controller is not None:
        providers["c"] = openai_provider(controller.base_url, local=True)
        endpoints.append(
            {
                "provider": "c",
                "model": "ctl",
                "id": "ep-ctl",
                # the dearest: the cost strategy never routes a request to it
                "price": {"input_per_1m": 10.0, "output_per_1m": 10.0},
            }
        )
        routing.setdefault(
            "controller", {"endpoint_id": "ep-ctl", "timeout_ms": 400, "budget_usd": 0.01}
        )
    return {
        "providers": providers,
        "endpoints": endpoints,
        "aliases": {"weak-only": {"endpoints": ["ep-weak"]}},
        "routing": {"strategy": "cost", **routing},
    }


def _ask(gw: Gateway, prompt: str, model: str = "default", **extra: Any) -> tuple[Any, dict]:
    with gw.client() as client:
        raw = client.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": prompt}], max_tokens=8, **extra
        )
    status, plan = gw.admin(f"/api/decisions/{raw.headers['x-rolecall-decision-id']}/plan")
    assert status == 200
    return raw.headers, plan["plan"]


def _decision(gw: Gateway, headers: Any) -> dict[str, Any]:
    status, decision = gw.admin(f"/api/decisions/{headers['x-rolecall-decision-id']}")
    assert status == 200
    return decision  # type: ignore[no-any-return]


def test_difficulty_mode_keeps_easy_work_local_and_sends_hard_work_past_the_ceiling(
    pool: dict[str, Any], tmp_path: Path
) -> None:
    config = _inventory(pool, mode="difficulty")
    with Gateway(config, f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path) as gw:
        easy, easy_plan = _ask(gw, EASY)
        hard, hard_plan = _ask(gw, HARD)
        hard_decision = _decision(gw, hard)
    assert (easy["x-rolecall-endpoint"], easy["x-rolecall-difficulty"]) == ("ep-weak", "easy")
    assert easy["x-rolecall-routing-mode"] == "difficulty"
    assert hard["x-rolecall-difficulty"] == "hard"
    assert hard["x-rolecall-endpoint"] == "ep-strong"
    [weak] = [e for e in hard_decision["eligibility"] if e["endpoint_id"] == "ep-weak"]
    [exclusion] = weak["exclusions"]
    assert exclusion["code"] == "POLICY_DENY_ENDPOINT"
    assert exclusion["detail"].startswith("Difficulty ceiling 'easy'")
    assert hard_plan["difficulty"]["difficulty"] == "hard"
    assert hard_plan["difficulty"]["contributions"], hard_plan
    verdicts = {a["endpoint_id"]: a["verdict"] for a in hard_plan["advisories"]}
    assert verdicts == {"ep-weak": "above ceiling", "ep-strong": "no ceiling"}
    assert easy_plan["routed_difficulty"] == "easy"


def test_a_request_chooses_its_mode_and_a_mode_that_cannot_run_is_refused(
    pool: dict[str, Any], tmp_path: Path
) -> None:
    config = _inventory(pool)  # baseline, no controller
    with Gateway(config, f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path) as gw:
        plain, plain_plan = _ask(gw, HARD)
        asked, asked_plan = _ask(gw, HARD, extra_body={"rolecall": {"mode": "difficulty"}})
        posture, _ = _ask(gw, HARD, model="difficulty.hybrid")
        auth = {"authorization": f"Bearer {gw.api_key}"}
        refused = {
            "model": "default",
            "messages": [{"role": "user", "content": EASY}],
            "rolecall": {"mode": "controller"},
        }
        status, body = gw.raw("/v1/chat/completions", json.dumps(refused).encode(), auth)
        _, models = gw.raw("/v1/models", None, auth)
    assert plain_plan is None
    assert "x-rolecall-routing-mode" not in plain
    assert plain["x-rolecall-endpoint"] == "ep-weak"  # cost strategy, no ceiling
    assert asked["x-rolecall-endpoint"] == "ep-strong"
    assert asked_plan["mode"] == "difficulty"
    assert posture["x-rolecall-routing-mode"] == "difficulty"
    assert status == 400
    assert body["error"]["param"] == "rolecall.mode"
    assert "routing.controller" in body["error"]["message"]
    ids = {m["id"] for m in models["data"]}
    assert {"difficulty", "difficulty.local-only", "difficulty.remote-only"} <= ids
    assert not any(i.startswith(("controller", "hybrid")) for i in ids)


def test_the_controller_steers_within_limits_and_cannot_loosen_them(
    pool: dict[str, Any], tmp_path: Path
) -> None:
    steer = {"deny_endpoints": ["ep-weak"], "prefer_endpoints": ["ep-strong"]}
    controller = _controller(json.dumps(steer))
    config = _inventory(pool, controller, mode="controller")
    try:
        with Gateway(config, f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path) as gw:
            steered, plan = _ask(gw, EASY)
            steered_decision = _decision(gw, steered)
            # an alias of the weak endpoint alone: denying it would deny everything, and the
            # strong one is outside it; both directives are refused and recorded
            bounded, bounded_plan = _ask(gw, EASY, model="weak-only")
    finally:
        controller.stop()
    assert steered["x-rolecall-endpoint"] == "ep-strong"
    assert plan["controller"]["status"] == "ok"
    assert plan["controller"]["applied"]["prefer_endpoints"] == ["ep-strong"]
    assert "ep-weak" in steered_decision["policy_snapshot"]["deny_endpoints"]
    assert bounded["x-rolecall-endpoint"] == "ep-weak"
    rejected = {r["field"] for r in bounded_plan["controller"]["rejected"]}
    assert rejected == {"deny_endpoints", "prefer_endpoints"}, bounded_plan


@pytest.mark.parametrize(
    ("answer", "latency_ms", "status"),
    [
        ("I think you should use the strong one", 1, "invalid"),
        (json.dumps({"prefer_endpoints": ["ep-strong"], "budget": 100}), 1, "invalid"),
        (json.dumps({"prefer_endpoints": ["ep-strong"]}), 1500, "timeout"),
    ],
)
def test_a_failing_controller_leaves_the_baseline_choice(
    pool: dict[str, Any], tmp_path: Path, answer: str, latency_ms: int, status: str
) -> None:
    controller = _controller(answer, latency_ms)
    config = _inventory(pool, controller, mode="controller")
    try:
        with Gateway(config, f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path) as gw:
            headers, plan = _ask(gw, EASY)
    finally:
        controller.stop()
    assert headers["x-rolecall-endpoint"] == "ep-weak"  # what baseline's cost strategy picks
    assert plan["controller"]["status"] == status, plan


@pytest.mark.parametrize(
    ("controller_says", "prompt", "dominant", "endpoint"),
    [
        ("hard", EASY, "controller", "ep-strong"),
        ("easy", HARD, "difficulty", "ep-strong"),
        ("easy", EASY, "aligned", "ep-weak"),
    ],
)
def test_hybrid_arbitration_records_the_dominant_signal(
    pool: dict[str, Any],
    tmp_path: Path,
    controller_says: str,
    prompt: str,
    dominant: str,
    endpoint: str,
) -> None:
    controller = _controller(json.dumps({"difficulty": controller_says}))
    config = _inventory(pool, controller, mode="hybrid")
    try:
        with Gateway(config, f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path) as gw:
            headers, plan = _ask(gw, prompt)
    finally:
        controller.stop()
    assert plan["arbitration"]["dominant"] == dominant, plan
    assert headers["x-rolecall-dominant-signal"] == dominant
    assert headers["x-rolecall-endpoint"] == endpoint


def test_a_ceiling_derived_from_benchmark_quality_excludes_and_says_so(
    pool: dict[str, Any], tmp_path: Path
) -> None:
    config = _inventory(pool, mode="difficulty")
    del config["endpoints"][0]["max_difficulty"]  # the weak endpoint declares none
    with Gateway(config, f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path) as gw:
        before, _ = _ask(gw, HARD)
        version, revision = gw.services.routing.endpoint_facts("ep-weak")  # type: ignore[misc]
        now = int(time.time() * 1000)
        scores = {"easy": 1.0, "medium": 0.2, "hard": 0.0}
        gw.services.storage.samples.add(
            [
                Sample(
                    endpoint_id="ep-weak",
                    endpoint_version=version,
                    source="benchmark",
                    timestamp_ms=now - i,
                    latency_ms=10.0,
                    judge_score=score,
                    difficulty_bucket=bucket,  # type: ignore[arg-type]
                    membership_revision=revision,
                )
                for bucket, score in scores.items()
                for i in range(6)
            ]
        )
        gw.services.ceilings.refresh(["ep-weak"])
        after, plan = _ask(gw, HARD)
        easy, _ = _ask(gw, EASY)
        decision = _decision(gw, after)
        easy_decision = _decision(gw, easy)
    assert before["x-rolecall-endpoint"] == "ep-weak"  # no evidence, no ceiling: cheapest
    assert after["x-rolecall-endpoint"] == "ep-strong"
    assert easy["x-rolecall-endpoint"] == "ep-weak"
    [weak] = [e for e in decision["eligibility"] if e["endpoint_id"] == "ep-weak"]
    assert "(derived)" in weak["exclusions"][0]["detail"]
    advisory = {a["endpoint_id"]: a for a in plan["advisories"]}["ep-weak"]
    assert (advisory["max_difficulty"], advisory["source"]) == ("easy", "derived")
    assert gw.services.ceilings.describe()["ep-weak"]["ceiling"] == "easy"
    # a classified request is scored on the bucket's judged quality, not the average
    [weak_scored] = [c for c in easy_decision["scored_candidates"] if c["endpoint_id"] == "ep-weak"]
    quality = weak_scored["metric_breakdown"]["quality"]
    assert quality["raw"]["predictor"] == "benchmark-bucket:easy"
    assert quality["value"] == 1.0


def test_a_classifier_endpoint_classifies_and_falls_back(
    pool: dict[str, Any], tmp_path: Path
) -> None:
    says_hard = _controller(json.dumps({"difficulty": "hard"}))
    config = _inventory(pool, says_hard, mode="difficulty")
    del config["routing"]["controller"]
    config["routing"]["difficulty"] = {"classifier": "endpoint", "endpoint_id": "ep-ctl"}
    try:
        with Gateway(config, f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path) as gw:
            headers, plan = _ask(gw, EASY)
            says_hard.stop()  # the classifier is gone: its fallback difficulty (medium) holds
            fallback, fallback_plan = _ask(gw, EASY)
    finally:
        says_hard.stop()
    assert headers["x-rolecall-difficulty"] == "hard"
    assert plan["difficulty"]["source"] == "endpoint"
    assert plan["classifier"]["rubric_said"] == "easy"
    assert headers["x-rolecall-endpoint"] == "ep-strong"
    assert fallback["x-rolecall-difficulty"] == "medium"
    assert fallback_plan["difficulty"]["source"] == "fallback"
    assert fallback["x-rolecall-endpoint"] == "ep-strong"


def test_a_learned_classifier_classifies_what_the_gateway_routes(
    pool: dict[str, Any], tmp_path: Path
) -> None:
    pytest.importorskip("sklearn", reason="training needs the 'learned' extra")
    from rolecall.benchmark.cases import builtin_suites
    from rolecall.learned.difficulty import labelled_cases, train

    model, _ = train(labelled_cases(builtin_suites()))
    (tmp_path / "difficulty.json").write_text(json.dumps(model.artifact))
    config = _inventory(pool, mode="difficulty")
    # relative to rolecall.yaml, which the harness writes into tmp_path
    config["routing"]["difficulty"] = {"classifier": "learned", "artifact": "difficulty.json"}
    with Gateway(config, f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path) as gw:
        headers, plan = _ask(gw, HARD)
    assert plan["difficulty"]["source"] == "learned"
    assert plan["difficulty"]["version"] == "learned:difficulty"
    assert headers["x-rolecall-difficulty"] == plan["routed_difficulty"]
