"""Changes reach the router through the one routing state, on a real gateway: a console edit, a
benchmark refresh and a live profile update; endpoints added from the console are priced like the
ones configured at startup (catalog overrides included)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.inventory.inventory import endpoint_version, membership_revision_for
from rolecall.profiles import Sample
from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.gateway.harness import Gateway

from .conftest import call, console_inventory


def chosen(gw: Gateway, model: str = "default") -> str:
    reply = gw.client().chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "hi"}]
    )
    return str(reply.headers["x-rolecall-endpoint"])


@pytest.fixture
def priced(upstreams: tuple[Any, Any], db_url: str, tmp_path: Path) -> Iterator[Gateway]:
    inventory = console_inventory(*upstreams)
    inventory["catalog_overrides"] = {"mini": {"input_per_1m": 7.0, "output_per_1m": 9.0}}
    with Gateway(inventory, db_url, tmp_path) as gw:
        yield gw


def test_a_binding_edit_reaches_the_next_request(console: Gateway) -> None:
    role = next(iter(console.services.routing.inventory.roles))
    before = console.services.routing.view
    for endpoint_id in ("local-small", "cloud-large"):
        body = {"role_id": role, "endpoint_id": endpoint_id, "status": "disabled"}
        status, _ = call(console, "/api/console/bindings", body, method="PUT")
        assert status == 200
    view = console.services.routing.view
    assert view.version == before.version + 2
    # the role now has no endpoint: refused for it, while other traffic still routes
    failure = console.client().chat.completions.with_raw_response
    with pytest.raises(Exception, match="no eligible endpoint"):
        failure.create(model=role, messages=[{"role": "user", "content": "hi"}])
    assert chosen(console) in ("local-small", "cloud-large")
    # the view taken before the edits still routes the role as it was
    assert {b.role_id for b in before.inventory.bindings if b.status == "disabled"} == set()


def test_a_benchmark_refresh_and_a_live_profile_reach_the_router(console: Gateway) -> None:
    services = console.services
    routing = services.routing
    assert routing.profiles == {}
    now = time.time_ns() // 1_000_000
    inventory = routing.inventory
    samples = [
        Sample(
            endpoint_id="cloud-large",
            endpoint_version=endpoint_version(inventory.endpoints["cloud-large"].identity),
            source="benchmark",
            timestamp_ms=now - i,
            latency_ms=50.0,
            judge_score=1.0,
            membership_revision=membership_revision_for(inventory, "cloud-large"),
            benchmark_mode="quick",
        )
        for i in range(10)
    ]
    services.evidence.add(samples)
    refreshed = services.evidence.refresh(["cloud-large", "gone"])
    assert set(refreshed) == {"cloud-large"}
    assert routing.profiles["cloud-large"].judge_score == pytest.approx(1.0)
    assert services.storage.profiles.get("cloud-large") is not None  # stored as well
    evidence = {c.endpoint_id: c.evidence for c in routing.candidates(now)}
    assert evidence["cloud-large"] is not None
    # live traffic: the recorder's refreshed profile for the local endpoint reaches the router
    for _ in range(12):
        assert chosen(console, "local-small") == "local-small"
    services.recorder.flush(5.0)
    deadline = time.monotonic() + 10
    while "local-small" not in routing.profiles and time.monotonic() < deadline:
        services.recorder.refresh_due()
        time.sleep(0.1)
    assert "local-small" in routing.profiles


def test_endpoints_added_from_the_console_get_the_catalog_overrides(priced: Gateway) -> None:
    extra = ScriptedUpstream.start_in_thread({"models": {"mini": {"answer": "mini"}}})
    try:
        body = {"url": extra.root_url, "provider": "box"}
        status, added = call(priced, "/api/console/endpoints", body)
        assert (status, added["endpoints"]) == (201, ["box.mini"]), added
        endpoint = priced.services.routing.inventory.endpoints["box.mini"]
        assert (endpoint.input_per_1m, endpoint.output_per_1m) == (7.0, 9.0)
        assert chosen(priced, "box.mini") == "box.mini"
    finally:
        extra.stop()


def test_a_bad_add_changes_nothing(console: Gateway) -> None:
    before = console.services.routing.view
    status, body = call(console, "/api/console/endpoints", {"url": "http://x", "provider": "a b"})
    assert (status, body["error"]["param"]) == (400, "provider")
    status, body = call(console, "/api/console/endpoints", {"provider": "box"})
    assert (status, body["error"]["param"]) == (400, "url")
    assert console.services.routing.view is before
