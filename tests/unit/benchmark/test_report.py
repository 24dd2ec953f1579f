"""Run reports, strategy recommendation and the paired significance test."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from rolecall.benchmark.report import build_report, compare_runs, recommend
from rolecall.benchmark.results import BenchResultRecord, BenchRunRecord
from rolecall.benchmark.stats import paired_permutation_p

BUCKETS = ("easy", "medium", "hard")


def result(
    endpoint: str, i: int, score: float | None, *, run: str = "r1", **extra: Any
) -> BenchResultRecord:
    fields: dict[str, Any] = {
        "run_id": run,
        "endpoint_id": endpoint,
        "case_key": f"s/c{i}",
        "suite": "s",
        "case_id": f"c{i}",
        "bucket": BUCKETS[i % 3],
        "task": "text.chat",
        "status": "graded" if score is not None else "failed",
        "score": score,
        "latency_ms": 100.0 + i,
        "tokens_out": 10,
        "cost_usd": 0.001,
        "created_ms": 1000 + i,
        "detail": {"tokens_per_sec": 50.0},
    }
    fields.update(extra)
    return BenchResultRecord(**fields)


def run_record(endpoints: list[str], meta: dict[str, Any] | None = None) -> BenchRunRecord:
    config = {"endpoints": endpoints, "endpoint_meta": meta or {}}
    return BenchRunRecord("r1", "full", "completed", 1, 2, None, 30, config)


def test_exact_permutation_p_value_matches_enumeration() -> None:
    diffs = [0.5, 1.0, -0.25, 1.0, 0.75]
    observed = abs(sum(diffs))
    hits = sum(
        abs(sum(s * d for s, d in zip(signs, diffs, strict=True))) >= observed - 1e-12
        for signs in itertools.product((1, -1), repeat=len(diffs))
    )
    assert paired_permutation_p(diffs) == pytest.approx(hits / 32)
    assert paired_permutation_p([]) == 1.0
    assert paired_permutation_p([0.0, 0.0]) == 1.0
    assert paired_permutation_p([1.0] * 10) == pytest.approx(2 / 1024)


def test_monte_carlo_p_value_for_many_pairs() -> None:
    rng = random.Random(1)
    noise = [rng.uniform(-1, 1) for _ in range(60)]
    assert paired_permutation_p(noise) > 0.05
    shifted = [x + 0.8 for x in noise]
    assert paired_permutation_p(shifted) < 0.001


def test_report_per_endpoint_figures_and_quality_recommendation() -> None:
    results = [result("good", i, 1.0) for i in range(12)]
    results += [result("bad", i, 0.0 if i % 4 else 1.0, latency_ms=20.0) for i in range(12)]
    meta = {"good": {"local": True}, "bad": {"local": False}}
    report = build_report(run_record(["good", "bad"], meta), results)
    good, bad = report["endpoints"]
    assert good["local"] is True
    assert bad["local"] is False
    assert good["quality"]["overall"]["mean"] == 1.0
    assert set(good["quality"]["buckets"]) == set(BUCKETS)
    assert bad["quality"]["overall"]["ci_low"] < bad["quality"]["overall"]["mean"]
    assert good["latency_ms_p50"] == pytest.approx(105.5)
    assert good["tokens_per_sec"] == 50.0
    assert good["cost_per_case_usd"] == pytest.approx(0.001)
    rec = report["recommendation"]
    assert rec["strategy"] == "quality"
    assert rec["leave_pool"] == []  # 'bad' is weaker but faster: a real trade-off
    slow_bad = [r for r in results if r.endpoint_id == "good"]
    slow_bad += [result("bad", i, 0.0, latency_ms=500.0) for i in range(12)]
    dominated = build_report(run_record(["good", "bad"]), slow_bad)["recommendation"]
    assert dominated["leave_pool"] == ["bad"]  # worse, slower and no cheaper


def test_unstable_endpoint_leaves_and_similar_quality_prefers_the_faster() -> None:
    results = [result("fast", i, 1.0, latency_ms=50.0) for i in range(9)]
    results += [result("slow", i, 1.0, latency_ms=400.0, cost_usd=0.0005) for i in range(9)]
    results += [result("flaky", i, None if i % 2 else 1.0) for i in range(9)]
    report = build_report(run_record(["fast", "slow", "flaky"]), results)
    rec = report["recommendation"]
    assert rec["leave_pool"] == ["flaky"]
    assert rec["strategy"] == "latency"
    assert any("fast" in r and "50 ms" in r for r in rec["reasons"])


def test_single_healthy_endpoint_is_balanced() -> None:
    rec = recommend(build_report(run_record(["a"]), [result("a", 0, 1.0)])["endpoints"])
    assert rec["strategy"] == "balanced"


def test_compare_runs_pairs_shared_cases() -> None:
    a = [result("e", i, 0.0, run="a") for i in range(10)] + [result("only-a", 0, 1.0, run="a")]
    b = [result("e", i, 1.0, run="b") for i in range(8)]
    out = compare_runs(a, b)["endpoints"]
    assert [e["endpoint_id"] for e in out] == ["e"]
    entry = out[0]
    assert entry["shared_cases"] == 8
    assert (entry["a_mean"], entry["b_mean"], entry["delta"]) == (0.0, 1.0, 1.0)
    assert entry["p_value"] == pytest.approx(2 / 256, abs=1e-6)


def _inventory(tmp_path: Any, endpoints: list[dict[str, Any]]) -> Any:
    import yaml

    from rolecall.inventory.config import load_inventory_file
    from rolecall.inventory.inventory import build_inventory

    providers = {
        "remote": {"kind": "openai_compatible", "base_url": "https://api.example.com/v1"},
        "local": {"kind": "llamacpp", "base_url": "http://127.0.0.1:8101/v1"},
    }
    path = tmp_path / "rolecall.yaml"
    path.write_text(yaml.safe_dump({"providers": providers, "endpoints": endpoints}))
    return build_inventory(load_inventory_file(path, None))


def test_default_judge_prefers_remote_then_a_big_enough_local_model(tmp_path: Any) -> None:
    from rolecall.benchmark.service import default_judge as judge_of
    from rolecall.providers.local.models import MODELS

    sizes = {name: model.size_bytes for name, model in MODELS.items()}

    def default_judge(inventory: Any) -> str | None:
        return judge_of(inventory, sizes)

    small = [
        {"provider": "local", "model": "smollm2-135m", "id": "s"},
        {"provider": "local", "model": "qwen2.5-coder-0.5b", "id": "q05"},
    ]
    assert default_judge(_inventory(tmp_path, small)) is None  # at chance as judges
    big = [*small, {"provider": "local", "model": "qwen2.5-coder-1.5b", "id": "q15"}]
    assert default_judge(_inventory(tmp_path, big)) == "q15"
    remote = [
        *big,
        {"provider": "remote", "model": "gpt-4o-mini", "id": "r", "enabled": False},
        {"provider": "remote", "model": "gpt-4o", "id": "r2"},
    ]
    assert default_judge(_inventory(tmp_path, remote)) == "r2"
