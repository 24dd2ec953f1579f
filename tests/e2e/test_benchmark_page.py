"""The Benchmark page in a real browser (issue #19, deliverable 6): a one-endpoint run leaves the
other cards and the pool-wide advice alone, "no judge" judges nothing, a judged run names its judge
and marks it self-judging when it was also a candidate, a history row opens the run's per-suite and
per-case detail, and a running benchmark shows elapsed time and an ETA and can be cancelled (those
runs answer every quick case: "every case" in the form). An adaptive run started from the form
shows, in its detail, the cases each endpoint used of the whole suite, its suite estimate with a
95% interval, per-bucket estimates and why it stopped; a newcomer's adaptive run names the stored
results it was compared with.

Screenshots (with ``ROLECALL_SCREENSHOT_DIR=docs/screenshots``): ``benchmark-one-endpoint``,
``benchmark-judged``, ``benchmark-run-detail`` (and at 390 px), ``benchmark-running``,
``benchmark-cancelled``, ``benchmark-adaptive`` (and at 390 px).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolecall.benchmark.adaptive_report import STOPS
from rolecall.benchmark.cases import builtin_suites
from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.benchmark.scripting import JUDGE_DEFAULT, WRONG, expert_rules, judge_rules
from tests.integration.gateway.harness import Gateway, openai_provider

from .conftest import at_narrow_width, screenshot
from .test_seed_workflow import sign_in

QUICK = [c for s in builtin_suites() for c in s.quick_cases]
FULL = [c for s in builtin_suites() for c in s.cases]
# the expert answers every case it can be scripted for (MBPP's have no reference: wrong for all)
KNOWN = [c for c in FULL if c.reference or c.grader == "tool_calls"]
POOL = ["ep-judge", "ep-expert", "ep-guesser", "ep-slow"]
RUN_MS = 60_000


@pytest.fixture
def bench_gateway(tmp_path: Path) -> Iterator[Gateway]:
    script = {
        "models": {
            "judge": {"answer": JUDGE_DEFAULT},
            "expert": {"answer": WRONG, "latency_ms": 20},
            "guesser": {"answer": WRONG, "latency_ms": 5},
            "slow": {"answer": WRONG, "latency_ms": 1500},
        },
        "rules": expert_rules("expert", KNOWN) + judge_rules("judge", KNOWN),
    }
    upstream = ScriptedUpstream.start_in_thread(script)
    endpoints = [
        {"provider": "p", "model": "judge", "id": "ep-judge"},
        {"provider": "p", "model": "expert", "id": "ep-expert", "tools": True},
        {"provider": "p", "model": "guesser", "id": "ep-guesser", "tools": False},
        {"provider": "p", "model": "slow", "id": "ep-slow"},
    ]
    inventory = {
        "providers": {"p": openai_provider(upstream.base_url, local=False)},
        "endpoints": endpoints,
    }
    try:
        with Gateway(inventory, f"sqlite:///{tmp_path / 'data' / 'rolecall.db'}", tmp_path) as gw:
            yield gw
    finally:
        upstream.stop()


def _start(page: Any, endpoints: list[str], judge: str, adaptive: str = "false") -> None:
    """Start a run from the form; ``adaptive`` is the "Cases" select's value: "" (auto),
    "true" (adaptive) or "false" (every case)."""
    for endpoint_id in POOL:
        page.set_checked(f"#bench-ep-{endpoint_id}", endpoint_id in endpoints)
    page.select_option("#bench-judge", judge)
    page.select_option("#bench-adaptive-mode", adaptive)
    page.click("#bench-start")


def _finish(page: Any) -> None:
    page.wait_for_selector("#bench-progress >> text=No run in progress", timeout=RUN_MS)


def _card(page: Any, endpoint_id: str) -> Any:
    return page.locator(f".bench-endpoint[data-endpoint={endpoint_id}]")


def test_benchmark_page_walk(page: Any, bench_gateway: Gateway) -> None:
    sign_in(page, bench_gateway)
    page.click("nav >> text=Benchmark")
    page.wait_for_selector("#bench-start")

    # two endpoints, graders only; then a run on the guesser alone
    _start(page, ["ep-expert", "ep-guesser"], "")
    page.wait_for_selector(".bench-endpoint .bench-score", timeout=RUN_MS)
    _finish(page)
    _start(page, ["ep-guesser"], "")
    page.wait_for_selector("#bench-history tbody tr:nth-child(2)", timeout=RUN_MS)
    _finish(page)
    assert _card(page, "ep-expert").locator(".bench-score").inner_text() == "1.000"  # kept
    assert "distinct cases" in _card(page, "ep-guesser").inner_text()
    assert "No benchmark evidence yet" in _card(page, "ep-slow").inner_text()
    reasons = page.locator("#bench-reasons").inner_text()
    assert "only one healthy endpoint" not in reasons
    assert page.locator("#bench-recommendation").inner_text() == "quality"
    assert "graders only" in page.locator("#bench-judge-facts").inner_text()
    screenshot(page, "benchmark-one-endpoint")

    # a judged run where the judge is also a candidate
    _start(page, ["ep-expert", "ep-judge"], "ep-judge")
    assert "judge its own answers" in page.locator("#bench-judge-overlap").inner_text()
    page.wait_for_selector("#bench-history tbody tr:nth-child(3)", timeout=RUN_MS)
    _finish(page)
    facts = page.locator("#bench-judge-facts")
    facts.locator("text=self-judging").wait_for()
    assert "Measured self-bias" in facts.inner_text()
    screenshot(page, "benchmark-judged")
    page.locator("#bench-history tbody tr").first.click()
    detail = page.locator("#bench-run-detail")
    detail.wait_for()
    assert detail.locator("tr.bench-case-graded").count() == 2 * len(QUICK)
    assert detail.locator("text=self").count() > 0
    screenshot(page, "benchmark-run-detail")
    at_narrow_width(page, "benchmark-run-detail")
    page.click("#bench-run-detail >> text=Close")

    # the guesser's run detail explains its skipped tool case
    page.locator("#bench-history tbody tr").nth(1).click()
    skipped = page.locator("#bench-run-detail tr.bench-case-skipped")
    skipped.wait_for()
    assert "declares no tool calling" in skipped.inner_text()
    page.click("#bench-run-detail >> text=Close")

    # a slow run: elapsed time and ETA while it runs, then cancel
    _start(page, ["ep-slow"], "")
    page.wait_for_selector("#bench-cancel", timeout=RUN_MS)
    page.wait_for_selector("#bench-eta >> text=/ETA \\d/", timeout=RUN_MS)
    assert "elapsed" in page.locator("#bench-eta").inner_text()
    screenshot(page, "benchmark-running")
    page.click("#bench-cancel")
    page.wait_for_selector("#bench-history tbody tr >> text=cancelled", timeout=RUN_MS)
    _finish(page)
    row = page.locator("#bench-history tbody tr").first
    assert "cancelled" in row.inner_text()
    row.click()
    page.locator("#bench-run-detail >> text=graded before the cancel are kept").wait_for()
    screenshot(page, "benchmark-cancelled")
    assert page.errors == []


def test_adaptive_run_detail(page: Any, bench_gateway: Gateway) -> None:
    sign_in(page, bench_gateway)
    page.click("nav >> text=Benchmark")
    page.wait_for_selector("#bench-start")
    page.select_option("#bench-adaptive-mode", "true")
    hint = page.locator("#bench-cases-hint").inner_text()
    assert f"up to {len(QUICK)} of {len(FULL)} cases per endpoint" in hint

    # an adaptive quick run of the expert and the guesser, graders only: the form sends true
    with page.expect_request("**/api/bench/runs") as sent:
        _start(page, ["ep-expert", "ep-guesser"], "", adaptive="true")
    assert sent.value.post_data_json["adaptive"] is True
    page.wait_for_selector("#bench-history tbody tr", timeout=RUN_MS)
    _finish(page)
    page.locator("#bench-history tbody tr").first.click()
    section = page.locator("#bench-adaptive")
    section.wait_for()
    assert page.locator("#bench-run-detail h3 >> text=Adaptive run").count() == 1
    assert page.locator("#bench-adaptive-anchors").count() == 0  # nothing measured before
    rows = section.locator("tr.bench-adaptive-endpoint")
    assert rows.count() == 2
    for row in (rows.nth(0), rows.nth(1)):
        text = row.inner_text()
        used = re.search(rf"(\d+) of {len(FULL)} \((\d+)% of the full suite\)", text)
        assert used, text
        assert 1 <= int(used[1]) <= len(QUICK), text  # the quick run's case budget
        assert int(used[2]) == round(100 * int(used[1]) / len(FULL)), text
        estimate = row.locator(".bench-adaptive-estimate").inner_text()
        low_mean_high = re.fullmatch(r"(\d\.\d{3}) \[(\d\.\d{3}), (\d\.\d{3})\]", estimate)
        assert low_mean_high, estimate
        mean, low, high = (float(v) for v in low_mean_high.groups())
        assert low <= mean <= high, estimate
        stop = row.locator(".bench-adaptive-stop").inner_text()
        assert stop in STOPS.values(), stop
    expert = section.locator("tr", has_text="ep-expert").locator(".bench-adaptive-estimate")
    guesser = section.locator("tr", has_text="ep-guesser").locator(".bench-adaptive-estimate")
    assert float(expert.inner_text().split()[0]) > float(guesser.inner_text().split()[0])
    for bucket in ("easy", "medium", "hard"):
        assert section.locator(f"th >> text={bucket}").count() == 1
    screenshot(page, "benchmark-adaptive")
    at_narrow_width(page, "benchmark-adaptive")
    page.click("#bench-run-detail >> text=Close")

    # a newcomer, adaptive by default (auto, quick): compared with the pool's stored results
    with page.expect_request("**/api/bench/runs") as sent:
        _start(page, ["ep-judge"], "", adaptive="")
    assert sent.value.post_data_json["adaptive"] is None
    page.wait_for_selector("#bench-history tbody tr:nth-child(2)", timeout=RUN_MS)
    _finish(page)
    page.locator("#bench-history tbody tr").first.click()
    anchors = page.locator("#bench-adaptive-anchors")
    anchors.wait_for()
    assert anchors.inner_text() == (
        "Compared with stored results of ep-expert, ep-guesser (not run again)."
    )
    newcomer = page.locator("#bench-adaptive tr.bench-adaptive-endpoint")
    assert newcomer.count() == 1
    assert f" of {len(FULL)} (" in newcomer.inner_text()
    assert page.errors == []
