"""Every console page renders real data without an error state or a script error, at 1440 px
and at 390 px (no sideways scrolling, no chart label cut off), and the operator's edits (role
bindings, cooldown clearing) reach the running runtime."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import openai
import pytest

from rolecall.learned.scaling import GROUPS
from tests.integration.gateway.harness import Gateway

from .conftest import at_narrow_width, screenshot
from .test_seed_workflow import sign_in

PAGES = [
    ("dashboard", "#/dashboard", ".stat .value"),
    ("models", "#/models", "tr.endpoint-row"),
    ("router-decisions", "#/router/decisions", "tbody tr"),
    ("observe-routing", "#/observe/routing", "text=Router vs Observe"),
    ("lab", "#/lab", "text=Gap closed"),
    ("system", "#/system", "#system-backend"),
]


def _traffic(gw: Gateway, n: int) -> None:
    """Routed requests, some pinned to the remote endpoint, and one nothing can serve."""
    client = gw.client()
    for i in range(n):
        client.chat.completions.create(
            model="cloud-frontier" if i % 3 == 0 else "default",
            messages=[{"role": "user", "content": f"question {i}"}],
        )
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="embedder", messages=[{"role": "user", "content": "x"}]
        )


def _lab_results(gw: Gateway) -> None:
    """Result files written by the lab's own writers (`rolecall.learned.lab`), from given rows."""
    from rolecall.learned.lab import save_evaluation, save_scale

    data_dir = Path(gw.settings.data_dir)
    row = {"router": "knn", "mu_o": 0.61, "v_b": 0.58, "oracle": 0.7, "best_single": 0.58}
    save_evaluation(data_dir, Path("seed-train"), Path("seed-test"), [row | {"e_p": 0.4}])
    rows = [
        {"m": m, "group": GROUPS[0], "router": router, "models": [f"m{i}" for i in range(m)]}
        | {"mu_o": 0.5 + 0.03 * m + bonus, "best_single": 0.5 + 0.02 * m, "oracle": 0.6 + 0.04 * m}
        for m in (2, 3, 4)
        for router, bonus in (("knn", 0.0), ("mlp", 0.01))
    ]
    save_scale(data_dir, rows)


def _loaded_width(image: Any, timeout_s: float = 10.0) -> int:
    """The image's natural width once it has loaded (0 if it never does)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        width = int(image.evaluate("(img) => (img.complete ? img.naturalWidth : 0)"))
        if width:
            return width
        time.sleep(0.1)
    return 0


def test_every_page_renders(page: Any, seed_gateway: Gateway) -> None:
    gw = seed_gateway
    _traffic(gw, 12)
    _lab_results(gw)
    sign_in(page, gw)
    for name, hash_, ready in PAGES:
        page.goto(f"http://127.0.0.1:{gw.port}/{hash_}")
        page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        assert page.locator('.state[data-state="error"]').count() == 0, name
        if name == "lab":
            assert page.locator("td", has_text="knn").count() >= 1
            plot = page.locator("img[alt='Pool-scaling plot']")
            assert _loaded_width(plot) > 0  # the PNG came through the admin-only plot route
        screenshot(page, name)
        at_narrow_width(page, name)
    page.goto(f"http://127.0.0.1:{gw.port}/#/dashboard")
    page.click("#theme")
    page.wait_for_selector("html[data-theme=light] .stat .value")
    screenshot(page, "dashboard-light")
    at_narrow_width(page, "dashboard-light")
    assert not page.errors, page.errors


def test_binding_edit_reaches_the_router(page: Any, seed_gateway: Gateway) -> None:
    gw = seed_gateway
    sign_in(page, gw)
    page.goto(f"http://127.0.0.1:{gw.port}/#/models")
    cell = page.locator('button[aria-label^="general.chat on cloud-frontier"]')
    cell.wait_for()
    assert cell.inner_text() == "auto"
    cell.click()  # auto → active
    page.locator('button[aria-label^="general.chat on cloud-frontier: active"]').click()
    page.wait_for_selector('button[aria-label^="general.chat on cloud-frontier: disabled"]')
    binding = [
        b
        for b in gw.services.routing.inventory.bindings
        if (b.role_id, b.endpoint_id) == ("general.chat", "cloud-frontier")
    ]
    assert [b.status for b in binding] == ["disabled"]
    # the role now routes only to the local endpoint, and the Router page says why
    reply = gw.client().chat.completions.create(
        model="general.chat", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.model == "smollm"
    page.goto(f"http://127.0.0.1:{gw.port}/#/router")
    row = page.locator("tr", has_text="general.chat").first
    row.wait_for()
    assert "cloud-frontier: ROLE_BINDING_INACTIVE" in row.inner_text() or "cloud-frontier:" in (
        row.inner_text()
    )
    assert not page.errors, page.errors
