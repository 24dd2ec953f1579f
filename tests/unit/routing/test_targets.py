"""Metric targets: derived from the pool where no policy sets them, the policy's where it does."""

from __future__ import annotations

from math import log1p
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rolecall.protocol import RoutingPolicy
from rolecall.routing import Candidate, Router
from rolecall.routing.policy import PolicySnapshot
from rolecall.routing.targets import (
    PoolTargets,
    derive_targets,
    fill_targets,
    percentile,
    two_figures,
)

from .builders import candidate, measured, request, role

# three local CPU endpoints: seconds of latency, single-digit tokens/s, free
CPU_POOL = (
    candidate("cpu-fast", local=True, evidence=measured(p50=2000, p95=2400, tps=12, cost=0.0)),
    candidate("cpu-mid", local=True, evidence=measured(p50=4000, p95=4800, tps=8, cost=0.0)),
    candidate("cpu-slow", local=True, evidence=measured(p50=8000, p95=9600, tps=4, cost=0.0)),
)


def policy(**changes: Any) -> RoutingPolicy:
    data: dict[str, Any] = {
        "strategy": "latency",
        "compute_preference": "auto",
        "required_capabilities": [],
        "required_modalities": [],
        "require_tools": False,
        "deny_endpoints": [],
        "allow_endpoints": [],
        "deny_provider_kinds": [],
        "allow_provider_kinds": [],
        "budget": {"enabled": False, "currency": "USD"},
        "privacy": {"allow_remote": True},
        "targets": {"latency_target_ms": 150, "latency_max_ms": 300, "throughput_target_tps": 40},
    }
    data.update(changes)
    return RoutingPolicy.model_validate(data)


def pool_router(
    pool: tuple[Candidate, ...], base: RoutingPolicy | None = None, **kw: Any
) -> Router:
    derived = derive_targets(pool)
    return Router(base, pool_targets=lambda: derived, **kw)


def latency_values(router: Router, pool: tuple[Candidate, ...]) -> dict[str, float]:
    decision = router.decide(request(strategy="latency"), pool)
    return {s.endpoint_id: s.values[1] for s in decision.ranked}


def test_the_reference_targets_flatten_a_cpu_pool_and_the_decision_says_so() -> None:
    decision = Router().decide(request(strategy="latency"), CPU_POOL)
    assert {s.values[1] for s in decision.ranked} == {0.0}
    [flat] = [f for f in decision.flat_metrics() if f.metric == "latency"]
    assert flat.value == 0.0
    assert flat.candidates == 3
    assert "latency_max_ms (300 ms, reference)" in flat.message
    assert "routing.policy.targets" in flat.message
    # the note reaches the artifact where the schema allows it, and the artifact stays valid
    art = decision.to_artifact()
    winner = art["scored_candidates"][0]["metric_breakdown"]["latency"]["raw"]
    assert winner["warning"] == flat.message
    assert all(
        "warning" not in s["metric_breakdown"]["latency"]["raw"]
        for s in art["scored_candidates"][1:]
    )
    decision.to_model()


def test_derived_targets_follow_the_documented_rules() -> None:
    targets = derive_targets(CPU_POOL)
    effective = sorted(
        p50 + 0.25 * (p95 - p50) for p50, p95 in ((2000, 2400), (4000, 4800), (8000, 9600))
    )
    assert targets.latency_target_ms == two_figures(effective[1])  # the median
    assert targets.latency_max_ms == two_figures(2 * effective[2])  # 2 × p90 (the max of three)
    # 12 tokens/s at the p90 is below the reference 40: a pool widens a target, never narrows it
    assert targets.throughput_target_tps is None
    assert targets.cost_target is None  # every price is 0: nothing to normalise against
    assert targets.endpoints == 3


def test_a_pool_the_reference_targets_fit_decides_as_the_reference_router() -> None:
    hosted = (
        candidate("a", evidence=measured(quality=0.8, p50=90, p95=140, tps=35, cost=0.004)),
        candidate("b", evidence=measured(quality=0.7, p50=60, p95=90, tps=25, cost=0.001)),
        candidate("c", evidence=measured(quality=0.9, p50=200, p95=260, tps=15, cost=0.008)),
    )
    assert derive_targets(hosted) == PoolTargets(endpoints=3)
    for strategy in ("balanced", "latency", "cost", "quality"):
        plain = Router().decide(request(strategy=strategy), hosted)
        pooled = pool_router(hosted).decide(request(strategy=strategy), hosted)
        assert [s.endpoint_id for s in pooled.ranked] == [s.endpoint_id for s in plain.ranked]
        assert [s.total for s in pooled.ranked] == [s.total for s in plain.ranked]


