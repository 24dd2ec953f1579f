"""The runtime's router takes the targets the file leaves unset from its pool, derived once per
pool change; targets set in ``routing.policy`` win."""

from __future__ import annotations

import copy
from typing import Any

from rolecall.execution.cooldown import CooldownBook
from rolecall.execution.state import RoutingState
from rolecall.inventory.config import parse_inventory
from rolecall.inventory.inventory import endpoint_version
from rolecall.inventory.load import configured_inventory
from rolecall.operator.posture import Posture, with_posture
from rolecall.profiles import Sample, aggregate_profile
from rolecall.protocol import ObservedPerformanceProfile
from rolecall.routing import Decision, RoutingRequest
from rolecall.routing.targets import derive_targets

NOW = 1_700_000_000_000
HOME = {"kind": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "local": True}
# three CPU endpoints answering in seconds
LATENCIES = {"cpu-a": 2500.0, "cpu-b": 5000.0, "cpu-c": 9000.0}
CONFIG: dict[str, Any] = {
    "providers": {"home": HOME},
    "endpoints": [{"provider": "home", "model": m, "id": m} for m in LATENCIES],
    "routing": {"strategy": "latency"},
}


def measured_state(**policy: Any) -> RoutingState:
    data = copy.deepcopy(CONFIG)
    if policy:
        data["routing"]["policy"] = policy
    routing = RoutingState(configured_inventory(parse_inventory(data, "t.yaml")), CooldownBook())
    for endpoint_id, latency in LATENCIES.items():
        assert routing.publish_profile(profile(routing, endpoint_id, latency))
    return routing


def profile(routing: RoutingState, endpoint_id: str, latency: float) -> ObservedPerformanceProfile:
    version = endpoint_version(routing.inventory.endpoints[endpoint_id].identity)
    samples = [
        Sample(
            endpoint_id=endpoint_id,
            endpoint_version=version,
            source="live_request",
            timestamp_ms=NOW - i,
            latency_ms=latency,
        )
        for i in range(10)
    ]
    aggregate = aggregate_profile(
        samples, endpoint_id=endpoint_id, endpoint_version=version, now_ms=NOW
    )
    assert aggregate is not None
    return aggregate.profile


def decide(routing: RoutingState) -> Decision:
    view = routing.view
    return view.router.decide(RoutingRequest(request_id="r"), view.candidates(NOW))


def latency_scores(decision: Decision) -> dict[str, float]:
    return {s.endpoint_id: s.values[1] for s in decision.ranked}


def test_a_cpu_pool_is_spread_by_targets_derived_from_it() -> None:
    routing = measured_state()
    decision = decide(routing)
    scores = latency_scores(decision)
    assert scores["cpu-a"] > scores["cpu-b"] > scores["cpu-c"] > 0.0
    policy = decision.context.policy
    assert policy.target_source("latency_target_ms") == "pool"
    assert policy.latency_target_ms == 5000.0  # the median effective latency
    assert "latency" not in {f.metric for f in decision.flat_metrics()}
    targets = decision.to_artifact()["policy_snapshot"]["targets"]
    assert targets["latency_target_ms"] == 5000.0
    assert targets["latency_max_ms"] == 18000.0  # 2 × the p90 (the slowest of three)


def test_targets_set_in_the_file_win_and_a_flat_metric_is_flagged() -> None:
    routing = measured_state(targets={"latency_target_ms": 150, "latency_max_ms": 300})
    decision = decide(routing)
    assert set(latency_scores(decision).values()) == {0.0}
    policy = decision.context.policy
    assert (policy.latency_target_ms, policy.latency_max_ms) == (150, 300)
    assert policy.target_source("latency_max_ms") == "policy"
    # throughput was not set: it is still the pool's to derive (no tokens/s measured: reference)
    assert policy.target_source("throughput_target_tps") == "reference"
    [flat] = [f for f in decision.flat_metrics() if f.metric == "latency"]
    assert "(300 ms, policy)" in flat.message
    assert "routing.policy.targets" in flat.message


def test_targets_are_derived_once_per_pool_change() -> None:
    routing = measured_state()
    router = routing.view.router
    first = router.targets()
    assert first is router.targets()  # cached: no work per request
    assert first == derive_targets(routing.view.candidates(NOW))
    # an equal profile changes nothing: the same object keeps the router's caches warm
    routing.publish_profile(profile(routing, "cpu-b", LATENCIES["cpu-b"]))
    assert router.targets() is first
    routing.publish_profile(profile(routing, "cpu-c", 30000.0))
    moved = router.targets()
    assert moved is not None
    assert moved.latency_max_ms == 60000.0
    assert decide(routing).context.policy.latency_max_ms == 60000.0
    # a cooldown does not move the targets
    routing.cooldowns.enter("cpu-a", "timeout", NOW)
    assert [c.status for c in routing.view.candidates(NOW)].count("cooldown") == 1
    assert router.targets() is moved


def test_a_posture_change_keeps_the_pool_targets() -> None:
    routing = measured_state()
    posture = Posture("cost", "hybrid", "auto")
    routing.update(lambda inv: with_posture(inv, inv.policy, posture))
    policy = decide(routing).context.policy
    assert policy.strategy == "cost"
    assert policy.target_source("latency_target_ms") == "pool"


def test_an_embedder_does_not_move_the_chat_targets() -> None:
    data = copy.deepcopy(CONFIG)
    embedder = {
        "provider": "home",
        "model": "e",
        "id": "embed",
        "capabilities": ["embeddings.text"],
    }
    data["endpoints"].append(embedder)
    routing = RoutingState(configured_inventory(parse_inventory(data, "t.yaml")), CooldownBook())
    for endpoint_id, latency in {**LATENCIES, "embed": 8.0}.items():
        assert routing.publish_profile(profile(routing, endpoint_id, latency))
    policy = decide(routing).context.policy
    assert (policy.latency_target_ms, policy.latency_max_ms) == (5000.0, 18000.0)  # as without it
