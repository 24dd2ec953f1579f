"""The throughput SLA computed by the runtime: an endpoint whose profile measured fewer tokens/s
than ``routing.observed_data.throughput_sla.min_tokens_per_sec`` has its throughput metric
multiplied by ``penalty_factor`` until ``penalty_s`` after that profile was measured; factor 0
excludes it as POLICY_DENY_ENDPOINT. Off unless enabled."""

from __future__ import annotations

from typing import Any

from rolecall.execution.cooldown import CooldownBook
from rolecall.execution.state import RoutingState
from rolecall.inventory.config import parse_inventory
from rolecall.inventory.inventory import endpoint_version
from rolecall.inventory.load import configured_inventory
from rolecall.profiles import Sample, aggregate_profile
from rolecall.protocol import ObservedPerformanceProfile
from rolecall.routing import Candidate, Decision, RoutingRequest

NOW = 1_700_000_000_000
PENALTY_MS = 600_000  # the default penalty_s, 10 minutes
HOME = {"kind": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "local": True}


def state(sla: dict[str, Any] | None = None) -> RoutingState:
    data: dict[str, Any] = {
        "providers": {"home": HOME},
        "endpoints": [{"provider": "home", "model": m, "id": m} for m in ("slow", "fast")],
    }
    if sla is not None:
        data["routing"] = {"observed_data": {"throughput_sla": sla}}
    routing = RoutingState(configured_inventory(parse_inventory(data, "t.yaml")), CooldownBook())
    assert routing.publish_profile(profile(routing, "fast", tps=80.0))
    assert routing.publish_profile(profile(routing, "slow", tps=10.0))
    return routing


def profile(
    routing: RoutingState, endpoint_id: str, tps: float, measured_at: int = NOW
) -> ObservedPerformanceProfile:
    version = endpoint_version(routing.inventory.endpoints[endpoint_id].identity)
    samples = [
        Sample(
            endpoint_id=endpoint_id,
            endpoint_version=version,
            source="live_request",
            timestamp_ms=measured_at - i,
            latency_ms=500.0,
        )
        for i in range(10)
    ]
    aggregate = aggregate_profile(
        samples, endpoint_id=endpoint_id, endpoint_version=version, now_ms=measured_at
    )
    assert aggregate is not None
    return aggregate.profile.model_copy(
        update={"tokens_per_sec": tps, "measured_at_ms": measured_at}
    )


def by_id(routing: RoutingState, now_ms: int) -> dict[str, Candidate]:
    return {c.endpoint_id: c for c in routing.view.candidates(now_ms)}


def decide(routing: RoutingState, now_ms: int) -> Decision:
    view = routing.view
    return view.router.decide(RoutingRequest(request_id="r"), view.candidates(now_ms))


def test_off_by_default() -> None:
    routing = state()
    assert routing.inventory.routing.observed_data.throughput_sla.enabled is False
    assert by_id(routing, NOW)["slow"].throughput_penalty is None


def test_an_endpoint_below_the_sla_is_penalised_until_the_penalty_ends() -> None:
    routing = state({"enabled": True})
    during = by_id(routing, NOW + 1000)
    assert during["slow"].throughput_penalty == 0.5  # the default factor
    assert during["fast"].throughput_penalty is None  # 80 tokens/s meets 24
    assert by_id(routing, NOW + 2000)["slow"] is during["slow"]  # built once, not per request
    decision = decide(routing, NOW + 1000)
    slow = next(
        s for s in decision.to_artifact()["scored_candidates"] if s["endpoint_id"] == "slow"
    )
    assert slow["metric_breakdown"]["throughput"]["raw"]["throughput_penalty"] == 0.5
    assert by_id(routing, NOW + PENALTY_MS - 1)["slow"].throughput_penalty == 0.5
    after = by_id(routing, NOW + PENALTY_MS)["slow"]
    assert after.throughput_penalty is None
    assert by_id(routing, NOW + PENALTY_MS + 1)["slow"] is after


def test_the_penalty_window_follows_the_profile_and_the_settings() -> None:
    routing = state({"enabled": True, "min_tokens_per_sec": 5, "penalty_s": 60})
    assert by_id(routing, NOW)["slow"].throughput_penalty is None  # 10 tokens/s meets 5
    routing = state({"enabled": True, "penalty_s": 60, "penalty_factor": 0.25})
    assert by_id(routing, NOW + 59_999)["slow"].throughput_penalty == 0.25
    assert by_id(routing, NOW + 60_000)["slow"].throughput_penalty is None
    # a newer profile still below the SLA starts a new window ...
    routing.publish_profile(profile(routing, "slow", tps=12.0, measured_at=NOW + 70_000))
    assert by_id(routing, NOW + 70_001)["slow"].throughput_penalty == 0.25
    # ... and one meeting it ends the penalty at once
    routing.publish_profile(profile(routing, "slow", tps=30.0, measured_at=NOW + 80_000))
    assert by_id(routing, NOW + 80_001)["slow"].throughput_penalty is None


def test_factor_zero_excludes_the_endpoint_as_denied_by_policy() -> None:
    routing = state({"enabled": True, "penalty_factor": 0})
    decision = decide(routing, NOW + 1000)
    assert decision.chosen_endpoint_id == "fast"
    exclusions = dict(decision.eligibility)["slow"]
    assert [code for code, _ in exclusions] == ["POLICY_DENY_ENDPOINT"]
    assert "throughput SLA" in exclusions[0][1]
    assert dict(decide(routing, NOW + PENALTY_MS).eligibility)["slow"] == ()


def test_an_inventory_change_rejudges_with_the_new_settings() -> None:
    routing = state({"enabled": True})
    assert by_id(routing, NOW)["slow"].throughput_penalty == 0.5
    routing.swap(state().inventory)  # the SLA switched off
    assert by_id(routing, NOW)["slow"].throughput_penalty is None