def test_derived_targets_spread_a_cpu_pool() -> None:
    values = latency_values(pool_router(CPU_POOL), CPU_POOL)
    assert values["cpu-fast"] > values["cpu-mid"] > values["cpu-slow"] > 0.0
    assert values["cpu-fast"] - values["cpu-slow"] > 0.3
    targets = derive_targets(CPU_POOL)
    eff = 2000 + 0.25 * 400
    expected = 1 - log1p(eff / targets.latency_target_ms) / log1p(
        targets.latency_max_ms / targets.latency_target_ms  # type: ignore[operator]
    )
    assert values["cpu-fast"] == pytest.approx(expected)
    decision = pool_router(CPU_POOL).decide(request(strategy="latency"), CPU_POOL)
    assert "latency" not in {f.metric for f in decision.flat_metrics()}
    raw = decision.to_artifact()["scored_candidates"][0]["metric_breakdown"]["latency"]["raw"]
    assert raw["targets_from"] == "pool"
    assert raw["latency_target_ms"] == targets.latency_target_ms
    assert "warning" not in raw


def test_throughput_and_cost_targets_spread_a_priced_pool() -> None:
    pool = (
        candidate("mini", evidence=measured(tps=90, cost=0.0006)),
        candidate("mid", evidence=measured(tps=60, cost=0.006)),
        candidate("opus", evidence=measured(tps=30, cost=0.045)),
        candidate("o1", evidence=measured(tps=20, cost=0.0375)),
    )
    # the reference cost target (0.01 per 1k) scores both expensive endpoints 0
    reference = Router().decide(request(strategy="cost"), pool)
    costs = {s.endpoint_id: s.values[3] for s in reference.ranked}
    assert costs["opus"] == costs["o1"] == 0.0
    derived = pool_router(pool).decide(request(strategy="cost"), pool)
    costs = {s.endpoint_id: s.values[3] for s in derived.ranked}
    assert costs["mini"] > costs["mid"] > costs["o1"] > costs["opus"] == 0.0
    speeds = {s.endpoint_id: s.values[2] for s in derived.ranked}
    assert speeds["mini"] == 1.0 > speeds["mid"] > speeds["opus"] > speeds["o1"]


def test_configured_targets_win_over_the_pool() -> None:
    base = policy(
        targets={"latency_target_ms": 5000, "latency_max_ms": 20000, "throughput_target_tps": 10}
    )
    decision = pool_router(CPU_POOL, base).decide(request(), CPU_POOL)
    p = decision.context.policy
    assert (p.latency_target_ms, p.latency_max_ms, p.throughput_target_tps) == (5000, 20000, 10)
    assert p.target_source("latency_target_ms") == "policy"
    assert p.target_source("throughput_target_tps") == "policy"
    snap = decision.to_artifact()["policy_snapshot"]["targets"]
    assert snap == {"latency_target_ms": 5000, "latency_max_ms": 20000, "throughput_target_tps": 10}


def test_unset_targets_come_from_the_pool_and_set_ones_from_the_policy() -> None:
    # the runtime's policy carries every target (the protocol requires them); the ones the
    # operator did not set are named and left to the pool
    base = policy(
        targets={"latency_target_ms": 150, "latency_max_ms": 300, "throughput_target_tps": 10}
    )
    router = pool_router(CPU_POOL, base, unset_targets={"latency_target_ms", "latency_max_ms"})
    p = router.decide(request(), CPU_POOL).context.policy
    derived = derive_targets(CPU_POOL)
    assert (p.latency_target_ms, p.latency_max_ms) == (
        derived.latency_target_ms,
        derived.latency_max_ms,
    )
    assert p.throughput_target_tps == 10
    assert p.target_sources == ("pool", "pool", "policy", "reference")


def test_a_role_override_sets_its_own_targets() -> None:
    patient = role("batch", routing_policy_overrides={"targets": {"latency_target_ms": 30000}})
    router = pool_router(CPU_POOL)
    p = router.decide(request(requested_role_id="batch"), CPU_POOL, roles=[patient]).context.policy
    assert p.latency_target_ms == 30000
    assert p.target_source("latency_target_ms") == "policy"
    # the derived max (2 × p90) is below the role's target: it becomes twice the target
    assert p.latency_max_ms == 60000
    other = router.decide(request(), CPU_POOL, roles=[patient]).context.policy
    assert other.latency_target_ms == derive_targets(CPU_POOL).latency_target_ms


def test_a_cost_target_in_the_budget_is_the_policys() -> None:
    base = policy(budget={"enabled": False, "currency": "USD", "target_cost_per_request": 0.5})
    pool = (
        candidate("a", catalog_cost_per_1k_tokens=0.1),
        candidate("b", catalog_cost_per_1k_tokens=0.2),
    )
    p = pool_router(pool, base).decide(request(), pool).context.policy
    assert p.cost_target == 0.5
    assert p.target_source("cost_target") == "policy"
    unset = pool_router(pool).decide(request(), pool).context.policy
    assert unset.cost_target == 0.2
    assert unset.target_source("cost_target") == "pool"


def test_without_a_pool_the_reference_constants_apply() -> None:
    p = Router().decide(request(), CPU_POOL).context.policy
    assert (p.latency_target_ms, p.latency_max_ms, p.throughput_target_tps, p.cost_target) == (
        150,
        300,
        40,
        0.01,
    )
    assert p.target_sources == ("reference",) * 4


