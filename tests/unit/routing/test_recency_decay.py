"""Recency decay: a measured metric is pulled toward neutral by ``w = exp(−ln2·age/half-life)``,
each metric with its own half-life; defaults, undated evidence and routers without a time are
left as they were, and the decision's raw inputs show the weight."""

from __future__ import annotations

from typing import Any

import pytest

from rolecall.inventory.config import RoutingConfig
from rolecall.inventory.inventory import policy_for
from rolecall.routing import Candidate, QualityEstimate, RecencyDecay, Router
from rolecall.routing.decision import Decision
from rolecall.routing.metrics import METRICS, NEUTRAL, RELIABILITY_NEUTRAL
from tests.unit.routing.builders import candidate, measured, request

MEASURED_AT = 1_700_000_000_000
DECAY = RecencyDecay()
# half-life (s) and neutral of each evidence metric, in METRICS order
HALFLIVES = {"quality": 900, "latency": 300, "throughput": 120, "cost": 1800, "reliability": 600}
NEUTRALS = {m: NEUTRAL for m in HALFLIVES} | {"reliability": RELIABILITY_NEUTRAL}


def dated(endpoint_id: str = "a", **kwargs: Any) -> Candidate:
    # slow, pricey and unreliable: every metric sits well away from its neutral value
    evidence = measured(quality=0.95, p50=120.0, tps=20.0, cost=0.002, failure=0.05)
    return candidate(endpoint_id, evidence=evidence | {"measured_at_ms": MEASURED_AT}, **kwargs)


def values(decision: Decision) -> dict[str, float]:
    return dict(zip(METRICS, decision.ranked[0].values, strict=True))


def test_weights_halve_every_half_life_per_metric() -> None:
    for i, seconds in enumerate(HALFLIVES.values()):
        for halves in (0, 1, 2):
            assert DECAY.weights(halves * seconds * 1000)[i] == pytest.approx(0.5**halves)
    assert DECAY.weights(-5000) == (1.0,) * 5  # evidence from the future is fresh, not stronger


@pytest.mark.parametrize("halves", [0, 1, 2])
@pytest.mark.parametrize("metric", list(HALFLIVES))
def test_a_measured_metric_is_pulled_toward_neutral(metric: str, halves: int) -> None:
    c = dated()
    observed = values(Router().decide(request(), [c]))
    now = MEASURED_AT + halves * HALFLIVES[metric] * 1000
    decayed = values(Router(recency_decay=DECAY).decide(request(), [c], now_ms=now))
    neutral = NEUTRALS[metric]
    assert decayed[metric] == pytest.approx(neutral + 0.5**halves * (observed[metric] - neutral))
    assert decayed["preference"] == observed["preference"]  # never measured, never decayed


def test_defaults_and_declared_values_stay_as_they_are() -> None:
    bare = candidate("bare", evidence={"judge_score": 0.9, "measured_at_ms": MEASURED_AT})
    priced = candidate(
        "priced",
        evidence={"latency_ms_p50": 90.0, "measured_at_ms": MEASURED_AT},
        catalog_cost_per_1k_tokens=0.004,
    )
    late = MEASURED_AT + 3_600_000
    plain = Router().decide(request(), [bare, priced])
    decayed = Router(recency_decay=DECAY).decide(request(), [bare, priced], now_ms=late)
    after_by_id = {s.endpoint_id: s for s in decayed.ranked}
    for before in plain.ranked:
        after = after_by_id[before.endpoint_id]
        for metric, source, old, new in zip(
            METRICS, before.sources, before.values, after.values, strict=True
        ):
            if source == "measured":
                assert new != old, metric
            else:  # a default stays neutral; a catalog price is declared, not evidence
                assert new == old, metric


