"""Metric normalisation, defaults and sources, against hand-computed values."""

from __future__ import annotations

from math import log1p

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rolecall.routing import METRICS, QualityEstimate, Router, RoutingSignals
from rolecall.routing.metrics import effective_latency

from .builders import candidate, measured, request, role, task


def _breakdown(cand, req=None, **kwargs):  # type: ignore[no-untyped-def]
    decision = Router().decide(req or request(), [cand], **kwargs)
    [scored] = decision.to_artifact()["scored_candidates"]
    return scored["metric_breakdown"]


def test_effective_latency_blends_tail() -> None:
    assert effective_latency(100, 150) == pytest.approx(112.5)
    assert effective_latency(100, 80) == pytest.approx(100)  # p95 below p50 adds nothing
    assert effective_latency(100, None) == pytest.approx(100)


def test_measured_values_follow_the_reference_formulas() -> None:
    mb = _breakdown(
        candidate(
            "a", evidence=measured(quality=0.9, p50=100, p95=150, tps=20, cost=0.004, failure=0.1)
        )
    )
    assert mb["quality"] == {"value": 0.9, "source": "measured", "raw": {"judge_score": 0.9}}
    assert mb["latency"]["value"] == pytest.approx(1 - log1p(112.5 / 150) / log1p(300 / 150))
    assert mb["latency"]["raw"]["effective_latency_ms"] == pytest.approx(112.5)
    assert mb["throughput"]["value"] == pytest.approx(log1p(20) / log1p(40))
    assert mb["cost"]["value"] == pytest.approx(1 - 0.004 / 0.01)
    assert mb["reliability"]["value"] == pytest.approx(0.9)
    for metric in ("quality", "latency", "throughput", "cost", "reliability"):
        assert mb[metric]["source"] == "measured"


def test_defaults_without_evidence() -> None:
    mb = _breakdown(candidate("a"))
    assert {m: (mb[m]["value"], mb[m]["source"]) for m in METRICS} == {
        "quality": (0.5, "default"),
        "latency": (0.5, "default"),
        "throughput": (0.5, "default"),
        "cost": (0.5, "default"),
        "reliability": (0.7, "default"),
        "preference": (0.5, "default"),
    }


def test_quality_falls_back_to_quality_score_and_estimate_overrides() -> None:
    mb = _breakdown(candidate("a", evidence={"quality_score": 0.6}))
    assert mb["quality"]["value"] == 0.6
    estimate = {"a": QualityEstimate(0.83, "knn@abc")}
    mb = _breakdown(candidate("a", evidence={"judge_score": 0.2}), quality_estimates=estimate)
    assert mb["quality"]["value"] == 0.83
    assert mb["quality"]["raw"]["predictor"] == "knn@abc"


def test_catalog_price_is_declared_cost() -> None:
    mb = _breakdown(candidate("a", catalog_cost_per_1k_tokens=0.002))
    assert mb["cost"]["value"] == pytest.approx(0.8)
    assert mb["cost"]["source"] == "declared"


def test_values_are_clamped() -> None:
    mb = _breakdown(candidate("a", evidence=measured(p50=5000, p95=9000, tps=5000, cost=1.0)))
    assert mb["latency"]["value"] == 0.0
    assert mb["throughput"]["value"] == 1.0
    assert mb["cost"]["value"] == 0.0


def test_policy_targets_change_normalisation() -> None:
    from rolecall.protocol import RoutingPolicy

    policy = RoutingPolicy.model_validate(
        {
            "strategy": "balanced",
            "compute_preference": "auto",
            "required_capabilities": [],
            "required_modalities": [],
            "require_tools": False,
            "deny_endpoints": [],
            "allow_endpoints": [],
            "deny_provider_kinds": [],
            "allow_provider_kinds": [],
            "budget": {"enabled": False, "currency": "USD", "target_cost_per_request": 0.002},
            "privacy": {"allow_remote": True},
            "targets": {
                "latency_target_ms": 500,
                "latency_max_ms": 2000,
                "throughput_target_tps": 10,
            },
        }
    )
    decision = Router(policy).decide(
        request(), [candidate("a", evidence=measured(p50=500, p95=500, tps=10, cost=0.001))]
    )
    mb = decision.to_artifact()["scored_candidates"][0]["metric_breakdown"]
    assert mb["latency"]["value"] == pytest.approx(1 - log1p(1) / log1p(4))
    assert mb["throughput"]["value"] == pytest.approx(1.0)
    assert mb["cost"]["value"] == pytest.approx(0.5)


def test_throughput_penalty_scales_throughput() -> None:
    mb = _breakdown(candidate("a", evidence=measured(tps=40), throughput_penalty=0.5))
    assert mb["throughput"]["value"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("req", "local", "expected"),
    [
        (request(prefer_local=True), True, 0.65),
        (request(prefer_local=True), False, 0.35),
        (request(compute_preference="remote"), False, 0.65),
        (request(compute_preference="remote"), True, 0.35),
        (request(compute_preference="hybrid"), True, 0.5),
    ],
)
def test_locality_preference(req, local, expected) -> None:  # type: ignore[no-untyped-def]
    assert _breakdown(candidate("a", local=local), req)["preference"]["value"] == pytest.approx(
        expected
    )


def test_preference_bonuses() -> None:
    req = request(requested_role_id="r", preferred_capabilities=("a", "b"))
    cand = candidate(
        "e",
        capabilities=("text.chat", "a"),
        signals=RoutingSignals(continuity_affinity=True, cache_affinity=True, routing_model_rank=1),
    )
    from .builders import binding

    mb = _breakdown(cand, req, roles=[role("r")], bindings=[binding("r", "e")])
    # 0.5 + 0.25·(1/2) + 0.1 binding + 0.1 + 0.1 affinities + (0.15 − 0.05) rank → clamped to 1
    assert mb["preference"]["value"] == 1.0
    assert mb["preference"]["source"] == "declared"
    assert mb["preference"]["raw"]["preferred_capabilities_matched"] == ["a"]


def test_required_capabilities_do_not_count_as_preferred() -> None:
    req = request(requested_role_id="r", task_type="t")
    roles = [role("r", task_types_supported=["t"], preferred_capabilities=["text.chat"])]
    tasks = [task("t", required_capabilities=["text.chat"])]
    assert _breakdown(candidate("e"), req, roles=roles, tasks=tasks)["preference"]["value"] == 0.5


@given(
    q=st.floats(0, 1),
    p50=st.floats(0, 1e5),
    spread=st.floats(0, 1e5),
    tps=st.floats(0, 1e4),
    cost=st.floats(0, 10),
    fail=st.floats(0, 1),
)
def test_every_metric_is_in_unit_interval(q, p50, spread, tps, cost, fail) -> None:  # type: ignore[no-untyped-def]
    mb = _breakdown(candidate("a", evidence=measured(q, p50, p50 + spread, tps, cost, fail)))
    for metric in METRICS:
        assert 0.0 <= mb[metric]["value"] <= 1.0
