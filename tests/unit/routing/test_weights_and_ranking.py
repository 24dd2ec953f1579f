"""Strategy weights, unknown-metric redistribution, near-tie breaking and fallback order."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rolecall.routing import SCORE_TIE_EPSILON, STRATEGY_WEIGHTS, Router
from rolecall.routing.ranking import rank
from rolecall.routing.weights import redistribute

from .builders import candidate, measured, request


@pytest.mark.parametrize("strategy", sorted(STRATEGY_WEIGHTS))
def test_presets_sum_to_one(strategy: str) -> None:
    assert sum(STRATEGY_WEIGHTS[strategy]) == pytest.approx(1.0)  # type: ignore[index]


@pytest.mark.parametrize(
    ("alias", "strategy"),
    [("high-quality", "quality"), ("low-latency", "latency"), ("low-cost", "cost")],
)
def test_strategy_aliases(alias: str, strategy: str) -> None:
    from rolecall.routing import parse_routing_request

    req = parse_routing_request({"requestId": "r", "strategy": alias})
    decision = Router().decide(req, [candidate("a")])
    assert decision.context.policy.strategy == strategy
    assert decision.to_artifact()["policy_snapshot"]["strategy"] == strategy


def test_redistribution_rescales_known_metrics() -> None:
    weights = STRATEGY_WEIGHTS["balanced"]
    out = redistribute(weights, [False, False, False, True, False, True])
    assert out[3] == 0.0
    assert out[5] == 0.0
    assert sum(out) == pytest.approx(1.0)
    assert out[0] / out[1] == pytest.approx(weights[0] / weights[1])
    assert redistribute(weights, [True] * 6) == weights
    assert redistribute(weights, [False] * 6) == weights


def test_metric_unknown_for_everyone_loses_its_weight() -> None:
    # cost unknown for both candidates → cost weight goes to the others
    a = candidate(
        "a",
        evidence={
            "judge_score": 0.9,
            "latency_ms_p50": 100.0,
            "tokens_per_sec": 50.0,
            "failure_rate": 0.0,
        },
    )
    b = candidate(
        "b",
        evidence={
            "judge_score": 0.7,
            "latency_ms_p50": 100.0,
            "tokens_per_sec": 50.0,
            "failure_rate": 0.0,
        },
    )
    decision = Router().decide(request(), [a, b])
    assert decision.weights[3] == 0.0
    assert decision.weights[5] == 0.0  # no preference adjustments either
    assert sum(decision.weights) == pytest.approx(1.0)
    top = decision.ranked[0]
    assert top.total == pytest.approx(
        sum(w * v for w, v in zip(decision.weights, top.values, strict=True))
    )


def test_metric_known_for_one_keeps_its_weight() -> None:
    a = candidate("a", evidence=measured())
    b = candidate("b")
    decision = Router().decide(request(), [a, b])
    balanced = STRATEGY_WEIGHTS["balanced"]
    # only preference (default for both) is redistributed; cost is measured for "a"
    assert decision.weights[5] == 0.0
    assert decision.weights[3] == pytest.approx(balanced[3] / (1 - balanced[5]))


class Item:
    def __init__(self, total: float, quality: float, latency: float, rel: float, eid: str) -> None:
        self.total = total
        self.tie_key = (-quality, latency, -rel, eid)
        self.eid = eid


def test_near_tie_broken_by_quality_latency_reliability_id() -> None:
    items = [
        Item(0.800, 0.7, 100, 0.9, "e"),
        Item(0.795, 0.9, 300, 0.5, "d"),  # within ε, better quality → first
        Item(0.795, 0.7, 90, 0.9, "c"),  # same quality as e, faster → before e
        Item(0.795, 0.7, 90, 0.95, "b"),  # same quality and latency as c, more reliable → before c
        Item(0.795, 0.7, 90, 0.95, "a"),  # identical to b but smaller id → before b
        Item(0.700, 1.0, 1, 1.0, "z"),  # far below: last despite perfect tie keys
    ]
    assert [i.eid for i in rank(items)] == ["d", "a", "b", "c", "e", "z"]


def test_gap_larger_than_epsilon_is_not_a_tie() -> None:
    items = [Item(0.8, 0.1, 900, 0.1, "x"), Item(0.8 - 2 * SCORE_TIE_EPSILON, 1.0, 1, 1.0, "y")]
    assert [i.eid for i in rank(items)] == ["x", "y"]


def test_tie_window_follows_the_best_remaining_score() -> None:
    # After "b" (better quality) wins the first tie, "a" is top; "c" is within ε of a → compared to a.
    items = [
        Item(1.000, 0.5, 100, 1, "a"),
        Item(0.995, 0.9, 100, 1, "b"),
        Item(0.991, 0.8, 100, 1, "c"),
    ]
    assert [i.eid for i in rank(items)] == ["b", "c", "a"]


@given(
    st.lists(
        st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 500)), min_size=1, max_size=40
    )
)
def test_ranking_is_a_deterministic_permutation(rows) -> None:  # type: ignore[no-untyped-def]
    items = [Item(t, q, lat, 1.0, f"e{i:03d}") for i, (t, q, lat) in enumerate(rows)]
    first = [i.eid for i in rank(items)]
    shuffled = items[:]
    random.Random(7).shuffle(shuffled)
    assert [i.eid for i in rank(shuffled)] == first
    assert sorted(first) == sorted(i.eid for i in items)
    by_id = {i.eid: i for i in items}
    for earlier, later in itertools.pairwise(first):
        # nothing ranks ahead of something that beats it by more than ε
        assert by_id[later].total <= by_id[earlier].total + SCORE_TIE_EPSILON + 1e-9
    best = max(i.total for i in items)
    assert by_id[first[0]].total >= best - SCORE_TIE_EPSILON - 1e-9


def test_fallbacks_are_the_rest_in_rank_order() -> None:
    cands = [candidate(f"e{i}", evidence=measured(cost=0.001 * (i + 1))) for i in range(4)]
    decision = Router().decide(request(strategy="cost"), list(reversed(cands)))
    assert decision.chosen_endpoint_id == "e0"
    assert decision.fallback_endpoint_ids == ("e1", "e2", "e3")
    assert decision.selection_reasons[0] == "BEST_TOTAL_SCORE"
    assert decision.selection_reasons[-1] == "FALLBACK_CHAIN_COMPUTED"
    assert "BUDGET_OPTIMIZATION" in decision.selection_reasons


@pytest.mark.parametrize(
    ("strategy", "winner"), [("quality", "smart"), ("latency", "fast"), ("cost", "cheap")]
)
def test_each_strategy_picks_its_leader(strategy: str, winner: str) -> None:
    cands = [
        candidate("smart", evidence=measured(quality=0.95, p50=900, p95=1500, tps=20, cost=0.008)),
        candidate("fast", evidence=measured(quality=0.6, p50=60, p95=80, tps=120, cost=0.006)),
        candidate("cheap", evidence=measured(quality=0.6, p50=700, p95=1200, tps=20, cost=0.0001)),
    ]
    assert Router().decide(request(strategy=strategy), cands).chosen_endpoint_id == winner


def test_used_measured_and_used_declared() -> None:
    decision = Router().decide(request(), [candidate("a")])
    assert (decision.used_measured, decision.used_declared) == (False, True)
    assert "DEFAULT_PROFILE_USED" in decision.selection_reasons
    decision = Router().decide(request(), [candidate("a", evidence=measured())])
    assert decision.used_measured is True
    assert "MEASURED_PROFILE_USED" in decision.selection_reasons
