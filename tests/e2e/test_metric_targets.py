"""The console shows the metric targets in use and warns of a metric that scores the same for every
candidate: on the Router page (the current rankings) and on a decision's page."""

from __future__ import annotations

import time
from typing import Any

from rolecall.inventory.inventory import endpoint_version
from rolecall.profiles import Sample, aggregate_profile
from rolecall.protocol import ObservedPerformanceProfile
from tests.integration.gateway.harness import Gateway

from .conftest import screenshot
from .test_seed_workflow import sign_in


def equal_profile(gw: Gateway, endpoint_id: str) -> ObservedPerformanceProfile:
    """The same judged quality and latency for any endpoint."""
    identity = gw.services.routing.inventory.endpoints[endpoint_id].identity
    version = endpoint_version(identity)
    now = int(time.time() * 1000)
    samples = [
        Sample(
            endpoint_id=endpoint_id,
            endpoint_version=version,
            source="benchmark",
            timestamp_ms=now - i,
            latency_ms=400.0,
            judge_score=0.7,
        )
        for i in range(10)
    ]
    aggregate = aggregate_profile(
        samples, endpoint_id=endpoint_id, endpoint_version=version, now_ms=now
    )
    assert aggregate is not None
    return aggregate.profile


def test_targets_and_flat_metric_warnings_are_shown(page: Any, seed_gateway: Gateway) -> None:
    gw = seed_gateway
    for endpoint_id in ("local-smollm", "cloud-frontier"):
        assert gw.services.routing.publish_profile(equal_profile(gw, endpoint_id))
    sign_in(page, gw)
    page.goto(f"http://127.0.0.1:{gw.port}/#/router")
    page.wait_for_selector("#targets-in-use")
    assert "latency 400 ms (max 800 ms, pool)" in page.locator("#targets-in-use").inner_text()
    flat = page.locator("#flat-metrics")
    flat.wait_for()
    assert "quality scores 0.70 for all 2 eligible candidates" in flat.inner_text()
    screenshot(page, "router-flat-metrics")
    row = page.locator("tr", has_text="(no role)").first
    assert "latency" in row.inner_text()
    # a request decided on this evidence keeps the warning in its stored decision
    raw = gw.client().chat.completions.with_raw_response.create(
        model="default", messages=[{"role": "user", "content": "hi"}]
    )
    decision_id = raw.headers["x-rolecall-decision-id"]
    page.goto(f"http://127.0.0.1:{gw.port}/#/router/decisions/{decision_id}")
    notes = page.locator("#decision-flat-metrics")
    notes.wait_for()
    assert "latency scores" in notes.inner_text()
    assert "does not change the ranking" in notes.inner_text()
    screenshot(page, "decision-flat-metrics")
    assert not page.errors, page.errors
