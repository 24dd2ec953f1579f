"""A request's ``preferred_endpoints`` (the controller mode's directive): the endpoint at index i
gets the routing-model bonus max(0, 0.15 − 0.05·i) in the preference metric and the
ROUTING_MODEL_PREFERENCE_APPLIED reason, like a routing model's rank signal."""

from __future__ import annotations

import pytest

from rolecall.errors import ConfigError
from rolecall.routing import Router, RoutingSignals, parse_routing_request
from rolecall.routing.metrics import METRICS
from tests.unit.routing.builders import candidate, measured, request

PREFERENCE = METRICS.index("preference")


def test_it_is_read_in_either_spelling_and_shapes_the_posture() -> None:
    camel = parse_routing_request({"requestId": "r", "preferredEndpoints": ["b", "a"]})
    snake = parse_routing_request({"request_id": "r", "preferred_endpoints": ["b", "a"]})
    assert camel.preferred_endpoints == snake.preferred_endpoints == ("b", "a")
    assert camel.posture() != request(request_id="r").posture()
    with pytest.raises(ConfigError) as err:
        parse_routing_request({"requestId": "r", "preferredEndpoints": "b"})
    assert err.value.path == "$.preferredEndpoints"


def test_the_bonus_falls_with_the_rank() -> None:
    ids = ["e0", "e1", "e2", "e3"]
    decision = Router().decide(request(preferred_endpoints=tuple(ids)), [candidate(i) for i in ids])
    scored = {s.endpoint_id: s for s in decision.ranked}
    assert [scored[i].values[PREFERENCE] for i in ids] == pytest.approx([0.65, 0.6, 0.55, 0.5])
    assert scored["e2"].sources[PREFERENCE] == "declared"
    assert scored["e3"].sources[PREFERENCE] == "default"  # rank 3 earns nothing
    assert decision.chosen_endpoint_id == "e0"


def test_a_preferred_endpoint_moves_the_choice_and_the_decision_says_why() -> None:
    # unmeasured endpoints: preference carries the weight the unknown metrics gave up
    pair = [candidate("a"), candidate("b")]
    assert Router().decide(request(), pair).chosen_endpoint_id == "a"  # the smaller id
    decision = Router().decide(request(preferred_endpoints=("b",)), pair)
    assert decision.chosen_endpoint_id == "b"
    assert "ROUTING_MODEL_PREFERENCE_APPLIED" in decision.selection_reasons
    preference = decision.to_artifact()["scored_candidates"][0]["metric_breakdown"]["preference"]
    assert preference["raw"]["preferred_endpoint_rank"] == 0
    unpreferred = Router().decide(request(preferred_endpoints=("x",)), pair)
    assert "ROUTING_MODEL_PREFERENCE_APPLIED" not in unpreferred.selection_reasons


def test_among_measured_endpoints_it_is_a_nudge_of_the_preference_weight() -> None:
    fast, slow = measured(p50=100.0, p95=100.0), measured(p50=200.0, p95=200.0)
    pair = [candidate("fast", evidence=fast), candidate("slow", evidence=slow)]
    decision = Router().decide(request(preferred_endpoints=("slow",)), pair)
    assert decision.chosen_endpoint_id == "fast"  # 0.05 x 0.15 does not outweigh the evidence
    by_id = {s.endpoint_id: s for s in decision.ranked}
    assert by_id["slow"].values[PREFERENCE] == pytest.approx(0.65)


def test_with_a_rank_signal_too_the_better_rank_counts_once() -> None:
    ranked = candidate("a", signals=RoutingSignals(routing_model_rank=2))
    other = candidate("b")
    decision = Router().decide(request(preferred_endpoints=("b", "a")), [ranked, other])
    scored = {s.endpoint_id: s for s in decision.ranked}
    assert scored["a"].values[PREFERENCE] == pytest.approx(0.6)  # rank 1 from the list, not 2
    signal_first = candidate("a", signals=RoutingSignals(routing_model_rank=0))
    decision = Router().decide(request(preferred_endpoints=("b", "a")), [signal_first, other])
    assert decision.ranked[0].values[PREFERENCE] == pytest.approx(0.65)
