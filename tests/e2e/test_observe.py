"""Observe in a real browser over real traffic of every outcome: the counts shown for refused,
decision-only, fallback and failed requests (the same in every window), filters and page kept in
the URL across a reload, request-id search, the live tail, what a refused request's pages say,
and every page at 390 px."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.console.traffic import Sent, chat, outcomes_inventory, send_each_outcome
from tests.integration.console.traffic import upstreams as scripted_upstreams
from tests.integration.gateway.harness import Gateway

from .conftest import overflow
from .test_pages import _lab_results
from .test_seed_workflow import sign_in


@pytest.fixture
def observed(tmp_path: Path) -> Iterator[tuple[Gateway, Sent]]:
    url = f"sqlite:///{tmp_path / 'data' / 'rolecall.db'}"
    with (
        scripted_upstreams() as (local, remote),
        Gateway(outcomes_inventory(local, remote), url, tmp_path) as gw,
    ):
        yield gw, send_each_outcome(gw)


def goto(page: Any, gw: Gateway, hash_: str) -> None:
    page.goto(f"http://127.0.0.1:{gw.port}/{hash_}")


def shown(page: Any, selector: str) -> str:
    page.wait_for_selector(selector)
    return str(page.locator(selector).inner_text())


def test_the_counts_of_each_outcome_in_every_window(
    page: Any, observed: tuple[Gateway, Sent]
) -> None:
    gw, sent = observed
    sign_in(page, gw)
    expected = {
        "#total-requests": sent.count("served", "fallback", "failed", "no_eligible", "budget"),
        "#total-refused": sent.count("no_eligible", "budget"),
        "#total-failed": sent.count("failed"),
        "#total-decisions": sent.count("decision_only"),
        # the local model failed both: one was served on the remote, one failed there too
        "#total-fallbacks": 2,
    }
    for window in ("1h", "24h", "7d"):
        goto(page, gw, f"#/observe?window={window}")
        page.wait_for_selector("#totals")
        assert {k: int(shown(page, k)) for k in expected} == expected, window
        assert page.locator("#charts svg.chart").count() >= 4
    goto(page, gw, "#/dashboard?window=1h")
    page.wait_for_selector("#totals")
    assert int(shown(page, "#total-refused")) == expected["#total-refused"]
    assert not page.errors, page.errors


def test_a_refused_request_says_refused_and_why(page: Any, observed: tuple[Gateway, Sent]) -> None:
    gw, sent = observed
    sign_in(page, gw)
    [budget] = sent.ids["budget"]
    goto(page, gw, f"#/router/decisions/{sent.decisions[budget]}")
    assert shown(page, "#decision-executed") == "none: refused"
    assert "a budget had no room" in shown(page, "#outcome-reason")
    assert "(fallback)" not in page.locator(".kv").first.inner_text()
    [decided] = sent.ids["decision_only"]
    goto(page, gw, f"#/observe/requests/{decided}")
    assert shown(page, "#request-endpoint") == "none: decision only"
    assert page.locator("#outcome[data-outcome=decision_only]").count() == 1
    [fallback] = sent.ids["fallback"]
    goto(page, gw, f"#/observe/requests/{fallback}")
    assert shown(page, "#request-endpoint") == "cloud-large"
    assert page.locator("#outcome .badge", has_text="served").count() == 1
    assert page.locator("#request-endpoint-fallback .badge").inner_text() == "fallback"
    assert not page.errors, page.errors


def test_filters_window_and_page_survive_a_reload(
    page: Any, observed: tuple[Gateway, Sent]
) -> None:
    gw, sent = observed
    client = gw.client()
    for _ in range(50):  # more than one ledger page
        chat(client)
    sign_in(page, gw)
    goto(page, gw, "#/observe")
    page.wait_for_selector("#ledger tbody tr")
    page.select_option("#f-window", "1h")
    page.wait_for_selector("#ledger tbody tr")
    page.select_option("#f-outcome", "refused")
    page.wait_for_selector("#ledger-total >> text=2 in this slice")
    page.select_option("#f-group", "outcome")
    page.wait_for_selector("text=By outcome")
    assert page.url.endswith("#/observe?window=1h&outcome=refused&group_by=outcome")
    page.reload()
    page.wait_for_selector("#ledger tbody tr")
    assert page.locator("#f-window").input_value() == "1h"
    assert page.locator("#f-outcome").input_value() == "refused"
    assert page.locator("#f-group").input_value() == "outcome"
    refused = {*sent.ids["no_eligible"], *sent.ids["budget"]}
    links = page.locator("#ledger tbody a.mono").all_inner_texts()
    assert set(links) == refused
    # the page (offset) too
    page.select_option("#f-outcome", "")
    page.wait_for_selector("#ledger-older:not([disabled])")
    page.click("#ledger-older")
    page.wait_for_selector("#ledger-range >> text=/^51–/")
    assert "offset=50" in page.url
    page.reload()
    assert shown(page, "#ledger-range").startswith("51–")
    assert not page.errors, page.errors


def test_find_a_request_by_its_id(page: Any, observed: tuple[Gateway, Sent]) -> None:
    gw, sent = observed
    sign_in(page, gw)
    goto(page, gw, "#/observe")
    [failed] = sent.ids["failed"]
    page.fill("#request-search-id", f"  {failed} ")
    page.click("#request-search button[type=submit]")
    assert shown(page, "#request-id") == failed
    assert page.locator("#outcome[data-outcome=failed]").count() == 1
    # a decision id opens its decision
    goto(page, gw, "#/observe")
    page.fill("#request-search-id", sent.decisions[failed])
    page.click("#request-search button[type=submit]")
    page.wait_for_selector("#decision-executed")
    assert sent.decisions[failed] in page.url
    # an id nobody knows says so, and a stale link offers the search again
    goto(page, gw, "#/observe")
    page.fill("#request-search-id", "req-nobody-sent-this")
    page.click("#request-search button[type=submit]")
    assert "No request or decision with id req-nobody-sent-this" in shown(
        page, "#request-search-error:not(:empty)"
    )
    goto(page, gw, "#/observe/requests/req-gone")
    page.wait_for_selector("text=Request not found")
    assert page.locator("#request-search-id").input_value() == "req-gone"


def test_the_live_tail_shows_new_requests(page: Any, observed: tuple[Gateway, Sent]) -> None:
    gw, _ = observed
    sign_in(page, gw)
    goto(page, gw, "#/observe?window=1h")
    page.wait_for_selector("#ledger tbody tr")
    page.click("#live-toggle")
    page.wait_for_selector("#live-status[data-state=live]")
    assert "live=1" in page.url
    before = int(shown(page, "#ledger-total").split()[0])
    _, headers = chat(gw.client(), "default.decision-only")
    new_id = headers["x-rolecall-request-id"]
    page.wait_for_selector(f"#ledger tbody tr.fresh a:text-is('{new_id}')", timeout=10_000)
    assert page.locator("#ledger tbody tr").first.locator("a.mono").inner_text() == new_id
    assert int(shown(page, "#ledger-total").split()[0]) == before + 1
    page.click("#live-toggle")
    page.wait_for_selector("#live-toggle[aria-pressed=false]")
    assert "live=1" not in page.url
    assert not page.errors, page.errors


def test_every_page_fits_390_px(page: Any, observed: tuple[Gateway, Sent]) -> None:
    gw, sent = observed
    _lab_results(gw)
    sign_in(page, gw)
    page.set_viewport_size({"width": 390, "height": 844})
    [budget] = sent.ids["budget"]
    [fallback] = sent.ids["fallback"]
    pages = [
        ("#/dashboard", "#charts svg.chart"),
        ("#/models", "tr.endpoint-row"),
        ("#/models/benchmark", "#bench-start"),
        ("#/router", "#posture-strategy"),
        ("#/router/decisions", "tbody tr"),
        (f"#/router/decisions/{sent.decisions[budget]}", "#decision-executed"),
        ("#/observe?window=1h", "#charts svg.chart"),
        (f"#/observe/requests/{fallback}", ".wf-row"),
        ("#/observe/routing", "text=Router vs Observe"),
        ("#/lab", "text=Gap closed"),
        ("#/system", "#system-backend"),
    ]
    for hash_, ready in pages:
        goto(page, gw, hash_)
        page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        assert overflow(page) == [], hash_
    # the navigation is a menu at this width: closed, opened, and closed by choosing a page
    assert not page.locator("nav.sidebar").is_visible()
    page.click("#nav-toggle")
    page.locator("nav.sidebar >> text=Routing analytics").click()
    page.wait_for_selector("text=Router vs Observe")
    assert not page.locator("nav.sidebar").is_visible()
    assert not page.errors, page.errors


def test_feedback_shows_on_the_request_page(page: Any, observed: tuple[Gateway, Sent]) -> None:
    gw, sent = observed
    [served] = sent.ids["served"][:1]
    body = json.dumps({"request_id": served, "score": 0.25, "label": "too terse"}).encode()
    status, answer = gw.raw("/v1/feedback", body, {"authorization": f"Bearer {gw.api_key}"})
    assert status == 200, answer
    sign_in(page, gw)
    goto(page, gw, f"#/observe/requests/{served}")
    row = shown(page, "#request-feedback tbody tr")
    assert "0.25" in row
    assert "too terse" in row
    assert not page.errors, page.errors
