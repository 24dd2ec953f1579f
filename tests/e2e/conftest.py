"""End-to-end plumbing: Debian's headless Chromium driving a real gateway on loopback.

Endpoints are scripted upstreams (real HTTP servers) so a quick benchmark finishes in seconds. The
tests are skipped, with the reason, only when ``/usr/bin/chromium`` is missing outside CI; under
CI a missing browser is a failure. Set ``ROLECALL_SCREENSHOT_DIR`` to keep a screenshot of every
page (``docs/screenshots`` is refreshed that way).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.gateway.harness import Gateway, openai_provider

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# the local model answers quickly but is often wrong; the remote one is slower, priced, and right
# more often (its answers echo the reference-style replies the graders look for)
LOCAL = {"answer": "I am not sure.", "latency_ms": 3}
REMOTE = {"answer": "4", "latency_ms": 25}


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# module scope, not session: Playwright's sync API keeps an asyncio loop running on the main
# thread while it is open, and later suites call asyncio.run()
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if _in_ci():
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing: install it with 'apt-get install -y chromium'")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def seed_inventory(local: Any, remote: Any) -> dict[str, Any]:
    return {
        "providers": {
            "home": openai_provider(local.base_url, local=True),
            "cloud": openai_provider(remote.base_url, local=False),
        },
        "endpoints": [
            {"provider": "home", "model": "smollm", "id": "local-smollm", "tools": True},
            {
                "provider": "cloud",
                "model": "frontier",
                "id": "cloud-frontier",
                "tools": True,
                "price": {"input_per_1m": 3.0, "output_per_1m": 15.0},
            },
        ],
        "routing": {"strategy": "balanced"},
    }


@pytest.fixture
def seed_gateway(tmp_path: Path) -> Iterator[Gateway]:
    local = ScriptedUpstream.start_in_thread({"models": {"smollm": LOCAL}})
    remote = ScriptedUpstream.start_in_thread({"models": {"frontier": REMOTE}})
    try:
        url = f"sqlite:///{tmp_path / 'data' / 'rolecall.db'}"
        with Gateway(seed_inventory(local, remote), url, tmp_path) as gw:
            yield gw
    finally:
        local.stop()
        remote.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=WIDE, color_scheme="dark")
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    opened.on(
        "console",
        lambda msg: (
            errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
        ),
    )
    opened.errors = errors
    yield opened
    context.close()


NARROW = {"width": 390, "height": 844}  # a phone
WIDE = {"width": 1440, "height": 900}
# what sticks out: the page scrolls sideways, or a chart's text leaves its chart
_OVERFLOW = """() => {
  const doc = document.documentElement;
  const out = [];
  if (doc.scrollWidth > doc.clientWidth) {
    const wide = [...document.querySelectorAll("body *")]
      .filter((el) => el.getBoundingClientRect().right > doc.clientWidth + 0.5)
      .slice(0, 5).map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
    out.push(`page ${doc.scrollWidth} px wide in ${doc.clientWidth}: ${wide.join(", ")}`);
  }
  for (const svg of document.querySelectorAll("svg.chart")) {
    const box = svg.getBoundingClientRect();
    for (const text of svg.querySelectorAll("text")) {
      const r = text.getBoundingClientRect();
      const cut = r.left < box.left - 0.5 || r.right > box.right + 0.5;
      if (cut) out.push(`chart text cut: ${text.textContent}`);
    }
  }
  return out;
}"""


def overflow(page: Any) -> list[str]:
    """What does not fit the viewport: sideways scrolling, chart labels cut off."""
    found: list[str] = page.evaluate(_OVERFLOW)
    return found


def at_narrow_width(page: Any, name: str) -> None:
    """Show the page at 390 px: nothing may scroll sideways or be cut off; keep a
    ``{name}-390`` screenshot. Back to 1440 px after."""
    page.set_viewport_size(NARROW)
    try:
        page.wait_for_function("document.documentElement.clientWidth <= 390")
        page.wait_for_timeout(200)  # charts redraw at their new width
        assert overflow(page) == [], name
        screenshot(page, f"{name}-390")
    finally:
        page.set_viewport_size(WIDE)
        page.wait_for_timeout(100)
    assert overflow(page) == [], name


def screenshot(page: Any, name: str) -> None:
    """Keep a full-page screenshot when ``ROLECALL_SCREENSHOT_DIR`` is set."""
    folder = os.environ.get("ROLECALL_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0); document.querySelector('.toasts')?.remove()")
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
