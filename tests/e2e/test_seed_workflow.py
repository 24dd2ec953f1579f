"""The seed workflow in a real browser (role-model.md §4.1–4.4): sign in, see the endpoints, run a
quick benchmark to the end, read the scores, preview and save a strategy, send a prompt, open its
decision, and find the same request with the same endpoint in Observe."""

from __future__ import annotations

import re
from typing import Any

from tests.integration.gateway.harness import ADMIN_TOKEN, Gateway

from .conftest import at_narrow_width, screenshot

BENCH_TIMEOUT_MS = 120_000


def sign_in(page: Any, gw: Gateway) -> None:
    page.goto(f"http://127.0.0.1:{gw.port}/")
    page.fill("#token", ADMIN_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_selector("nav a[aria-current=page]")


def test_seed_workflow(page: Any, seed_gateway: Gateway) -> None:
    gw = seed_gateway
    page.goto(f"http://127.0.0.1:{gw.port}/")
    page.fill("#token", "wrong-token")
    page.click("button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])")
    sign_in(page, gw)
    page.wait_for_selector(".stat .value")
    screenshot(page, "dashboard-empty")

    # Models: both endpoints, the local one marked local
    page.click("nav >> text=Models")
    row = page.locator("tr.endpoint-row", has_text="local-smollm")
    row.wait_for()
    assert "local" in row.inner_text()
    assert page.locator("tr.endpoint-row", has_text="cloud-frontier").count() == 1

    # Models → Benchmark: a quick run to the end, then the scores per endpoint
    page.click("nav >> text=Benchmark")
    page.wait_for_selector("#bench-start")
    page.click("#bench-start")
    page.wait_for_selector(".bench-endpoint", timeout=BENCH_TIMEOUT_MS)
    page.wait_for_selector("#bench-progress >> text=No run in progress", timeout=BENCH_TIMEOUT_MS)
    cards = page.locator(".bench-endpoint")
    assert cards.count() == 2
    for i in range(2):
        score = cards.nth(i).locator(".bench-score").inner_text()
        assert re.fullmatch(r"\d\.\d{3}|–", score), score
    assert page.locator("text=Run history").count() == 1
    screenshot(page, "benchmark")
    at_narrow_width(page, "benchmark")

    # Router: preview a strategy (what-if), then save it
    page.click("nav >> text=Router")
    page.wait_for_selector("#posture-strategy")
    page.select_option("#posture-strategy", "cost")
    assert page.locator("#posture-save").is_disabled()
    page.click("#posture-preview")
    page.wait_for_selector("#whatif")
    page.click("#posture-save")
    page.wait_for_selector("#posture-current >> text=cost")
    assert gw.services.routing.inventory.policy is not None  # the saved posture is the running one
    assert gw.services.routing.inventory.policy.strategy == "cost"

    # the prompt box sends a real request through the gateway
    page.fill("#prompt-text", "What is 2 + 2?")
    page.click("#prompt-send")
    page.wait_for_selector("#prompt-endpoint")
    endpoint = page.locator("#prompt-endpoint").inner_text()
    assert endpoint in ("local-smollm", "cloud-frontier")
    screenshot(page, "router")
    at_narrow_width(page, "router")

    # its decision: same endpoint, eligibility table, policy snapshot with the saved strategy
    page.click("#prompt-decision-link")
    page.wait_for_selector("#decision-chosen")
    assert page.locator("#decision-chosen").inner_text() == endpoint
    assert page.locator("text=Eligibility").count() >= 1
    assert '"strategy": "cost"' in page.locator("pre.json").inner_text()
    screenshot(page, "decision")
    at_narrow_width(page, "decision")

    # Observe: the request detail and the ledger show the same endpoint
    page.click("#decision-request-link")
    page.wait_for_selector("#request-endpoint")
    assert page.locator("#request-endpoint").inner_text() == endpoint
    assert page.locator(".wf-row").count() >= 3
    screenshot(page, "request")
    at_narrow_width(page, "request")
    page.click("nav >> text=Observe")
    page.wait_for_selector(".ledger-endpoint")
    assert page.locator(".ledger-endpoint").first.inner_text() == endpoint
    screenshot(page, "observe")
    at_narrow_width(page, "observe")

    assert not [e for e in page.errors if "401" not in e], page.errors
