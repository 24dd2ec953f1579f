"""A drift alarm in the console: an endpoint whose answers feedback scores 0, far below its
benchmark, is demoted; the Dashboard shows the alarm with its action, and clearing it there
ends the demotion."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.profiles import Sample
from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.gateway.conftest import FAST, SLOW, inventory
from tests.integration.gateway.harness import Gateway

from .conftest import screenshot
from .test_seed_workflow import sign_in


@pytest.fixture
def alarmed(tmp_path: Path) -> Iterator[Gateway]:
    a = ScriptedUpstream.start_in_thread({"models": {"model-a": FAST, "model-c": SLOW}})
    b = ScriptedUpstream.start_in_thread({"models": {"model-b": SLOW}})
    url = f"sqlite:///{tmp_path / 'data' / 'rolecall.db'}"
    try:
        with Gateway(inventory(a, b), url, tmp_path) as gw:
            version, revision = gw.services.routing.endpoint_facts("ep-a")  # type: ignore[misc]
            now = time.time_ns() // 1_000_000
            gw.services.evidence.add(
                [
                    Sample(
                        "ep-a",
                        version,
                        "benchmark",
                        now - 1000,
                        20.0,
                        judge_score=0.9 + d,
                        difficulty_bucket="medium",
                        membership_revision=revision,
                    )
                    for d in (-0.05, 0.0, 0.05, 0.0, -0.05, 0.05, 0.0, 0.0)
                ]
            )
            with gw.client() as client:
                for _ in range(5):
                    raw = client.chat.completions.with_raw_response.create(
                        model="ep-a", messages=[{"role": "user", "content": "hi"}]
                    )
                    body = {"request_id": raw.headers["x-request-id"], "score": 0.0}
                    status, answer = gw.raw(
                        "/v1/feedback",
                        json.dumps(body).encode(),
                        {"authorization": f"Bearer {gw.api_key}"},
                    )
                    assert status == 200, answer
            assert "ep-a" in gw.services.routing.demotions
            gw.last_decision = raw.headers["x-rolecall-decision-id"]  # type: ignore[attr-defined]
            yield gw
    finally:
        a.stop()
        b.stop()


def test_the_dashboard_shows_an_alarm_and_clears_it(page: Any, alarmed: Gateway) -> None:
    gw = alarmed
    sign_in(page, gw)
    page.goto(f"http://127.0.0.1:{gw.port}/#/dashboard")
    alarm = page.locator("#alarms li[data-endpoint='ep-a']")
    alarm.wait_for()
    text = alarm.inner_text()
    assert "quality drift alarm" in text
    assert "re-benchmark ep-a" in text
    screenshot(page, "dashboard-drift-alarm")
    # the decision of a scored request shows its feedback and the candidate's alarm
    page.goto(f"http://127.0.0.1:{gw.port}/#/router/decisions/{gw.last_decision}")  # type: ignore[attr-defined]
    live = page.locator("#decision-live")
    live.wait_for()
    assert "demoted: quality" in live.inner_text()
    assert "5 scored, mean 0.00" in live.inner_text()
    assert "0" in page.locator("#decision-feedback").inner_text()
    page.goto(f"http://127.0.0.1:{gw.port}/#/dashboard")
    alarm.wait_for()
    alarm.locator("button").click()
    page.wait_for_selector("#alarms", state="detached")
    assert gw.services.routing.demotions == {}
    assert not page.errors, page.errors
