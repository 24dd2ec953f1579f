"""The routing modes in the console: a request routed in the difficulty mode shows its plan on
the decision page (the classification, the difficulty routed with, each candidate's advisory),
and the Router page lists every endpoint's difficulty ceiling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rolecall.providers.scripted import ScriptedUpstream
from tests.e2e.conftest import LOCAL, REMOTE, seed_inventory
from tests.e2e.test_seed_workflow import sign_in
from tests.integration.gateway.harness import Gateway

HARD = (
    "Prove step by step that the loop below terminates, then rewrite it in Rust without "
    "recursion. It must handle empty input and must not allocate.\n```python\n"
    "def f(xs):\n    while xs:\n        xs = xs[1:]\n    return 0\n```\nThen compute 17 * 23 "
    "and 391 / 17, and explain each step."
)


def test_a_difficulty_decision_shows_its_plan_and_the_ceilings(page: Any, tmp_path: Path) -> None:
    local = ScriptedUpstream.start_in_thread({"models": {"smollm": LOCAL}})
    remote = ScriptedUpstream.start_in_thread({"models": {"frontier": REMOTE}})
    config = seed_inventory(local, remote)
    config["endpoints"][0]["max_difficulty"] = "easy"
    try:
        url = f"sqlite:///{tmp_path / 'rolecall.db'}"
        with Gateway(config, url, tmp_path) as gw:
            raw = gw.client().chat.completions.with_raw_response.create(
                model="difficulty", messages=[{"role": "user", "content": HARD}]
            )
            decision_id = raw.headers["x-rolecall-decision-id"]
            assert raw.headers["x-rolecall-difficulty"] == "hard"
            sign_in(page, gw)
            page.goto(f"http://127.0.0.1:{gw.port}/#/router/decisions/{decision_id}")
            plan = page.locator("#decision-plan")
            plan.wait_for()
            text = plan.inner_text()
            assert page.locator("#plan-mode").inner_text() == "difficulty"
            assert page.locator("#plan-difficulty").inner_text() == "hard"
            assert "above ceiling" in text
            assert "local-smollm" in text
            page.goto(f"http://127.0.0.1:{gw.port}/#/router")
            ceilings = page.locator("#difficulty-ceilings")
            ceilings.wait_for()
            row = ceilings.locator("tr", has_text="local-smollm")
            assert "easy" in row.inner_text()
            assert "declared" in row.inner_text()
            assert not page.errors, page.errors
    finally:
        local.stop()
        remote.stop()
