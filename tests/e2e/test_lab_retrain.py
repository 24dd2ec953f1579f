"""The Lab page retrains a router on this deployment's own graded benchmark cases: an empty store
is a clear error; with stored results the router is trained, evaluated on held-out cases and kept
because it does no harm, and the page lists it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.gateway.conftest import FAST, SLOW, inventory
from tests.integration.gateway.harness import ADMIN_TOKEN, Gateway
from tests.integration.learned.test_train_from_store import _store_runs

from .conftest import screenshot
from .test_seed_workflow import sign_in


@pytest.fixture
def lab_gateway(tmp_path: Path) -> Iterator[Gateway]:
    a = ScriptedUpstream.start_in_thread({"models": {"model-a": FAST, "model-c": SLOW}})
    b = ScriptedUpstream.start_in_thread({"models": {"model-b": SLOW}})
    try:
        url = f"sqlite:///{tmp_path / 'data' / 'rolecall.db'}"
        with Gateway(inventory(a, b), url, tmp_path) as gw:
            yield gw
    finally:
        a.stop()
        b.stop()


def test_retrain_on_stored_results_from_the_lab_page(page: Any, lab_gateway: Gateway) -> None:
    gw = lab_gateway
    auth = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    status, body = gw.raw("/api/lab/retrain", b"{}", auth)
    assert status == 400, body
    assert "rolecall bench run" in body["error"]["message"]
    status, body = gw.raw("/api/lab/retrain", b'{"router": "nope-router"}', auth)
    assert status == 400, body

    _store_runs(gw.services.storage)
    sign_in(page, gw)
    page.goto(f"http://127.0.0.1:{gw.port}/#/lab")
    page.select_option("#retrain-router", "knn")
    page.click("#retrain button[type=submit]")
    result = page.locator(".retrain-result[data-deployed=true]")
    result.wait_for(timeout=120_000)
    assert "kept:" in result.inner_text()
    assert list((gw.settings.data_dir / "lab").glob("router-*.npz"))
    screenshot(page, "lab-retrain")
    assert not page.errors, page.errors