def test_one_endpoint_or_none_gives_no_targets() -> None:
    assert derive_targets(CPU_POOL[:1]) == PoolTargets(endpoints=1)
    assert derive_targets(()) == PoolTargets()
    unmeasured = (candidate("x"), candidate("y"))
    assert derive_targets(unmeasured) == PoolTargets(endpoints=2)


def test_no_warning_when_the_metrics_differ() -> None:
    pool = (
        candidate("a", evidence=measured(quality=0.9, p50=100, tps=50, cost=0.001, failure=0.0)),
        candidate("b", evidence=measured(quality=0.7, p50=200, tps=30, cost=0.002, failure=0.1)),
    )
    assert Router().decide(request(), pool).flat_metrics() == ()
    assert pool_router(pool).decide(request(), pool).flat_metrics() == ()


def test_every_equal_metric_is_named_and_a_lone_candidate_warns_of_nothing() -> None:
    same = measured(quality=0.8, p50=100, p95=100, tps=30, cost=0.001, failure=0.0)
    pool = (candidate("a", evidence=same), candidate("b", evidence=same))
    flat = Router().decide(request(), pool).flat_metrics()
    assert [f.metric for f in flat] == ["quality", "latency", "throughput", "cost", "reliability"]
    assert all("the same evidence" in f.message for f in flat)
    assert Router().decide(request(), pool[:1]).flat_metrics() == ()


def test_a_metric_unknown_everywhere_has_no_weight_and_no_warning() -> None:
    pool = (
        candidate("a", evidence={"judge_score": 0.8}),
        candidate("b", evidence={"judge_score": 0.6}),
    )
    decision = Router().decide(request(), pool)
    assert decision.weights[1] == 0.0  # latency: unknown for both, its weight went elsewhere
    assert decision.flat_metrics() == ()


def test_fill_keeps_the_latency_max_above_the_target() -> None:
    snap = PolicySnapshot()
    pool = PoolTargets(latency_target_ms=4000, latency_max_ms=3000)
    assert fill_targets(snap, pool).latency_max_ms == 8000
    closed = PolicySnapshot(latency_max_ms=1000, open_targets=frozenset({"latency_target_ms"}))
    assert fill_targets(closed, PoolTargets(latency_target_ms=4000)).latency_target_ms == 500
    assert fill_targets(PolicySnapshot(open_targets=frozenset()), pool) == PolicySnapshot(
        open_targets=frozenset()
    )


def test_percentiles_are_nearest_rank_members() -> None:
    assert percentile([1.0], 50) == 1.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 90) == 4.0
    assert [two_figures(x) for x in (2100.0, 2149.0, 0.012345, 7.0)] == [2100.0, 2100.0, 0.012, 7.0]


@given(
    st.lists(
        st.tuples(
            st.floats(1, 60_000), st.floats(0, 30_000), st.floats(0.1, 500), st.floats(0, 0.1)
        ),
        min_size=2,
        max_size=12,
    )
)
def test_derived_targets_are_deterministic_and_ordered(rows: list[tuple[float, ...]]) -> None:
    pool = tuple(
        candidate(f"e{i}", evidence=measured(p50=p50, p95=p50 + tail, tps=tps, cost=cost))
        for i, (p50, tail, tps, cost) in enumerate(rows)
    )
    targets = derive_targets(pool)
    assert targets == derive_targets(tuple(reversed(pool)))
    reference = PolicySnapshot()
    for name in ("latency_target_ms", "latency_max_ms", "throughput_target_tps", "cost_target"):
        value = targets.get(name)  # type: ignore[arg-type]
        assert value is None or value > getattr(reference, name)  # only ever widened
    filled = fill_targets(reference, targets)
    assert filled.latency_max_ms > filled.latency_target_ms
    # the slowest endpoint never scores below what the reference targets give it
    slowest = max(pool, key=lambda c: c.evidence.latency_ms_p50 or 0)  # type: ignore[union-attr]
    plain = Router().decide(request(), [slowest]).ranked[0].values[1]
    pooled = Router(pool_targets=lambda: targets).decide(request(), [slowest]).ranked[0].values[1]
    assert pooled >= plain


def test_the_explanation_shows_the_targets_and_the_warning() -> None:
    from rich.console import Console

    from rolecall.routing.explain import explain

    console = Console(record=True, width=200)
    console.print(explain(Router().decide(request(strategy="latency"), CPU_POOL)))
    text = console.export_text()
    assert "targets: latency 150 ms (max 300 ms, reference)" in text
    assert "warning: latency scores 0.00 for all 3 eligible candidates" in text
    console = Console(record=True, width=200)
    console.print(explain(pool_router(CPU_POOL).decide(request(strategy="latency"), CPU_POOL)))
    text = console.export_text()
    assert "(max 17000 ms, pool)" in text
    assert "warning: latency" not in text