def test_nothing_decays_without_a_time_or_a_date() -> None:
    c = dated()
    late = MEASURED_AT + 3_600_000
    plain = values(Router().decide(request(), [c]))
    assert values(Router(recency_decay=DECAY).decide(request(), [c])) == plain
    assert values(Router().decide(request(), [c], now_ms=late)) == plain
    undated = candidate("u", evidence=measured(quality=0.95))
    plain_undated = values(Router().decide(request(), [undated]))
    decided = Router(recency_decay=DECAY).decide(request(), [undated], now_ms=late)
    assert values(decided) == plain_undated
    assert (
        "recency_weight"
        not in decided.to_artifact()["scored_candidates"][0]["metric_breakdown"]["quality"]["raw"]
    )


def test_the_decision_shows_the_weight_and_the_decayed_value() -> None:
    now = MEASURED_AT + 300_000  # one latency half-life
    decision = Router(recency_decay=DECAY).decide(request(), [dated()], now_ms=now)
    breakdown = decision.to_artifact()["scored_candidates"][0]["metric_breakdown"]
    latency = breakdown["latency"]
    assert latency["raw"]["recency_weight"] == pytest.approx(0.5)
    assert latency["raw"]["halflife_s"] == 300
    assert latency["raw"]["evidence_age_ms"] == 300_000
    assert latency["raw"]["decayed_value"] == pytest.approx(latency["value"])
    observed = latency["raw"]["observed_value"]
    assert latency["value"] == pytest.approx(NEUTRAL + 0.5 * (observed - NEUTRAL))
    assert breakdown["quality"]["raw"]["recency_weight"] == pytest.approx(0.5 ** (300 / 900))
    assert "recency_weight" not in breakdown["preference"]["raw"]
    decision.to_model()  # still schema-valid


def test_the_clock_gives_the_time_when_decide_does_not() -> None:
    c = dated()
    later = MEASURED_AT + 120_000
    clocked = Router(recency_decay=DECAY, clock=lambda: later)
    assert values(clocked.decide(request(), [c])) == values(
        Router(recency_decay=DECAY).decide(request(), [c], now_ms=later)
    )
    # an explicit time wins over the clock
    at_once = values(clocked.decide(request(), [c], now_ms=MEASURED_AT))
    assert at_once == values(Router().decide(request(), [c]))
    what_if = clocked.with_policy(policy_for(RoutingConfig()))  # keeps the decay and the clock
    assert values(what_if.decide(request(), [c])) == values(clocked.decide(request(), [c]))


def test_decayed_values_are_not_cached_and_do_not_leak_into_the_cache() -> None:
    c = dated()
    decaying = Router(recency_decay=DECAY)
    first = values(decaying.decide(request(), [c], now_ms=MEASURED_AT + 60_000))
    second = values(decaying.decide(request(), [c], now_ms=MEASURED_AT + 600_000))
    assert second["throughput"] != first["throughput"]
    fresh = values(Router().decide(request(), [dated()]))
    assert values(Router().decide(request(), [c])) == fresh


def test_the_throughput_penalty_multiplies_the_decayed_value() -> None:
    now = MEASURED_AT + 120_000  # one throughput half-life
    plain = values(Router(recency_decay=DECAY).decide(request(), [dated()], now_ms=now))
    penalised = dated(throughput_penalty=0.5)
    decision = Router(recency_decay=DECAY).decide(request(), [penalised], now_ms=now)
    assert values(decision)["throughput"] == pytest.approx(plain["throughput"] * 0.5)
    raw = decision.to_artifact()["scored_candidates"][0]["metric_breakdown"]["throughput"]["raw"]
    assert raw["decayed_value"] == pytest.approx(plain["throughput"])
    assert raw["throughput_penalty"] == 0.5


def test_a_learned_estimate_is_per_prompt_and_does_not_decay() -> None:
    estimate = {"a": QualityEstimate(0.3, "knn")}
    decision = Router(recency_decay=DECAY).decide(
        request(), [dated()], quality_estimates=estimate, now_ms=MEASURED_AT + 3_600_000
    )
    assert values(decision)["quality"] == 0.3
    raw = decision.to_artifact()["scored_candidates"][0]["metric_breakdown"]["quality"]["raw"]
    assert "recency_weight" not in raw


def test_a_half_life_must_be_positive() -> None:
    with pytest.raises(ValueError, match="latency_s"):
        RecencyDecay(latency_s=0)
