"""The Keys page drives the real gateway: a key created there is shown once and works with the
openai SDK, its spend and its team's show up, and revoking it there makes the gateway refuse it."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from rolecall.gateway.auth import create_api_key
from tests.integration.gateway.harness import Gateway

from .conftest import screenshot
from .test_seed_workflow import sign_in

HELLO = [{"role": "user", "content": "what is 2 + 2?"}]


def _traffic(gw: Gateway, key: str, n: int, **fields: Any) -> None:
    with openai.OpenAI(base_url=gw.base_url, api_key=key, max_retries=0) as client:
        for _ in range(n):
            client.chat.completions.create(model="cloud-frontier", messages=HELLO, **fields)


def test_create_list_use_and_revoke_a_key(page: Any, seed_gateway: Gateway) -> None:
    gw = seed_gateway
    _, other = create_api_key(gw.services.storage.keys, "batch-jobs", team="data")
    gw.keys.refresh()
    _traffic(gw, other, 3, user="nightly", metadata={"tags": "etl"})
    sign_in(page, gw)
    page.goto(f"http://127.0.0.1:{gw.port}/#/keys")
    page.wait_for_selector("tr.key-row")

    page.fill("#key-name", "e2e-key")
    page.fill("#key-team", "qa")
    page.fill("#key-budget_usd", "5")
    page.fill("#key-rpm", "60")
    page.click("#create-key button[type=submit]")
    value = page.locator("#new-key-value")
    value.wait_for()
    key = value.input_value()
    assert key.startswith("rc-")
    row = page.locator("tr.key-row", has_text="e2e-key")
    row.wait_for()
    text = row.inner_text()
    assert "qa" in text
    assert "$5.00 / month" in text
    assert "60 rpm" in text
    assert "active" in text
    [record] = [k for k in gw.services.storage.keys.all() if k.name == "e2e-key"]
    assert (record.team, record.limits.rpm) == ("qa", 60)

    # the key works, and its requests show on the page as its spend
    _traffic(gw, key, 2, metadata={"tags": "e2e,smoke"})
    page.click("#keys-refresh")
    row = page.locator("tr.key-row", has_text="e2e-key")
    cells = row.locator("td")
    page.wait_for_function(
        "() => [...document.querySelectorAll('tr.key-row')].some("
        "(r) => r.innerText.includes('e2e-key') && r.cells[4].innerText === '2')"
    )  # its requests in the last 30 days
    assert page.locator("#new-key-value").input_value() == key  # still shown, once
    assert cells.nth(5).inner_text() != "$0.00"  # cloud-frontier has prices
    usage = page.locator("tr.usage-row", has_text="e2e-key")
    usage.wait_for()
    page.click("button[aria-pressed=false]:text-is('team')")
    page.locator("tr.usage-row", has_text="data").wait_for()
    page.click("button[aria-pressed=false]:text-is('tag')")
    page.locator("tr.usage-row", has_text="smoke").wait_for()
    page.click("button[aria-pressed=false]:text-is('key')")
    page.locator("tr.usage-row", has_text="batch-jobs").wait_for()
    page.wait_for_load_state("networkidle")
    assert page.locator('.state[data-state="error"]').count() == 0
    screenshot(page, "keys")

    # revoke: one click arms, the second revokes; the gateway refuses the key at once
    row.get_by_role("button", name=f"Revoke {record.key_id}").click()
    row.get_by_role("button", name=f"Revoke {record.key_id}").click()
    page.locator("tr.key-row", has_text="e2e-key").locator("text=revoked").wait_for()
    with pytest.raises(openai.AuthenticationError):
        _traffic(gw, key, 1)
    assert not page.errors, page.errors
